//! The store: every event, kept once by id, and the projections the queries read (runs, faults,
//! observations, findings), updated in the same transaction as the event is inserted. Recording an event a
//! second time changes nothing.

use std::path::Path;
use std::str::FromStr;

use prost::Message as _;
use rdfi_proto::v1::{
    Event, ExpectationResult, ExposureProof, FaultPrevented, FaultRecord, FaultRejected,
    FaultState, Finding, GetRunResponse, Observation, ResourceRef, RunStatus, RunSummary, Verdict,
    event::Payload,
};
use rdfi_proto::{timestamp_from_millis, unix_millis};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, Row, Sqlite, SqlitePool, Transaction};

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
";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("knowledge database {location}: {source}")]
    Open {
        location: String,
        source: sqlx::Error,
    },
    #[error("knowledge database: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored {what} cannot be decoded: {reason}")]
    Corrupt { what: String, reason: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The knowledge store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let location = path.display().to_string();
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
        sqlx::raw_sql(SCHEMA)
            .execute(&mut connection)
            .await
            .map_err(open_error)?;
        add_missing_columns(&mut connection)
            .await
            .map_err(open_error)?;
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

    /// Runs, newest first.
    pub async fn list_runs(&self, limit: u32) -> Result<Vec<RunSummary>> {
        let rows = sqlx::query("SELECT * FROM runs ORDER BY started_ms DESC, run_id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_summary).collect()
    }

    /// A run with its faults and findings, or `None` when no such run is known.
    pub async fn get_run(&self, run_id: &str) -> Result<Option<GetRunResponse>> {
        let Some(row) = sqlx::query("SELECT * FROM runs WHERE run_id = ?")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let run = run_summary(&row)?;
        let mut faults = Vec::new();
        for row in sqlx::query("SELECT * FROM faults WHERE run_id = ? ORDER BY fault_id, planned_ms, fault_instance_id")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?
        {
            let mut fault = fault_record(&row)?;
            fault.observations = sqlx::query(
                "SELECT * FROM observations WHERE fault_instance_id = ? ORDER BY observed_ms, event_id",
            )
            .bind(&fault.fault_instance_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(observation)
            .collect();
            faults.push(fault);
        }
        let findings = self.list_findings(Some(run_id), u32::MAX).await?;
        Ok(Some(GetRunResponse {
            run: Some(run),
            faults,
            findings,
        }))
    }

    /// Findings, newest first, of one run or of all.
    pub async fn list_findings(&self, run_id: Option<&str>, limit: u32) -> Result<Vec<Finding>> {
        let rows = sqlx::query(
            "SELECT * FROM findings WHERE (?1 IS NULL OR run_id = ?1)
             ORDER BY created_ms DESC, finding_id LIMIT ?2",
        )
        .bind(run_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(finding).collect()
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
                "INSERT INTO faults (fault_instance_id, run_id, fault_id, resource, state, dry_run, planned_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fault_instance_id) DO NOTHING",
            )
            .bind(fault_id)
            .bind(&event.run_id)
            .bind(&planned.fault_id)
            .bind(encode_resource(planned.resource.as_ref()))
            .bind(FaultState::Planned.label())
            .bind(planned.dry_run)
            .bind(time_ms)
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
        }
        Payload::FindingCreated(finding) => {
            sqlx::query(
                "INSERT INTO findings (finding_id, run_id, fault_instance_id, fault_id, resource, title, severity,
                 remediation, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (finding_id) DO NOTHING",
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
            .execute(&mut **transaction)
            .await?;
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
        Payload::InventoryObserved(_) | Payload::SafetyAbort(_) => {}
    }
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
    })
}

#[cfg(test)]
mod tests;
