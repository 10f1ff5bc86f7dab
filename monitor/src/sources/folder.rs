//! A folder of scanner result files as a detection source: every `*.json` file in it (Prowler's
//! `-M json-ocsf` output, an OCSF array; any shape the webhook accepts; or JSON Lines of them) is read when it
//! appears and again whenever it changes. Each finding names its own source (OCSF `metadata.product.name`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use crate::shapes::{self, ShapeError, Signal};

/// A result file larger than this is skipped, with a warning.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A file as listed: its path, length and modification time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    pub path: PathBuf,
    pub len: u64,
    pub modified: SystemTime,
}

/// Which files were read, as they were then.
#[derive(Default)]
pub(crate) struct Cursor {
    read: HashMap<PathBuf, (u64, SystemTime)>,
}

impl Cursor {
    /// The listed files to read: new or changed since they were last read (a scanner still writing one is read
    /// again when it has finished). Files no longer listed are forgotten.
    pub fn changed(&mut self, listing: Vec<Listed>) -> Vec<Listed> {
        self.read
            .retain(|path, _| listing.iter().any(|listed| &listed.path == path));
        listing
            .into_iter()
            .filter(|listed| is_result_file(&listed.path))
            .filter(|listed| self.read.get(&listed.path) != Some(&(listed.len, listed.modified)))
            .collect()
    }

    /// Remembers that `listed` was read as it was listed (a file that could not be read is tried again).
    pub fn read(&mut self, listed: &Listed) {
        self.read
            .insert(listed.path.clone(), (listed.len, listed.modified));
    }
}

fn is_result_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "json")
}

/// The signals a result file holds: one JSON document, else one per non-empty line.
pub(crate) fn signals(content: &[u8]) -> Result<Vec<Signal>, ShapeError> {
    if let Ok(document) = serde_json::from_slice::<Value>(content) {
        return shapes::parse_any(&document);
    }
    let mut signals = Vec::new();
    for (index, line) in content
        .split(|byte| *byte == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
    {
        let document: Value = serde_json::from_slice(line).map_err(|error| {
            ShapeError::new(format!("line {}", index + 1), format!("not JSON: {error}"))
        })?;
        signals.extend(shapes::parse_any(&document).map_err(|error| {
            ShapeError::new(format!("line {}: {}", index + 1, error.field), error.reason)
        })?);
    }
    Ok(signals)
}

/// Lists the folder's files (not its subfolders).
pub(crate) async fn list(folder: &Path) -> std::io::Result<Vec<Listed>> {
    let mut entries = tokio::fs::read_dir(folder).await?;
    let mut listing = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let metadata = entry.metadata().await?;
        if metadata.is_file() {
            listing.push(Listed {
                path: entry.path(),
                len: metadata.len(),
                modified: metadata.modified()?,
            });
        }
    }
    Ok(listing)
}

/// The file's content, at most [`MAX_FILE_BYTES`] (a file that grew past it since it was listed is refused).
pub(crate) async fn content(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut content = Vec::new();
    tokio::fs::File::open(path)
        .await?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut content)
        .await?;
    if content.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn listed(path: &str, len: u64, at_secs: u64) -> Listed {
        Listed {
            path: PathBuf::from(path),
            len,
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(at_secs),
        }
    }

    #[test]
    fn files_are_read_when_new_or_changed_and_only_json() {
        let mut cursor = Cursor::default();
        let read = |cursor: &mut Cursor, listing: Vec<Listed>| {
            let changed = cursor.changed(listing);
            for listed in &changed {
                cursor.read(listed);
            }
            changed
        };
        let first = read(
            &mut cursor,
            vec![listed("a.json", 10, 1), listed("notes.txt", 3, 1)],
        );
        assert_eq!(first, vec![listed("a.json", 10, 1)]);
        assert!(read(&mut cursor, vec![listed("a.json", 10, 1)]).is_empty());
        assert_eq!(
            read(
                &mut cursor,
                vec![listed("a.json", 20, 2), listed("b.json", 5, 2)]
            ),
            vec![listed("a.json", 20, 2), listed("b.json", 5, 2)]
        );
        // A file removed and written again is new again.
        assert!(read(&mut cursor, vec![listed("b.json", 5, 2)]).is_empty());
        assert_eq!(
            read(
                &mut cursor,
                vec![listed("a.json", 20, 2), listed("b.json", 5, 2)]
            ),
            vec![listed("a.json", 20, 2)]
        );
        // A file that could not be read is offered again.
        let mut cursor = Cursor::default();
        assert_eq!(cursor.changed(vec![listed("c.json", 1, 1)]).len(), 1);
        assert_eq!(cursor.changed(vec![listed("c.json", 1, 1)]).len(), 1);
    }

    const PROWLER: &str = include_str!("../../tests/fixtures/prowler-ocsf.json");

    #[test]
    fn a_prowler_file_and_json_lines_yield_their_findings() {
        let whole = signals(PROWLER.as_bytes()).unwrap();
        assert!(!whole.is_empty());
        assert!(whole.iter().all(|signal| signal.format == "ocsf"));
        let documents: Vec<Value> = serde_json::from_str(PROWLER).unwrap();
        let lines: String = documents
            .iter()
            .map(|document| format!("{document}\n\n"))
            .collect();
        assert_eq!(signals(lines.as_bytes()).unwrap(), whole);
        let broken = signals(b"{\"resource\": \"b\", \"source\": \"x\"}\n{oops\n").unwrap_err();
        assert_eq!(broken.field, "line 2");
    }
}
