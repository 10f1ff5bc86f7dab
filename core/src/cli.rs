//! What every rdfi binary shares on its command line: the bus, logging and tracing flags, and shutdown on
//! SIGINT or SIGTERM. Each flag can also be set through its `RDFI_*` environment variable.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::bus::{
    Bus, BusError,
    memory::MemoryBus,
    nats::{NatsAuth, NatsBus, NatsTarget},
};
use crate::telemetry::{LogFormat, TelemetryConfig};

#[derive(Clone, Debug, clap::Args)]
pub struct CommonArgs {
    /// NATS server URL (JetStream enabled); the in-process bus when absent.
    #[arg(long, env = "RDFI_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,
    #[command(flatten)]
    pub nats_auth: NatsAuth,
    /// Replicas of rdfi's event stream (RDFI) when it is created; default: the NATS cluster's size (at most
    /// 5). Give it when services may start before every NATS server is up.
    #[arg(long, env = "RDFI_STREAM_REPLICAS", value_name = "N")]
    pub stream_replicas: Option<usize>,
    /// Log format on stderr: plain or json. Verbosity through RUST_LOG (default info).
    #[arg(
        long,
        env = "RDFI_LOG_FORMAT",
        default_value = "plain",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
    /// OTLP/gRPC endpoint for traces (http://collector:4317); no export when absent.
    #[arg(long, env = "RDFI_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

impl CommonArgs {
    pub fn telemetry(&self, service_name: &str, default_filter: &'static str) -> TelemetryConfig {
        TelemetryConfig {
            service_name: service_name.to_owned(),
            log_format: self.log_format,
            otlp_endpoint: self.otlp_endpoint.clone(),
            default_filter,
        }
    }

    /// The NATS server these flags name, with its credentials.
    pub fn nats_target(&self) -> Option<NatsTarget> {
        self.nats.clone().map(|url| NatsTarget {
            url,
            auth: self.nats_auth.clone(),
        })
    }

    /// The bus these flags name.
    pub async fn bus(&self) -> Result<Arc<dyn Bus>, BusError> {
        Ok(match &self.nats {
            Some(url) => {
                Arc::new(NatsBus::connect_with(url, &self.nats_auth, self.stream_replicas).await?)
            }
            None => Arc::new(MemoryBus::new()),
        })
    }

    /// The NATS bus; services running on their own need one.
    pub async fn nats_bus(&self) -> Result<NatsBus, BusError> {
        match &self.nats {
            Some(url) => NatsBus::connect_with(url, &self.nats_auth, self.stream_replicas).await,
            None => Err(BusError::Connect {
                url: String::new(),
                reason: "--nats URL (or RDFI_NATS_URL) is required for a service on its own"
                    .to_owned(),
            }),
        }
    }
}

/// A token cancelled at the first SIGINT or SIGTERM. Later signals are logged and ignored: the reverts that
/// the first one started always run to their end.
pub fn shutdown_on_signals() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            wait_for_signal().await;
            if first {
                tracing::warn!("shutting down: reverting every active fault before exit");
                token.cancel();
                first = false;
            } else {
                tracing::warn!(
                    "already shutting down; active faults are being reverted and verified"
                );
            }
        }
    });
    shutdown
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
