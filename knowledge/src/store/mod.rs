//! The store: every event, kept once by id, and the projections the queries read (runs, faults,
//! observations, findings), updated in the same transaction as the event is inserted. Recording an event a
//! second time changes nothing.

use std::path::Path;
use std::str::FromStr;

use prost::Message as _;
use rdfi_core::efficacy::Posterior;
use rdfi_core::risk::{Criticality, DATA_CLASS_TAG};
use rdfi_proto::v1::{
    Asset, AssetFault, ControlKind, ControlScorecard, Event, ExpectationResult, ExposureProof,
    FaultPrevented, FaultRecord, FaultRejected, FaultState, Finding, GetAssetHistoryResponse,
    GetRunResponse, Observation, PairTrial, ResourceRef, Risk, RunStatus, RunSummary, Verdict,
    event::Payload,
};
use rdfi_proto::{timestamp_from_millis, unix_millis};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, Row, Sqlite, SqlitePool, Transaction};

use crate::scorecard::{self, JudgedFault, RecordedTrial, Trial};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    run_id TEXT NOT NULL,
    fault_instance_id TEXT NOT NULL,
    source TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, time_ms);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    provider TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    planned_faults INTEGER,
    completed_ms INTEGER,
    findings INTEGER NOT NULL DEFAULT 0,
    hypotheses_held INTEGER NOT NULL DEFAULT 1,
    notes TEXT NOT NULL DEFAULT '',
    tested INTEGER NOT NULL DEFAULT 0,
    aborted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS faults (
    fault_instance_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    fault_id TEXT NOT NULL,
    resource BLOB NOT NULL,
    state TEXT NOT NULL,
    injected_ms INTEGER,
    reverted_ms INTEGER,
    revert_verified INTEGER NOT NULL DEFAULT 0,
    verdict INTEGER NOT NULL DEFAULT 0,
    time_to_detect_ms INTEGER,
    time_to_correct_ms INTEGER,
    detected_by TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    dry_run INTEGER NOT NULL DEFAULT 0,
    planned_ms INTEGER NOT NULL,
    change TEXT NOT NULL DEFAULT '',
    changed_by_others INTEGER NOT NULL DEFAULT 0,
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
    observed_ms INTEGER NOT NULL
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
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_by_time ON findings (created_ms);
CREATE TABLE IF NOT EXISTS control_trials (
    fault_instance_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    control TEXT NOT NULL,
    run_id TEXT NOT NULL,
    fault_id TEXT NOT NULL,
    met INTEGER NOT NULL,
    latency_ms INTEGER,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (fault_instance_id, kind, control)
);
CREATE INDEX IF NOT EXISTS control_trials_by_control ON control_trials (control COLLATE NOCASE, fault_id);
CREATE TABLE IF NOT EXISTS assets (
    resource_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource BLOB NOT NULL,
    criticality TEXT NOT NULL,
    data_class TEXT NOT NULL,
    exposure TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    gone_ms INTEGER
);
CREATE INDEX IF NOT EXISTS assets_by_type ON assets (provider, resource_type, resource_id);
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

/// The knowledge store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed, 0600) the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let location = path.display().to_string();
        // SQLite gives its -wal and -shm files the database file's mode.
        rdfi_core::state::create_private_file(path).map_err(|source| StoreError::Create {
            location: location.clone(),
            source,
        })?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{location}"))
            .map_err(|source| StoreError::Open {
                location: location.clone(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let open_error = |source| StoreError::Open {
            location: location.clone(),
            source,
        };
        // The schema and its migrations on one connection of their own, before the pool's connections read it.
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .map_err(open_error)?;
        let scored: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'control_trials'",
        )
        .fetch_one(&mut connection)
        .await
        .map_err(open_error)?;
        sqlx::raw_sql(SCHEMA)
            .execute(&mut connection)
            .await
            .map_err(open_error)?;
        add_missing_columns(&mut connection)
            .await
            .map_err(open_error)?;
        sqlx::raw_sql(LATER_INDEXES)
            .execute(&mut connection)
            .await
            .map_err(open_error)?;
        backfill(&mut connection, scored == 0).await?;
        connection.close().await.map_err(open_error)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_error)?;
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
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
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
            "SELECT * FROM runs WHERE (?1 IS NULL OR started_ms < ?1 OR (started_ms = ?1 AND run_id < ?2))
             ORDER BY started_ms DESC, run_id DESC LIMIT ?3",
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
        let Some(row) = sqlx::query("SELECT * FROM runs WHERE run_id = ?")
            .bind(run_id)
            .fetch_optional(&mut *connection)
            .await?
        else {
            return Ok(None);
        };
        let run = run_summary(&row)?;
        let rows = sqlx::query(
            "SELECT * FROM faults WHERE run_id = ? ORDER BY fault_id, planned_ms, fault_instance_id",
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
            "SELECT * FROM findings WHERE (?1 IS NULL OR run_id = ?1)
             AND (?2 IS NULL OR severity = ?2 COLLATE NOCASE)
             AND (?3 IS NULL OR provider = ?3 COLLATE NOCASE)
             AND (?4 IS NULL OR resource_id = ?4 OR resource_name = ?4)
             AND (?5 IS NULL OR instr(char(10) || lower(controls) || char(10), char(10) || lower(trim(?5)) || char(10)) > 0)
             AND (?6 IS NULL OR fault_id = ?6)
             AND (?7 IS NULL OR created_ms >= ?7)
             AND (?8 IS NULL OR created_ms < ?8)
             AND (?9 IS NULL OR risk_score < ?9
                  OR (risk_score = ?9 AND (created_ms < ?10 OR (created_ms = ?10 AND finding_id > ?11))))
             ORDER BY risk_score DESC, created_ms DESC, finding_id LIMIT ?12",
        )
        .bind(filter.run_id.as_deref())
        .bind(filter.severity.as_deref())
        .bind(filter.provider.as_deref())
        .bind(filter.resource.as_deref())
        .bind(filter.control.as_deref())
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
            "SELECT * FROM assets WHERE (?1 IS NULL OR provider = ?1) AND (?2 IS NULL OR resource_type = ?2)
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
            "SELECT * FROM control_trials WHERE (?1 IS NULL OR control = trim(?1) COLLATE NOCASE)
             AND (?2 IS NULL OR fault_id = ?2) ORDER BY at_ms, run_id",
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
        let rows = sqlx::query(
            "SELECT f.run_id, f.fault_id, f.resource, f.verdict,
                    coalesce((SELECT max(t.at_ms) FROM control_trials t
                              WHERE t.fault_instance_id = f.fault_instance_id),
                             f.reverted_ms, f.injected_ms, f.planned_ms) AS judged_ms,
                    coalesce((SELECT group_concat(t.control, char(31)) FROM control_trials t
                              WHERE t.fault_instance_id = f.fault_instance_id AND t.met = 1), '') AS answered
             FROM faults f WHERE f.dry_run = 0 AND f.verdict IN (?1, ?2, ?3, ?4)
             ORDER BY judged_ms, f.planned_ms, f.fault_instance_id",
        )
        .bind(Verdict::Prevented as i32)
        .bind(Verdict::Detected as i32)
        .bind(Verdict::Corrected as i32)
        .bind(Verdict::Missed as i32)
        .fetch_all(&self.pool)
        .await?;
        let judged = rows
            .iter()
            .map(|row| {
                let answered: String = row.try_get("answered")?;
                Ok(JudgedFault {
                    run_id: row.try_get("run_id")?,
                    fault_id: row.try_get("fault_id")?,
                    resource: decode_resource(row)?,
                    verdict: Verdict::try_from(row.try_get::<i32, _>("verdict")?)
                        .unwrap_or(Verdict::Unspecified),
                    at_ms: row.try_get("judged_ms")?,
                    answered: answered
                        .split('\u{1f}')
                        .filter(|control| !control.is_empty())
                        .map(str::to_owned)
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(scorecard::pair_trials(&judged))
    }

    /// Every fault injected into one resource (by id or name), oldest first, with the findings about it;
    /// `None` when rdfi never planned a fault on it.
    pub async fn asset_history(&self, resource: &str) -> Result<Option<GetAssetHistoryResponse>> {
        let mut connection = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT * FROM faults WHERE resource_id = ?1 OR resource_name = ?1
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
    ("faults", "changed_by_others", "INTEGER NOT NULL DEFAULT 0"),
    ("faults", "expectations", "BLOB NOT NULL DEFAULT x''"),
    ("faults", "prevented_by", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "cut_short", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "denied_action", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "exposure", "BLOB NOT NULL DEFAULT x''"),
    ("runs", "tested", "INTEGER NOT NULL DEFAULT 0"),
    ("runs", "aborted", "INTEGER NOT NULL DEFAULT 0"),
    ("faults", "resource_id", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "resource_name", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "resource_id", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "resource_name", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "provider", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "risk", "BLOB NOT NULL DEFAULT x''"),
    ("findings", "risk_score", "REAL NOT NULL DEFAULT 0"),
    ("findings", "controls", "TEXT NOT NULL DEFAULT ''"),
    ("findings", "regression_of", "TEXT NOT NULL DEFAULT ''"),
];

async fn add_missing_columns(connection: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    for (table, column, definition) in LATER_COLUMNS {
        let present: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?")
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
    Ok(())
}

async fn project(
    transaction: &mut Transaction<'_, Sqlite>,
    event: &Event,
    payload: &Payload,
    time_ms: i64,
) -> Result<()> {
    let fault_id = event.fault_instance_id.as_str();
    let set_state = |state: FaultState| {
        sqlx::query("UPDATE faults SET state = ? WHERE fault_instance_id = ?")
            .bind(state.label())
            .bind(fault_id)
    };
    match payload {
        Payload::RunStarted(started) => {
            let experiment = started.experiment.clone().unwrap_or_default();
            sqlx::query(
                "INSERT INTO runs (run_id, experiment, provider, started_ms) VALUES (?, ?, ?, ?)
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
            sqlx::query("UPDATE runs SET planned_faults = ?, notes = ? WHERE run_id = ?")
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
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fault_instance_id) DO NOTHING",
            )
            .bind(fault_id)
            .bind(&event.run_id)
            .bind(&planned.fault_id)
            .bind(encode_resource(planned.resource.as_ref()))
            .bind(FaultState::Planned.label())
            .bind(planned.dry_run)
            .bind(time_ms)
            .bind(planned.resource.as_ref().map(|r| r.id.as_str()).unwrap_or_default())
            .bind(planned.resource.as_ref().map(|r| r.name.as_str()).unwrap_or_default())
            .execute(&mut **transaction)
            .await?;
        }
        Payload::FaultInjected(injected) => {
            sqlx::query(
                "UPDATE faults SET state = ?, injected_ms = ?, change = ? WHERE fault_instance_id = ?",
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
                "UPDATE faults SET state = ?, reason = ?, prevented_by = ?, denied_action = ?
                 WHERE fault_instance_id = ?",
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
            sqlx::query("UPDATE faults SET state = ?, reason = ? WHERE fault_instance_id = ?")
                .bind(FaultState::Rejected.label())
                .bind(reason)
                .bind(fault_id)
                .execute(&mut **transaction)
                .await?;
        }
        Payload::FaultReverted(reverted) => {
            sqlx::query(
                "UPDATE faults SET state = ?, reverted_ms = ?, revert_verified = ?, changed_by_others = ?,
                 cut_short = ? WHERE fault_instance_id = ?",
            )
            .bind(FaultState::Reverted.label())
            .bind(
                reverted
                    .reverted_at
                    .as_ref()
                    .map(unix_millis)
                    .unwrap_or(time_ms),
            )
            .bind(reverted.verified)
            .bind(reverted.changed_by_others)
            .bind(&reverted.cut_short)
            .bind(fault_id)
            .execute(&mut **transaction)
            .await?;
        }
        Payload::FaultExposureProved(proved) => {
            sqlx::query("UPDATE faults SET exposure = ? WHERE fault_instance_id = ?")
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
                "UPDATE faults SET verdict = ?, time_to_detect_ms = ?, time_to_correct_ms = ?, detected_by = ?,
                 expectations = ?, prevented_by = CASE WHEN ? = '' THEN prevented_by ELSE ? END,
                 reason = CASE WHEN ? = '' THEN reason ELSE ? END WHERE fault_instance_id = ?",
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
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (finding_id) DO NOTHING",
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
                "UPDATE runs SET completed_ms = ?, findings = ?, hypotheses_held = ?, tested = ?, aborted = ?
                 WHERE run_id = ?",
            )
            .bind(time_ms)
            .bind(i64::from(completed.findings))
            .bind(completed.hypotheses_held)
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
                    "UPDATE assets SET gone_ms = ?1 WHERE provider = ?2 AND resource_type = ?3
                     AND last_seen_ms < ?1 AND gone_ms IS NULL",
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

/// Keeps `resource` as an asset seen at `seen_ms`. What an older event says never replaces what a newer one
/// said, and an unknown reach ("", not read) keeps the reach read before.
async fn upsert_asset(
    transaction: &mut Transaction<'_, Sqlite>,
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
         first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?8, ?8)
         ON CONFLICT (resource_id) DO UPDATE SET
           first_seen_ms = min(assets.first_seen_ms, excluded.first_seen_ms),
           resource = iif(excluded.last_seen_ms >= assets.last_seen_ms, excluded.resource, assets.resource),
           criticality = iif(excluded.last_seen_ms >= assets.last_seen_ms, excluded.criticality, assets.criticality),
           data_class = iif(excluded.last_seen_ms >= assets.last_seen_ms, excluded.data_class, assets.data_class),
           exposure = iif(excluded.last_seen_ms >= assets.last_seen_ms AND excluded.exposure <> '',
                          excluded.exposure, assets.exposure),
           gone_ms = iif(excluded.last_seen_ms >= assets.last_seen_ms, NULL, assets.gone_ms),
           last_seen_ms = max(assets.last_seen_ms, excluded.last_seen_ms)",
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
    transaction: &mut Transaction<'_, Sqlite>,
    event: &Event,
    kind: &str,
    (source, title, severity): (&str, &str, &str),
    observed_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO observations (event_id, fault_instance_id, run_id, kind, source, title, severity, observed_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
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
    connection: &mut SqliteConnection,
    mut fault: FaultRecord,
) -> Result<FaultRecord> {
    fault.observations = sqlx::query(
        "SELECT * FROM observations WHERE fault_instance_id = ? ORDER BY observed_ms, event_id",
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
    connection: &mut SqliteConnection,
    fault_instance_id: &str,
    judged_ms: i64,
) -> Result<()> {
    let Some(row) = sqlx::query("SELECT * FROM faults WHERE fault_instance_id = ?")
        .bind(fault_instance_id)
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Ok(());
    };
    let run_id: String = row.try_get("run_id")?;
    let fault = with_observations(connection, fault_record(&row)?).await?;
    sqlx::query("DELETE FROM control_trials WHERE fault_instance_id = ?")
        .bind(fault_instance_id)
        .execute(&mut *connection)
        .await?;
    for trial in scorecard::trials(&fault) {
        sqlx::query(
            "INSERT INTO control_trials (fault_instance_id, kind, control, run_id, fault_id, met, latency_ms, at_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(fault_instance_id)
        .bind(trial.kind as i32)
        .bind(&trial.control)
        .bind(&run_id)
        .bind(&fault.fault_id)
        .bind(trial.met)
        .bind(trial.latency_ms.map(millis_i64))
        .bind(judged_ms)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Scores the findings about one fault (docs/risk.md) from the controls it tested and their efficacy now.
async fn score_findings(connection: &mut SqliteConnection, fault_instance_id: &str) -> Result<()> {
    let Some(row) = sqlx::query("SELECT * FROM faults WHERE fault_instance_id = ?")
        .bind(fault_instance_id)
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Ok(());
    };
    let fault = fault_record(&row)?;
    let tested = sqlx::query("SELECT * FROM control_trials WHERE fault_instance_id = ?")
        .bind(fault_instance_id)
        .fetch_all(&mut *connection)
        .await?;
    let mut controls = Vec::new();
    for row in &tested {
        let trial = recorded_trial(row)?;
        let (met, failed): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(met), 0), COALESCE(SUM(1 - met), 0) FROM control_trials
             WHERE control = ? COLLATE NOCASE AND kind = ? AND fault_id = ?",
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
        "UPDATE findings SET risk = ?, risk_score = ?, controls = ? WHERE fault_instance_id = ?",
    )
    .bind(risk.encode_to_vec())
    .bind(risk.score)
    .bind(missed_by.join("\n"))
    .bind(fault_instance_id)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

fn recorded_trial(row: &SqliteRow) -> Result<RecordedTrial> {
    Ok(RecordedTrial {
        run_id: row.try_get("run_id")?,
        fault_id: row.try_get("fault_id")?,
        at_ms: row.try_get("at_ms")?,
        trial: Trial {
            control: row.try_get("control")?,
            kind: ControlKind::try_from(row.try_get::<i32, _>("kind")?)
                .unwrap_or(ControlKind::Unspecified),
            met: row.try_get("met")?,
            latency_ms: optional_millis(row, "latency_ms")?.map(|ms| ms as u64),
        },
    })
}

/// Fills what a database made by an older rdfi lacks: the resource columns of faults and findings, and,
/// when the scorecards are new, every judged fault's trials and its findings' risk.
async fn backfill(connection: &mut SqliteConnection, score: bool) -> Result<()> {
    for table in ["faults", "findings"] {
        // Only this file's own constants are formatted into the statements.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT rowid, resource FROM {table} WHERE resource_id = ''"
        )))
        .fetch_all(&mut *connection)
        .await?;
        for row in rows {
            let resource = decode_resource(&row)?;
            let rowid: i64 = row.try_get("rowid")?;
            let provider = if table == "findings" {
                ", provider = ?"
            } else {
                ""
            };
            let mut update = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET resource_id = ?, resource_name = ?{provider} WHERE rowid = ?"
            )))
            .bind(resource.id.clone())
            .bind(resource.name.clone());
            if table == "findings" {
                update = update.bind(resource.provider.clone());
            }
            update.bind(rowid).execute(&mut *connection).await?;
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

fn decode_expectations(row: &SqliteRow) -> Result<Vec<ExpectationResult>> {
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
fn decode_exposure(row: &SqliteRow) -> Result<Option<ExposureProof>> {
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

fn decode_resource(row: &SqliteRow) -> Result<ResourceRef> {
    let bytes: Vec<u8> = row.try_get("resource")?;
    ResourceRef::decode(bytes.as_slice()).map_err(|error| StoreError::Corrupt {
        what: "resource".to_owned(),
        reason: error.to_string(),
    })
}

fn asset(row: &SqliteRow) -> Result<Asset> {
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

fn optional_millis(row: &SqliteRow, column: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

fn run_summary(row: &SqliteRow) -> Result<RunSummary> {
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
        hypotheses_held: row.try_get("hypotheses_held")?,
        notes: row
            .try_get::<String, _>("notes")?
            .lines()
            .map(str::to_owned)
            .collect(),
        tested: row.try_get::<i64, _>("tested")? as u32,
        aborted: row.try_get::<i64, _>("aborted")? as u32,
    })
}

fn fault_record(row: &SqliteRow) -> Result<FaultRecord> {
    let verdict: i32 = row.try_get("verdict")?;
    Ok(FaultRecord {
        fault_instance_id: row.try_get("fault_instance_id")?,
        fault_id: row.try_get("fault_id")?,
        resource: Some(decode_resource(row)?),
        state: FaultState::from_label(row.try_get("state")?)
            .unwrap_or(FaultState::Unspecified)
            .into(),
        changed_by_others: row.try_get("changed_by_others")?,
        injected_at: optional_millis(row, "injected_ms")?.map(timestamp_from_millis),
        reverted_at: optional_millis(row, "reverted_ms")?.map(timestamp_from_millis),
        revert_verified: row.try_get("revert_verified")?,
        verdict: Verdict::try_from(verdict).unwrap_or(Verdict::Unspecified) as i32,
        time_to_detect_ms: optional_millis(row, "time_to_detect_ms")?.map(|ms| ms as u64),
        time_to_correct_ms: optional_millis(row, "time_to_correct_ms")?.map(|ms| ms as u64),
        detected_by: row.try_get("detected_by")?,
        reason: row.try_get("reason")?,
        observations: Vec::new(),
        dry_run: row.try_get("dry_run")?,
        change: row.try_get("change")?,
        expectations: decode_expectations(row)?,
        prevented_by: row.try_get("prevented_by")?,
        cut_short: row.try_get("cut_short")?,
        denied_action: row.try_get("denied_action")?,
        exposure: decode_exposure(row)?,
    })
}

fn observation(row: &SqliteRow) -> Observation {
    Observation {
        event_id: row.get("event_id"),
        kind: row.get("kind"),
        source: row.get("source"),
        title: row.get("title"),
        severity: row.get("severity"),
        observed_at: Some(timestamp_from_millis(row.get("observed_ms"))),
    }
}

fn finding(row: &SqliteRow) -> Result<Finding> {
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
fn decode_risk(row: &SqliteRow) -> Result<Option<Risk>> {
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
