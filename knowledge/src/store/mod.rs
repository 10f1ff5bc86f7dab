//! The store: every event, kept once by id, and the projections the queries read (runs, faults,
//! observations, findings), updated in the same transaction as the event is inserted. Recording an event a
//! second time changes nothing.

use std::path::{Path, PathBuf};

use prost::Message as _;
use rdfi_core::efficacy::Posterior;
use rdfi_core::risk::{Criticality, DATA_CLASS_TAG};
use rdfi_proto::v1::{
    Asset, AssetFault, AuditEntry, ControlKind, ControlScorecard, Event, ExpectationResult,
    ExposureProof, FaultPrevented, FaultRecord, FaultRejected, FaultState, Finding,
    GetAssetHistoryResponse, GetRunResponse, Observation, PairTrial, ResourceRef, Risk, RunStatus,
    RunSummary, Verdict, event::Payload,
};
use rdfi_proto::{timestamp_from_millis, unix_millis};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor as _, Row, Transaction};

use crate::scorecard::{self, JudgedFault, RecordedTrial, Trial};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    run_id TEXT NOT NULL,
    fault_instance_id TEXT NOT NULL,
    source TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, time_ms);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    provider TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    planned_faults BIGINT,
    completed_ms BIGINT,
    findings BIGINT NOT NULL DEFAULT 0,
    hypotheses_held BIGINT NOT NULL DEFAULT 1,
    notes TEXT NOT NULL DEFAULT '',
    tested BIGINT NOT NULL DEFAULT 0,
    aborted BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS faults (
    fault_instance_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    fault_id TEXT NOT NULL,
    resource BLOB NOT NULL,
    state TEXT NOT NULL,
    injected_ms BIGINT,
    reverted_ms BIGINT,
    revert_verified BIGINT NOT NULL DEFAULT 0,
    verdict BIGINT NOT NULL DEFAULT 0,
    time_to_detect_ms BIGINT,
    time_to_correct_ms BIGINT,
    detected_by TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    dry_run BIGINT NOT NULL DEFAULT 0,
    planned_ms BIGINT NOT NULL,
    change TEXT NOT NULL DEFAULT '',
    changed_by_others BIGINT NOT NULL DEFAULT 0,
    expectations BLOB NOT NULL DEFAULT x'',
    prevented_by TEXT NOT NULL DEFAULT '',
    cut_short TEXT NOT NULL DEFAULT '',
    denied_action TEXT NOT NULL DEFAULT '',
    exposure BLOB NOT NULL DEFAULT x''
);
CREATE INDEX IF NOT EXISTS faults_by_run ON faults (run_id, planned_ms);
CREATE TABLE IF NOT EXISTS observations (
    event_id TEXT PRIMARY KEY,
    fault_instance_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    observed_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_by_fault ON observations (fault_instance_id, observed_ms);
CREATE TABLE IF NOT EXISTS findings (
    finding_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    fault_instance_id TEXT NOT NULL,
    fault_id TEXT NOT NULL,
    resource BLOB NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    remediation TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_by_time ON findings (created_ms);
CREATE TABLE IF NOT EXISTS control_trials (
    fault_instance_id TEXT NOT NULL,
    kind BIGINT NOT NULL,
    control TEXT NOT NULL,
    run_id TEXT NOT NULL,
    fault_id TEXT NOT NULL,
    met BIGINT NOT NULL,
    latency_ms BIGINT,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (fault_instance_id, kind, control)
);
CREATE INDEX IF NOT EXISTS control_trials_by_lower_control ON control_trials (lower(control), fault_id);
CREATE TABLE IF NOT EXISTS assets (
    resource_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource BLOB NOT NULL,
    criticality TEXT NOT NULL,
    data_class TEXT NOT NULL,
    exposure TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    gone_ms BIGINT
);
CREATE INDEX IF NOT EXISTS assets_by_type ON assets (provider, resource_type, resource_id);
CREATE TABLE IF NOT EXISTS audit (
    event_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    fault_instance_id TEXT NOT NULL,
    fault_id TEXT NOT NULL,
    resource BLOB NOT NULL,
    resource_id TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    state_before_sha256 TEXT NOT NULL,
    state_after_sha256 TEXT NOT NULL,
    already_restored BIGINT NOT NULL DEFAULT 0,
    changed_by_others BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_ms, event_id);
";

/// Indexes on columns a database made before may only have once [`LATER_COLUMNS`] added them.
const LATER_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS faults_by_resource ON faults (resource_id);
CREATE INDEX IF NOT EXISTS findings_by_risk ON findings (risk_score DESC, created_ms DESC, finding_id);
";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("knowledge database {location}: {source}")]
    Open {
        location: String,
        source: sqlx::Error,
    },
    #[error("knowledge database {location}: {source}")]
    Create {
        location: String,
        source: std::io::Error,
    },
    #[error("knowledge database: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored {what} cannot be decoded: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("page token {0:?} is not one this service gave out")]
    PageToken(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where the knowledge database is: a SQLite file, or a PostgreSQL database that several knowledge replicas
/// can share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (libpq's keywords in its query: `sslmode`, `options`...).
    Postgres(String),
}

impl Database {
    /// A `postgres://` or `postgresql://` URL is PostgreSQL; anything else is the path of a SQLite file.
    pub fn parse(location: &str) -> Database {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Database::Postgres(location.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(location))
        }
    }
}

/// The path, or the URL without its password.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => write!(f, "{}", rdfi_core::redact::url(url)),
        }
    }
}

/// The knowledge store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

/// Set on every SQLite connection: readers do not block the writer, and a writer waits for another.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;";

/// Held while a PostgreSQL database's schema is made or migrated, so that replicas starting together take turns.
const POSTGRES_MIGRATION_LOCK: i64 = 0x7264_6669_6b6e_6f77; // "rdfiknow"

impl Store {
    /// Opens (creating if needed, 0600) the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        Store::connect(&Database::Sqlite(path.to_owned())).await
    }

    /// Opens the database, making its schema or bringing it up to date.
    pub async fn connect(database: &Database) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let location = database.to_string();
        let open_error = |source| StoreError::Open {
            location: location.clone(),
            source,
        };
        let pool = match database {
            Database::Sqlite(path) => {
                // SQLite gives its -wal and -shm files the database file's mode.
                rdfi_core::state::create_private_file(path).map_err(|source| {
                    StoreError::Create {
                        location: location.clone(),
                        source,
                    }
                })?;
                let url = sqlite_url(path);
                // The schema and its migrations on one connection of their own, before the pool's read it.
                let mut connection = AnyConnection::connect(&url).await.map_err(open_error)?;
                connection
                    .execute(SQLITE_PRAGMAS)
                    .await
                    .map_err(open_error)?;
                migrate_sqlite(&mut connection).await?;
                connection.close().await.map_err(open_error)?;
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(open_error)?
            }
            Database::Postgres(url) => {
                let mut connection = AnyConnection::connect(url).await.map_err(open_error)?;
                migrate_postgres(&mut connection)
                    .await
                    .map_err(open_error)?;
                connection.close().await.map_err(open_error)?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    .connect(url)
                    .await
                    .map_err(open_error)?
            }
        };
        Ok(Store { pool })
    }

    /// Records an event and updates the projections. Returns whether the event was new.
    pub async fn record(&self, event: &Event) -> Result<bool> {
        let Some(payload) = &event.payload else {
            return Ok(false);
        };
        let time_ms = event.time.as_ref().map(unix_millis).unwrap_or_default();
        let mut transaction = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO events (id, subject, run_id, fault_instance_id, source, time_ms, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&event.id)
        .bind(rdfi_core::subjects::for_payload(payload))
        .bind(&event.run_id)
        .bind(&event.fault_instance_id)
        .bind(&event.source)
        .bind(time_ms)
        .bind(event.encode_to_vec())
        .execute(&mut *transaction)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            project(&mut transaction, event, payload, time_ms).await?;
        }
        transaction.commit().await?;
        Ok(inserted)
    }

    /// Runs, newest first, a page at a time: up to `limit` after `after`, and where the next page starts.
    pub async fn list_runs(
        &self,
        limit: u32,
        after: Option<&RunCursor>,
    ) -> Result<(Vec<RunSummary>, Option<RunCursor>)> {
        let rows = sqlx::query(
            "SELECT * FROM runs WHERE ($1 IS NULL OR started_ms < $1 OR (started_ms = $1 AND run_id < $2))
             ORDER BY started_ms DESC, run_id DESC LIMIT $3",
        )
        .bind(after.map(|cursor| cursor.started_ms))
        .bind(after.map(|cursor| cursor.run_id.as_str()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut runs: Vec<RunSummary> = rows.iter().map(run_summary).collect::<Result<_>>()?;
        let next = page_end(&mut runs, limit).map(|last| RunCursor {
            started_ms: last
                .started_at
                .as_ref()
                .map(unix_millis)
                .unwrap_or_default(),
            run_id: last.run_id.clone(),
        });
        Ok((runs, next))
    }

    /// A run with its faults and findings, or `None` when no such run is known.
    pub async fn get_run(&self, run_id: &str) -> Result<Option<GetRunResponse>> {
        let mut connection = self.pool.acquire().await?;
        let Some(row) = sqlx::query("SELECT * FROM runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&mut *connection)
            .await?
        else {
            return Ok(None);
        };
        let run = run_summary(&row)?;
        let rows = sqlx::query(
            "SELECT * FROM faults WHERE run_id = $1 ORDER BY fault_id, planned_ms, fault_instance_id",
        )
        .bind(run_id)
        .fetch_all(&mut *connection)
        .await?;
        let mut faults = Vec::new();
        for row in rows {
            faults.push(with_observations(&mut connection, fault_record(&row)?).await?);
        }
        drop(connection);
        let findings = self
            .every_finding(FindingFilter {
                run_id: Some(run_id.to_owned()),
                ..FindingFilter::default()
            })
            .await?;
        Ok(Some(GetRunResponse {
            run: Some(run),
            faults,
            findings,
        }))
    }

    /// Findings matching `filter`, riskiest first (then newest), a page at a time: up to `limit` after
    /// `after`, and where the next page starts.
    pub async fn list_findings(
        &self,
        filter: &FindingFilter,
        limit: u32,
        after: Option<&FindingCursor>,
    ) -> Result<(Vec<Finding>, Option<FindingCursor>)> {
        let rows = sqlx::query(
            "SELECT * FROM findings WHERE ($1 IS NULL OR run_id = $1)
             AND ($2 IS NULL OR lower(severity) = lower($2))
             AND ($3 IS NULL OR lower(provider) = lower($3))
             AND ($4 IS NULL OR resource_id = $4 OR resource_name = $4)
             AND ($5 IS NULL OR ('\n' || lower(controls) || '\n') LIKE lower($5) ESCAPE '\\')
             AND ($6 IS NULL OR fault_id = $6)
             AND ($7 IS NULL OR created_ms >= $7)
             AND ($8 IS NULL OR created_ms < $8)
             AND ($9 IS NULL OR risk_score < $9
                  OR (risk_score = $9 AND (created_ms < $10 OR (created_ms = $10 AND finding_id > $11))))
             ORDER BY risk_score DESC, created_ms DESC, finding_id LIMIT $12",
        )
        .bind(filter.run_id.as_deref())
        .bind(filter.severity.as_deref())
        .bind(filter.provider.as_deref())
        .bind(filter.resource.as_deref())
        .bind(filter.control.as_deref().map(line_pattern))
        .bind(filter.fault_id.as_deref())
        .bind(filter.since_ms)
        .bind(filter.until_ms)
        .bind(after.map(|cursor| cursor.risk_score))
        .bind(after.map(|cursor| cursor.created_ms))
        .bind(after.map(|cursor| cursor.finding_id.as_str()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut findings: Vec<Finding> = rows.iter().map(finding).collect::<Result<_>>()?;
        let next = page_end(&mut findings, limit).map(|last| FindingCursor {
            risk_score: last.risk.as_ref().map_or(0.0, |risk| risk.score),
            created_ms: last
                .created_at
                .as_ref()
                .map(unix_millis)
                .unwrap_or_default(),
            finding_id: last.finding_id.clone(),
        });
        Ok((findings, next))
    }

    /// The assets knowledge keeps, of one provider or resource type when given, by provider, type, then id.
    pub async fn list_assets(
        &self,
        provider: Option<&str>,
        resource_type: Option<&str>,
    ) -> Result<Vec<Asset>> {
        sqlx::query(
            "SELECT * FROM assets WHERE ($1 IS NULL OR provider = $1) AND ($2 IS NULL OR resource_type = $2)
             ORDER BY provider, resource_type, resource_id",
        )
        .bind(provider)
        .bind(resource_type)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(asset)
        .collect()
    }

    /// Every finding matching `filter`, on one page.
    async fn every_finding(&self, filter: FindingFilter) -> Result<Vec<Finding>> {
        Ok(self.list_findings(&filter, u32::MAX - 1, None).await?.0)
    }

    /// The scorecards of every control (or of one, by name) against every fault kind (or one), the least
    /// effective first.
    pub async fn list_controls(
        &self,
        control: Option<&str>,
        fault_id: Option<&str>,
    ) -> Result<Vec<ControlScorecard>> {
        let rows = sqlx::query(
            "SELECT * FROM control_trials WHERE ($1 IS NULL OR lower(control) = lower(trim($1)))
             AND ($2 IS NULL OR fault_id = $2) ORDER BY at_ms, run_id",
        )
        .bind(control)
        .bind(fault_id)
        .fetch_all(&self.pool)
        .await?;
        let trials: Vec<RecordedTrial> = rows.iter().map(recorded_trial).collect::<Result<_>>()?;
        Ok(scorecard::scorecards(&trials))
    }

    /// Each (fault, resource) pair rdfi judged (dry runs aside), with its catches, misses and last trial.
    pub async fn pair_trials(&self) -> Result<Vec<PairTrial>> {
        // One row per control that answered (or one without when none did), a fault's rows together.
        let rows = sqlx::query(
            "SELECT f.fault_instance_id, f.run_id, f.fault_id, f.resource, f.verdict,
                    coalesce((SELECT max(j.at_ms) FROM control_trials j
                              WHERE j.fault_instance_id = f.fault_instance_id),
                             f.reverted_ms, f.injected_ms, f.planned_ms) AS judged_ms,
                    t.control AS answered
             FROM faults f LEFT JOIN control_trials t ON t.fault_instance_id = f.fault_instance_id AND t.met <> 0
             WHERE f.dry_run = 0 AND f.verdict IN ($1, $2, $3, $4)
             ORDER BY judged_ms, f.planned_ms, f.fault_instance_id, t.control",
        )
        .bind(Verdict::Prevented as i32)
        .bind(Verdict::Detected as i32)
        .bind(Verdict::Corrected as i32)
        .bind(Verdict::Missed as i32)
        .fetch_all(&self.pool)
        .await?;
        let mut judged: Vec<(String, JudgedFault)> = Vec::new();
        for row in &rows {
            let fault_instance_id: String = row.try_get("fault_instance_id")?;
            let answered: Option<String> = row.try_get("answered")?;
            if judged
                .last()
                .is_none_or(|(last, _)| *last != fault_instance_id)
            {
                let fault = JudgedFault {
                    run_id: row.try_get("run_id")?,
                    fault_id: row.try_get("fault_id")?,
                    resource: decode_resource(row)?,
                    verdict: Verdict::try_from(row.try_get::<i32, _>("verdict")?)
                        .unwrap_or(Verdict::Unspecified),
                    at_ms: row.try_get("judged_ms")?,
                    answered: Vec::new(),
                };
                judged.push((fault_instance_id, fault));
            }
            if let (Some((_, fault)), Some(control)) = (judged.last_mut(), answered) {
                fault.answered.push(control);
            }
        }
        let judged: Vec<JudgedFault> = judged.into_iter().map(|(_, fault)| fault).collect();
        Ok(scorecard::pair_trials(&judged))
    }

    /// The audit trail: the changes rdfi made (of one run, to one resource by id or name, when given), oldest
    /// first, at most `limit`.
    pub async fn audit(
        &self,
        run_id: Option<&str>,
        resource: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        sqlx::query(
            "SELECT * FROM audit WHERE ($1 IS NULL OR run_id = $1)
             AND ($2 IS NULL OR resource_id = $2 OR resource_name = $2)
             ORDER BY at_ms, event_id LIMIT $3",
        )
        .bind(run_id)
        .bind(resource)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(audit_entry)
        .collect()
    }

    /// Every fault injected into one resource (by id or name), oldest first, with the findings about it;
    /// `None` when rdfi never planned a fault on it.
    pub async fn asset_history(&self, resource: &str) -> Result<Option<GetAssetHistoryResponse>> {
        let mut connection = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT * FROM faults WHERE resource_id = $1 OR resource_name = $1
             ORDER BY planned_ms, fault_instance_id",
        )
        .bind(resource)
        .fetch_all(&mut *connection)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        let resource_ref = decode_resource(last)?;
        let mut faults = Vec::new();
        for row in &rows {
            let fault = with_observations(&mut connection, fault_record(row)?).await?;
            faults.push(AssetFault {
                run_id: row.try_get("run_id")?,
                fault: Some(fault),
            });
        }
        drop(connection);
        let findings = self
            .every_finding(FindingFilter {
                resource: Some(resource.to_owned()),
                ..FindingFilter::default()
            })
            .await?;
        Ok(Some(GetAssetHistoryResponse {
            resource: Some(resource_ref),
            faults,
            findings,
        }))
    }
}

/// What findings to list; each filter set must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FindingFilter {
    pub run_id: Option<String>,
    /// low | medium | high | critical, in any case.
    pub severity: Option<String>,
    pub provider: Option<String>,
    /// The resource's id or its name.
    pub resource: Option<String>,
    /// One of the controls that missed it, by name, in any case.
    pub control: Option<String>,
    pub fault_id: Option<String>,
    /// Created at or after (milliseconds since the Unix epoch).
    pub since_ms: Option<i64>,
    /// Created before.
    pub until_ms: Option<i64>,
}

/// Where a page of runs ended: the next starts after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCursor {
    pub started_ms: i64,
    pub run_id: String,
}

/// Where a page of findings ended: the next starts after it.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingCursor {
    pub risk_score: f64,
    pub created_ms: i64,
    pub finding_id: String,
}

/// Page tokens: opaque to clients, the cursor's fields in hex.
impl RunCursor {
    pub fn token(&self) -> String {
        hex(&format!("r\n{}\n{}", self.started_ms, self.run_id))
    }

    pub fn from_token(token: &str) -> Result<Self> {
        let text = unhex(token)?;
        match text.splitn(3, '\n').collect::<Vec<_>>().as_slice() {
            ["r", started, run_id] => Ok(RunCursor {
                started_ms: started.parse().map_err(|_| bad_token(token))?,
                run_id: (*run_id).to_owned(),
            }),
            _ => Err(bad_token(token)),
        }
    }
}

impl FindingCursor {
    pub fn token(&self) -> String {
        hex(&format!(
            "f\n{}\n{}\n{}",
            self.risk_score.to_bits(),
            self.created_ms,
            self.finding_id
        ))
    }

    pub fn from_token(token: &str) -> Result<Self> {
        let text = unhex(token)?;
        match text.splitn(4, '\n').collect::<Vec<_>>().as_slice() {
            ["f", score, created, finding_id] => Ok(FindingCursor {
                risk_score: f64::from_bits(score.parse().map_err(|_| bad_token(token))?),
                created_ms: created.parse().map_err(|_| bad_token(token))?,
                finding_id: (*finding_id).to_owned(),
            }),
            _ => Err(bad_token(token)),
        }
    }
}

/// A LIKE pattern for one line of a newline-joined list, matched in any case: `%`, `_` and `\\` are escaped.
fn line_pattern(line: &str) -> String {
    let mut pattern = String::from("%\n");
    for character in line.trim().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push_str("\n%");
    pattern
}

fn hex(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(token: &str) -> Result<String> {
    let bytes = token.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(bad_token(token));
    }
    let decoded: Option<Vec<u8>> = bytes
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect();
    decoded
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| bad_token(token))
}

fn bad_token(token: &str) -> StoreError {
    StoreError::PageToken(token.chars().take(64).collect())
}

/// Keeps the first `limit` of `items` (fetched one more than asked) and returns the last one kept when more
/// remain.
fn page_end<T>(items: &mut Vec<T>, limit: u32) -> Option<&T> {
    let limit = limit as usize;
    if items.len() > limit {
        items.truncate(limit);
        items.last()
    } else {
        None
    }
}

/// Columns added after the first release, with their definitions: databases made before gain them.
const LATER_COLUMNS: &[(&str, &str, &str)] = &[
    ("faults", "changed_by_others", "BIGINT NOT NULL DEFAULT 0"),
    ("faults", "expectations", "BLOB NOT NULL DEFAULT x''"),
    ("faults", "prevented_by", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "cut_short", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "denied_action", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "exposure", "BLOB NOT NULL DEFAULT x''"),
    ("runs", "tested", "BIGINT NOT NULL DEFAULT 0"),
    ("runs", "aborted", "BIGINT NOT NULL DEFAULT 0"),
    ("faults", "resource_id", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "resource_name", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "resource_id", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "resource_name", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "provider", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "risk", "BLOB NOT NULL DEFAULT x''"),
    (
        "findings",
        "risk_score",
        "DOUBLE PRECISION NOT NULL DEFAULT 0",
    ),
    ("findings", "controls", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "regression_of", "TEXT NOT NULL DEFAULT ''"),
];

/// Makes a SQLite database's schema, or brings one made by an older rdfi up to date.
async fn migrate_sqlite(connection: &mut AnyConnection) -> Result<()> {
    let scored: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'control_trials'",
    )
    .fetch_one(&mut *connection)
    .await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *connection).await?;
    for (table, column, definition) in LATER_COLUMNS {
        let present: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2")
                .bind(table)
                .bind(column)
                .fetch_one(&mut *connection)
                .await?;
        if present == 0 {
            // Only this file's own constants are formatted into the statement.
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} ADD COLUMN {column} {definition}"
            )))
            .execute(&mut *connection)
            .await?;
        }
    }
    // Replaced by control_trials_by_lower_control, which PostgreSQL can have too.
    sqlx::raw_sql("DROP INDEX IF EXISTS control_trials_by_control")
        .execute(&mut *connection)
        .await?;
    sqlx::raw_sql(LATER_INDEXES)
        .execute(&mut *connection)
        .await?;
    backfill(connection, scored == 0).await
}

/// Makes a PostgreSQL database's schema, or brings it up to date, one replica at a time. PostgreSQL came after
/// every later column and backfill: its databases never lack what they fill.
async fn migrate_postgres(connection: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(POSTGRES_MIGRATION_LOCK)
        .execute(&mut *connection)
        .await?;
    let mut statements = postgres_types(SCHEMA);
    for (table, column, definition) in LATER_COLUMNS {
        statements.push_str(&format!(
            "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {};\n",
            postgres_types(definition)
        ));
    }
    statements.push_str(LATER_INDEXES);
    // Only this file's own constants are formatted into the statements.
    let migrated = sqlx::raw_sql(sqlx::AssertSqlSafe(statements))
        .execute(&mut *connection)
        .await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(POSTGRES_MIGRATION_LOCK)
        .execute(&mut *connection)
        .await?;
    migrated.map(drop)
}

/// SQLite's schema in PostgreSQL's words: its blobs are `bytea`.
fn postgres_types(sql: &str) -> String {
    sql.replace(
        "BLOB NOT NULL DEFAULT x''",
        "BYTEA NOT NULL DEFAULT ''::bytea",
    )
    .replace("BLOB", "BYTEA")
}

/// The URL of a SQLite file, created if missing; `?`, `#`, `%` and spaces in its path are escaped.
fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(byte) {
            url.push(char::from(*byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    url
}

async fn project(
    transaction: &mut Transaction<'_, Any>,
    event: &Event,
    payload: &Payload,
    time_ms: i64,
) -> Result<()> {
    let fault_id = event.fault_instance_id.as_str();
    let set_state = |state: FaultState| {
        sqlx::query("UPDATE faults SET state = $1 WHERE fault_instance_id = $2")
            .bind(state.label())
            .bind(fault_id)
    };
    match payload {
        Payload::RunStarted(started) => {
            let experiment = started.experiment.clone().unwrap_or_default();
            sqlx::query(
                "INSERT INTO runs (run_id, experiment, provider, started_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (run_id) DO NOTHING",
            )
            .bind(&event.run_id)
            .bind(&experiment.name)
            .bind(&experiment.provider)
            .bind(time_ms)
            .execute(&mut **transaction)
            .await?;
        }
        Payload::RunPlanned(planned) => {
            sqlx::query("UPDATE runs SET planned_faults = $1, notes = $2 WHERE run_id = $3")
                .bind(i64::from(planned.planned_faults))
                .bind(planned.notes.join("\n"))
                .bind(&event.run_id)
                .execute(&mut **transaction)
                .await?;
        }
        Payload::FaultPlanned(planned) => {
            sqlx::query(
                "INSERT INTO faults (fault_instance_id, run_id, fault_id, resource, state, dry_run, planned_ms,
                 resource_id, resource_name)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (fault_instance_id) DO NOTHING",
            )
            .bind(fault_id)
            .bind(&event.run_id)
            .bind(&planned.fault_id)
            .bind(encode_resource(planned.resource.as_ref()))
            .bind(FaultState::Planned.label())
            .bind(i64::from(planned.dry_run))
            .bind(time_ms)
            .bind(planned.resource.as_ref().map(|r| r.id.as_str()).unwrap_or_default())
            .bind(planned.resource.as_ref().map(|r| r.name.as_str()).unwrap_or_default())
            .execute(&mut **transaction)
            .await?;
        }
        Payload::FaultInjected(injected) => {
            if !injected.dry_run {
                let at_ms = injected
                    .injected_at
                    .as_ref()
                    .map(unix_millis)
                    .unwrap_or(time_ms);
                let change = Change {
                    action: "inject",
                    actor: &injected.actor,
                    before: &injected.state_before_sha256,
                    after: &injected.state_after_sha256,
                    already_restored: false,
                    changed_by_others: false,
                };
                audit(
                    transaction,
                    event,
                    &injected.fault_id,
                    injected.resource.as_ref(),
                    at_ms,
                    change,
                )
                .await?;
            }
            sqlx::query(
                "UPDATE faults SET state = $1, injected_ms = $2, change = $3 WHERE fault_instance_id = $4",
            )
            .bind(FaultState::Injected.label())
            .bind(
                injected
                    .injected_at
                    .as_ref()
                    .map(unix_millis)
                    .unwrap_or(time_ms),
            )
            .bind(&injected.change)
            .bind(fault_id)
            .execute(&mut **transaction)
            .await?;
        }
        Payload::FaultPrevented(FaultPrevented {
            reason,
            control,
            denied_action,
            ..
        }) => {
            sqlx::query(
                "UPDATE faults SET state = $1, reason = $2, prevented_by = $3, denied_action = $4
                 WHERE fault_instance_id = $5",
            )
            .bind(FaultState::Prevented.label())
            .bind(reason)
            .bind(control)
            .bind(denied_action)
            .bind(fault_id)
            .execute(&mut **transaction)
            .await?;
        }
        Payload::FaultRejected(FaultRejected { reason, .. }) => {
            sqlx::query("UPDATE faults SET state = $1, reason = $2 WHERE fault_instance_id = $3")
                .bind(FaultState::Rejected.label())
                .bind(reason)
                .bind(fault_id)
                .execute(&mut **transaction)
                .await?;
        }
        Payload::FaultReverted(reverted) => {
            if !reverted.dry_run && !reverted.actor.is_empty() {
                let at_ms = reverted
                    .reverted_at
                    .as_ref()
                    .map(unix_millis)
                    .unwrap_or(time_ms);
                let change = Change {
                    action: "revert",
                    actor: &reverted.actor,
                    before: &reverted.state_before_sha256,
                    after: &reverted.state_after_sha256,
                    already_restored: reverted.already_restored,
                    changed_by_others: reverted.changed_by_others,
                };
                audit(
                    transaction,
                    event,
                    &reverted.fault_id,
                    reverted.resource.as_ref(),
                    at_ms,
                    change,
                )
                .await?;
            }
            sqlx::query(
                "UPDATE faults SET state = $1, reverted_ms = $2, revert_verified = $3, changed_by_others = $4,
                 cut_short = $5 WHERE fault_instance_id = $6",
            )
            .bind(FaultState::Reverted.label())
            .bind(
                reverted
                    .reverted_at
                    .as_ref()
                    .map(unix_millis)
                    .unwrap_or(time_ms),
            )
            .bind(i64::from(reverted.verified))
            .bind(i64::from(reverted.changed_by_others))
            .bind(&reverted.cut_short)
            .bind(fault_id)
            .execute(&mut **transaction)
            .await?;
        }
        Payload::FaultExposureProved(proved) => {
            sqlx::query("UPDATE faults SET exposure = $1 WHERE fault_instance_id = $2")
                .bind(
                    proved
                        .proof
                        .as_ref()
                        .map(prost::Message::encode_to_vec)
                        .unwrap_or_default(),
                )
                .bind(fault_id)
                .execute(&mut **transaction)
                .await?;
        }
        Payload::FaultRevertFailed(_) => {
            set_state(FaultState::RevertFailed)
                .execute(&mut **transaction)
                .await?;
        }
        Payload::SignalReceived(signal) => {
            insert_observation(
                transaction,
                event,
                "signal",
                (&signal.source, &signal.title, &signal.severity),
                // When the detector says it saw the problem, as the analyzer judges it.
                signal
                    .observed_at
                    .as_ref()
                    .or(signal.received_at.as_ref())
                    .map(unix_millis)
                    .unwrap_or(time_ms),
            )
            .await?;
        }
        Payload::StateRestored(restored) => {
            let partly = format!(
                "part of the misconfiguration was removed by another actor: {} of {} changes left",
                restored.remaining, restored.injected
            );
            let (kind, title) = if restored.partial {
                ("partially_restored", partly.as_str())
            } else {
                ("restored", "the secure state was restored by another actor")
            };
            insert_observation(
                transaction,
                event,
                kind,
                ("monitor", title, ""),
                restored
                    .observed_at
                    .as_ref()
                    .map(unix_millis)
                    .unwrap_or(time_ms),
            )
            .await?;
        }
        Payload::VerdictReached(verdict) => {
            sqlx::query(
                "UPDATE faults SET verdict = $1, time_to_detect_ms = $2, time_to_correct_ms = $3, detected_by = $4,
                 expectations = $5, prevented_by = CASE WHEN $6 = '' THEN prevented_by ELSE $7 END,
                 reason = CASE WHEN $8 = '' THEN reason ELSE $9 END WHERE fault_instance_id = $10",
            )
            .bind(verdict.verdict)
            .bind(verdict.time_to_detect_ms.map(millis_i64))
            .bind(verdict.time_to_correct_ms.map(millis_i64))
            .bind(&verdict.detected_by)
            .bind(encode_expectations(&verdict.expectations))
            .bind(&verdict.prevented_by)
            .bind(&verdict.prevented_by)
            .bind(&verdict.reason)
            .bind(&verdict.reason)
            .bind(fault_id)
            .execute(&mut **transaction)
            .await?;
            record_trials(transaction, fault_id, time_ms).await?;
            score_findings(transaction, fault_id).await?;
        }
        Payload::FindingCreated(finding) => {
            sqlx::query(
                "INSERT INTO findings (finding_id, run_id, fault_instance_id, fault_id, resource, title, severity,
                 remediation, created_ms, resource_id, resource_name, provider, regression_of)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (finding_id) DO NOTHING",
            )
            .bind(&finding.finding_id)
            .bind(&event.run_id)
            .bind(fault_id)
            .bind(&finding.fault_id)
            .bind(encode_resource(finding.resource.as_ref()))
            .bind(&finding.title)
            .bind(&finding.severity)
            .bind(&finding.remediation)
            .bind(time_ms)
            .bind(finding.resource.as_ref().map(|r| r.id.as_str()).unwrap_or_default())
            .bind(finding.resource.as_ref().map(|r| r.name.as_str()).unwrap_or_default())
            .bind(finding.resource.as_ref().map(|r| r.provider.as_str()).unwrap_or_default())
            .bind(if finding.regression {
                finding.regression_of.as_str()
            } else {
                ""
            })
            .execute(&mut **transaction)
            .await?;
            score_findings(transaction, fault_id).await?;
        }
        Payload::AnalysisCompleted(completed) => {
            sqlx::query(
                "UPDATE runs SET completed_ms = $1, findings = $2, hypotheses_held = $3, tested = $4, aborted = $5
                 WHERE run_id = $6",
            )
            .bind(time_ms)
            .bind(i64::from(completed.findings))
            .bind(i64::from(completed.hypotheses_held))
            .bind(i64::from(completed.tested))
            .bind(i64::from(completed.aborted))
            .bind(&event.run_id)
            .execute(&mut **transaction)
            .await?;
        }
        Payload::InventoryObserved(inventory) if inventory.error.is_empty() => {
            for resource in &inventory.resources {
                upsert_asset(transaction, resource, time_ms).await?;
            }
        }
        Payload::AssetsObserved(observed) => {
            for resource in &observed.resources {
                upsert_asset(transaction, resource, time_ms).await?;
            }
            for resource_type in &observed.resource_types {
                sqlx::query(
                    "UPDATE assets SET gone_ms = $1 WHERE provider = $2 AND resource_type = $3
                     AND last_seen_ms < $1 AND gone_ms IS NULL",
                )
                .bind(time_ms)
                .bind(&observed.provider)
                .bind(resource_type)
                .execute(&mut **transaction)
                .await?;
            }
        }
        Payload::InventoryObserved(_)
        | Payload::SafetyAbort(_)
        | Payload::AssetsRefreshRequested(_) => {}
    }
    Ok(())
}

/// A change to a cloud as its event tells it, for the audit trail.
struct Change<'a> {
    action: &'a str,
    actor: &'a str,
    before: &'a str,
    after: &'a str,
    already_restored: bool,
    changed_by_others: bool,
}

async fn audit(
    transaction: &mut Transaction<'_, Any>,
    event: &Event,
    fault_id: &str,
    resource: Option<&ResourceRef>,
    at_ms: i64,
    change: Change<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (event_id, run_id, fault_instance_id, fault_id, resource, resource_id, resource_name,
         action, actor, at_ms, state_before_sha256, state_after_sha256, already_restored, changed_by_others)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&event.run_id)
    .bind(&event.fault_instance_id)
    .bind(fault_id)
    .bind(encode_resource(resource))
    .bind(resource.map(|r| r.id.as_str()).unwrap_or_default())
    .bind(resource.map(|r| r.name.as_str()).unwrap_or_default())
    .bind(change.action)
    .bind(change.actor)
    .bind(at_ms)
    .bind(change.before)
    .bind(change.after)
    .bind(i64::from(change.already_restored))
    .bind(i64::from(change.changed_by_others))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

fn audit_entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        event_id: row.try_get("event_id")?,
        run_id: row.try_get("run_id")?,
        fault_instance_id: row.try_get("fault_instance_id")?,
        fault_id: row.try_get("fault_id")?,
        resource: Some(decode_resource(row)?),
        action: row.try_get("action")?,
        actor: row.try_get("actor")?,
        at: Some(timestamp_from_millis(row.try_get("at_ms")?)),
        state_before_sha256: row.try_get("state_before_sha256")?,
        state_after_sha256: row.try_get("state_after_sha256")?,
        already_restored: flag(row, "already_restored")?,
        changed_by_others: flag(row, "changed_by_others")?,
    })
}

/// Keeps `resource` as an asset seen at `seen_ms`. What an older event says never replaces what a newer one
/// said, and an unknown reach ("", not read) keeps the reach read before.
async fn upsert_asset(
    transaction: &mut Transaction<'_, Any>,
    resource: &ResourceRef,
    seen_ms: i64,
) -> Result<()> {
    let criticality = Criticality::of(&resource.tags);
    let data_class = resource
        .tags
        .get(DATA_CLASS_TAG)
        .map(|value| value.trim())
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO assets (resource_id, provider, resource_type, resource, criticality, data_class, exposure,
         first_seen_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (resource_id) DO UPDATE SET
           first_seen_ms = CASE WHEN excluded.first_seen_ms < assets.first_seen_ms
                                THEN excluded.first_seen_ms ELSE assets.first_seen_ms END,
           resource = CASE WHEN excluded.last_seen_ms >= assets.last_seen_ms
                           THEN excluded.resource ELSE assets.resource END,
           criticality = CASE WHEN excluded.last_seen_ms >= assets.last_seen_ms
                              THEN excluded.criticality ELSE assets.criticality END,
           data_class = CASE WHEN excluded.last_seen_ms >= assets.last_seen_ms
                             THEN excluded.data_class ELSE assets.data_class END,
           exposure = CASE WHEN excluded.last_seen_ms >= assets.last_seen_ms AND excluded.exposure <> ''
                           THEN excluded.exposure ELSE assets.exposure END,
           gone_ms = CASE WHEN excluded.last_seen_ms >= assets.last_seen_ms THEN NULL ELSE assets.gone_ms END,
           last_seen_ms = CASE WHEN excluded.last_seen_ms > assets.last_seen_ms
                               THEN excluded.last_seen_ms ELSE assets.last_seen_ms END",
    )
    .bind(&resource.id)
    .bind(&resource.provider)
    .bind(&resource.resource_type)
    .bind(resource.encode_to_vec())
    .bind(criticality.label())
    .bind(data_class)
    .bind(&resource.exposure)
    .bind(seen_ms)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn insert_observation(
    transaction: &mut Transaction<'_, Any>,
    event: &Event,
    kind: &str,
    (source, title, severity): (&str, &str, &str),
    observed_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO observations (event_id, fault_instance_id, run_id, kind, source, title, severity, observed_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&event.fault_instance_id)
    .bind(&event.run_id)
    .bind(kind)
    .bind(source)
    .bind(title)
    .bind(severity)
    .bind(observed_ms)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// A fault record with its observations, oldest first.
async fn with_observations(
    connection: &mut AnyConnection,
    mut fault: FaultRecord,
) -> Result<FaultRecord> {
    fault.observations = sqlx::query(
        "SELECT * FROM observations WHERE fault_instance_id = $1 ORDER BY observed_ms, event_id",
    )
    .bind(&fault.fault_instance_id)
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(observation)
    .collect();
    Ok(fault)
}

/// The controls a judged fault put to the test, stored for the scorecards (replacing any from before).
async fn record_trials(
    connection: &mut AnyConnection,
    fault_instance_id: &str,
    judged_ms: i64,
) -> Result<()> {
    let Some(row) = sqlx::query("SELECT * FROM faults WHERE fault_instance_id = $1")
        .bind(fault_instance_id)
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Ok(());
    };
    let run_id: String = row.try_get("run_id")?;
    let fault = with_observations(connection, fault_record(&row)?).await?;
    sqlx::query("DELETE FROM control_trials WHERE fault_instance_id = $1")
        .bind(fault_instance_id)
        .execute(&mut *connection)
        .await?;
    for trial in scorecard::trials(&fault) {
        sqlx::query(
            "INSERT INTO control_trials (fault_instance_id, kind, control, run_id, fault_id, met, latency_ms, at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(fault_instance_id)
        .bind(trial.kind as i32)
        .bind(&trial.control)
        .bind(&run_id)
        .bind(&fault.fault_id)
        .bind(i64::from(trial.met))
        .bind(trial.latency_ms.map(millis_i64))
        .bind(judged_ms)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Scores the findings about one fault (docs/risk.md) from the controls it tested and their efficacy now.
async fn score_findings(connection: &mut AnyConnection, fault_instance_id: &str) -> Result<()> {
    let Some(row) = sqlx::query("SELECT * FROM faults WHERE fault_instance_id = $1")
        .bind(fault_instance_id)
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Ok(());
    };
    let fault = fault_record(&row)?;
    let tested = sqlx::query("SELECT * FROM control_trials WHERE fault_instance_id = $1")
        .bind(fault_instance_id)
        .fetch_all(&mut *connection)
        .await?;
    let mut controls = Vec::new();
    for row in &tested {
        let trial = recorded_trial(row)?;
        let (met, failed): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(CASE WHEN met <> 0 THEN 1 END), COUNT(CASE WHEN met = 0 THEN 1 END) FROM control_trials
             WHERE lower(control) = lower($1) AND kind = $2 AND fault_id = $3",
        )
        .bind(&trial.trial.control)
        .bind(trial.trial.kind as i32)
        .bind(&trial.fault_id)
        .fetch_one(&mut *connection)
        .await?;
        let posterior = Posterior::new(
            u32::try_from(met).unwrap_or(u32::MAX),
            u32::try_from(failed).unwrap_or(u32::MAX),
        );
        controls.push((trial.trial, posterior));
    }
    let (risk, missed_by) = scorecard::risk_of(&fault, &controls);
    sqlx::query(
        "UPDATE findings SET risk = $1, risk_score = $2, controls = $3 WHERE fault_instance_id = $4",
    )
    .bind(risk.encode_to_vec())
    .bind(risk.score)
    .bind(missed_by.join("\n"))
    .bind(fault_instance_id)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

fn recorded_trial(row: &AnyRow) -> Result<RecordedTrial> {
    Ok(RecordedTrial {
        run_id: row.try_get("run_id")?,
        fault_id: row.try_get("fault_id")?,
        at_ms: row.try_get("at_ms")?,
        trial: Trial {
            control: row.try_get("control")?,
            kind: ControlKind::try_from(row.try_get::<i32, _>("kind")?)
                .unwrap_or(ControlKind::Unspecified),
            met: flag(row, "met")?,
            latency_ms: optional_millis(row, "latency_ms")?.map(|ms| ms as u64),
        },
    })
}

/// Fills what a database made by an older rdfi lacks: the resource columns of faults and findings, and,
/// when the scorecards are new, every judged fault's trials and its findings' risk.
async fn backfill(connection: &mut AnyConnection, score: bool) -> Result<()> {
    for (table, update) in [
        (
            "faults",
            "UPDATE faults SET resource_id = $1, resource_name = $2 WHERE rowid = $4",
        ),
        (
            "findings",
            "UPDATE findings SET resource_id = $1, resource_name = $2, provider = $3 WHERE rowid = $4",
        ),
    ] {
        // Only this file's own constants are formatted into the statement.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT rowid, resource FROM {table} WHERE resource_id = ''"
        )))
        .fetch_all(&mut *connection)
        .await?;
        for row in rows {
            let resource = decode_resource(&row)?;
            let rowid: i64 = row.try_get("rowid")?;
            sqlx::query(update)
                .bind(resource.id.clone())
                .bind(resource.name.clone())
                .bind(resource.provider.clone())
                .bind(rowid)
                .execute(&mut *connection)
                .await?;
        }
    }
    if score {
        let judged: Vec<(String, i64)> = sqlx::query_as(
            "SELECT fault_instance_id, COALESCE(reverted_ms, injected_ms, planned_ms) FROM faults
             WHERE verdict != 0 ORDER BY planned_ms",
        )
        .fetch_all(&mut *connection)
        .await?;
        for (fault_instance_id, judged_ms) in &judged {
            record_trials(connection, fault_instance_id, *judged_ms).await?;
        }
        for (fault_instance_id, _) in &judged {
            score_findings(connection, fault_instance_id).await?;
        }
    }
    Ok(())
}

fn millis_i64(millis: u64) -> i64 {
    i64::try_from(millis).unwrap_or(i64::MAX)
}

fn encode_resource(resource: Option<&ResourceRef>) -> Vec<u8> {
    resource
        .map(|resource| resource.encode_to_vec())
        .unwrap_or_default()
}

/// A fault's expectation results, one length-delimited message after another.
fn encode_expectations(expectations: &[ExpectationResult]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for expectation in expectations {
        expectation
            .encode_length_delimited(&mut bytes)
            .expect("a Vec grows as needed");
    }
    bytes
}

fn decode_expectations(row: &AnyRow) -> Result<Vec<ExpectationResult>> {
    let bytes: Vec<u8> = row.try_get("expectations")?;
    let mut rest = bytes.as_slice();
    let mut expectations = Vec::new();
    while !rest.is_empty() {
        let expectation =
            ExpectationResult::decode_length_delimited(&mut rest).map_err(|error| {
                StoreError::Corrupt {
                    what: "expectations".to_owned(),
                    reason: error.to_string(),
                }
            })?;
        expectations.push(expectation);
    }
    Ok(expectations)
}

/// The fault's exposure proof; `None` when it has none (the column is empty).
fn decode_exposure(row: &AnyRow) -> Result<Option<ExposureProof>> {
    let bytes: Vec<u8> = row.try_get("exposure")?;
    if bytes.is_empty() {
        return Ok(None);
    }
    ExposureProof::decode(bytes.as_slice())
        .map(Some)
        .map_err(|error| StoreError::Corrupt {
            what: "exposure".to_owned(),
            reason: error.to_string(),
        })
}

fn decode_resource(row: &AnyRow) -> Result<ResourceRef> {
    let bytes: Vec<u8> = row.try_get("resource")?;
    ResourceRef::decode(bytes.as_slice()).map_err(|error| StoreError::Corrupt {
        what: "resource".to_owned(),
        reason: error.to_string(),
    })
}

fn asset(row: &AnyRow) -> Result<Asset> {
    let mut resource = decode_resource(row)?;
    resource.exposure = row.try_get("exposure")?;
    Ok(Asset {
        resource: Some(resource),
        criticality: row.try_get("criticality")?,
        data_class: row.try_get("data_class")?,
        first_seen: Some(timestamp_from_millis(row.try_get("first_seen_ms")?)),
        last_seen: Some(timestamp_from_millis(row.try_get("last_seen_ms")?)),
        gone_since: optional_millis(row, "gone_ms")?.map(timestamp_from_millis),
    })
}

/// A flag, stored as 0 or 1 (an INTEGER in SQLite, a BIGINT in PostgreSQL).
fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn optional_millis(row: &AnyRow, column: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

fn run_summary(row: &AnyRow) -> Result<RunSummary> {
    let completed_ms = optional_millis(row, "completed_ms")?;
    Ok(RunSummary {
        run_id: row.try_get("run_id")?,
        experiment: row.try_get("experiment")?,
        provider: row.try_get("provider")?,
        status: if completed_ms.is_some() {
            RunStatus::Completed
        } else {
            RunStatus::Running
        } as i32,
        started_at: Some(timestamp_from_millis(row.try_get("started_ms")?)),
        completed_at: completed_ms.map(timestamp_from_millis),
        planned_faults: optional_millis(row, "planned_faults")?.map(|count| count as u32),
        findings: row.try_get::<i64, _>("findings")? as u32,
        hypotheses_held: flag(row, "hypotheses_held")?,
        notes: row
            .try_get::<String, _>("notes")?
            .lines()
            .map(str::to_owned)
            .collect(),
        tested: row.try_get::<i64, _>("tested")? as u32,
        aborted: row.try_get::<i64, _>("aborted")? as u32,
    })
}

fn fault_record(row: &AnyRow) -> Result<FaultRecord> {
    let verdict: i32 = row.try_get("verdict")?;
    Ok(FaultRecord {
        fault_instance_id: row.try_get("fault_instance_id")?,
        fault_id: row.try_get("fault_id")?,
        resource: Some(decode_resource(row)?),
        state: FaultState::from_label(row.try_get("state")?)
            .unwrap_or(FaultState::Unspecified)
            .into(),
        changed_by_others: flag(row, "changed_by_others")?,
        injected_at: optional_millis(row, "injected_ms")?.map(timestamp_from_millis),
        reverted_at: optional_millis(row, "reverted_ms")?.map(timestamp_from_millis),
        revert_verified: flag(row, "revert_verified")?,
        verdict: Verdict::try_from(verdict).unwrap_or(Verdict::Unspecified) as i32,
        time_to_detect_ms: optional_millis(row, "time_to_detect_ms")?.map(|ms| ms as u64),
        time_to_correct_ms: optional_millis(row, "time_to_correct_ms")?.map(|ms| ms as u64),
        detected_by: row.try_get("detected_by")?,
        reason: row.try_get("reason")?,
        observations: Vec::new(),
        dry_run: flag(row, "dry_run")?,
        change: row.try_get("change")?,
        expectations: decode_expectations(row)?,
        prevented_by: row.try_get("prevented_by")?,
        cut_short: row.try_get("cut_short")?,
        denied_action: row.try_get("denied_action")?,
        exposure: decode_exposure(row)?,
    })
}

fn observation(row: &AnyRow) -> Observation {
    Observation {
        event_id: row.get("event_id"),
        kind: row.get("kind"),
        source: row.get("source"),
        title: row.get("title"),
        severity: row.get("severity"),
        observed_at: Some(timestamp_from_millis(row.get("observed_ms"))),
    }
}

fn finding(row: &AnyRow) -> Result<Finding> {
    Ok(Finding {
        finding_id: row.try_get("finding_id")?,
        run_id: row.try_get("run_id")?,
        fault_instance_id: row.try_get("fault_instance_id")?,
        fault_id: row.try_get("fault_id")?,
        resource: Some(decode_resource(row)?),
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        remediation: row.try_get("remediation")?,
        created_at: Some(timestamp_from_millis(row.try_get("created_ms")?)),
        risk: decode_risk(row)?,
        controls: row
            .try_get::<String, _>("controls")?
            .lines()
            .map(str::to_owned)
            .collect(),
        regression_of: row.try_get("regression_of")?,
    })
}

/// The finding's risk; `None` until it was scored.
fn decode_risk(row: &AnyRow) -> Result<Option<Risk>> {
    let bytes: Vec<u8> = row.try_get("risk")?;
    if bytes.is_empty() {
        return Ok(None);
    }
    Risk::decode(bytes.as_slice())
        .map(Some)
        .map_err(|error| StoreError::Corrupt {
            what: "risk".to_owned(),
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests;
