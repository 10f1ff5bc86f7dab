//! The detection-signal webhook: `POST /v1/signals` with JSON `{"resource", "source", "title", "severity"}`.
//! Answers 202 with how many active faults the signal was correlated with, 400 for a bad body.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use rdfi_core::CancellationToken;
use rdfi_provider::DetectionSignal;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::{Monitor, MonitorError};

/// Binds the webhook (failing now if the address is taken) and serves it until `shutdown`.
pub(crate) async fn start(
    address: SocketAddr,
    monitor: Arc<Monitor>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, MonitorError> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| MonitorError::Webhook {
            address,
            reason: error.to_string(),
        })?;
    let bound = listener.local_addr().unwrap_or(address);
    tracing::info!(address = %bound, "signal webhook listening on POST /v1/signals");
    let app = Router::new()
        .route("/v1/signals", post(receive_signal))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(monitor);
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
        {
            tracing::error!(%error, "signal webhook stopped");
        }
    }))
}

async fn receive_signal(
    State(monitor): State<Arc<Monitor>>,
    body: Result<Json<DetectionSignal>, JsonRejection>,
) -> (StatusCode, Json<Value>) {
    let signal = match body {
        Ok(Json(signal)) => signal,
        Err(rejection) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": rejection.body_text() })),
            );
        }
    };
    for (field, value) in [("resource", &signal.resource), ("source", &signal.source)] {
        if value.trim().is_empty() {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("{field} must not be empty") })),
            );
        }
    }
    let correlated = monitor.ingest(signal).await;
    (
        StatusCode::ACCEPTED,
        Json(json!({ "correlated": correlated })),
    )
}
