//! Serving and calling gRPC: every service's server starts the same way, with the standard health service
//! beside it, TLS when configured (`--tls-cert`, `--tls-key`, and `--tls-client-ca` for mTLS) and bearer
//! tokens when configured (`--auth-tokens FILE`); every client connects the same way (`--token`, `--tls-ca`).

pub mod auth;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::Either;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{
    Certificate, Channel, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig,
};

use auth::Tokens;

#[derive(Debug, thiserror::Error)]
#[error("gRPC server on {address}: {reason}")]
pub struct GrpcServeError {
    pub address: SocketAddr,
    pub reason: String,
}

/// A mistake in the TLS or token flags, or a file they name that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SecurityError(pub String);

/// How a server guards its port: TLS (with client certificates when a client CA is given) and tokens.
#[derive(Clone, Default)]
pub struct Security {
    tls: Option<ServerTlsConfig>,
    tokens: Option<Arc<Tokens>>,
}

impl Security {
    /// TLS with this certificate chain and key (PEM); clients must present a certificate signed by
    /// `client_ca` when one is given.
    pub fn with_tls(
        mut self,
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<Security, SecurityError> {
        crate::tls::use_ring();
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
        if let Some(client_ca) = client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(client_ca)?));
        }
        // Builds the acceptor now, so that a certificate or key that cannot be used is said at start.
        tonic::transport::Server::builder()
            .tls_config(config.clone())
            .map_err(|error| {
                SecurityError(format!(
                    "--tls-cert {} with --tls-key {}: {}",
                    cert.display(),
                    key.display(),
                    error_chain(&error)
                ))
            })?;
        self.tls = Some(config);
        Ok(self)
    }

    /// Every call but health checks needs one of these tokens.
    pub fn with_tokens(mut self, tokens: Tokens) -> Security {
        self.tokens = Some(Arc::new(tokens));
        self
    }

    /// What is missing for a server on `address` that anyone on the network could reach.
    fn exposure(&self, address: SocketAddr) -> Option<&'static str> {
        if address.ip().is_loopback() {
            return None;
        }
        match (self.tls.is_some(), self.tokens.is_some()) {
            (true, true) => None,
            (false, true) => {
                Some("without TLS: tokens travel in clear text (give --tls-cert and --tls-key)")
            }
            (true, false) => Some(
                "without --auth-tokens: anyone who reaches it can submit experiments and abort runs",
            ),
            (false, false) => Some(
                "without TLS or --auth-tokens: anyone who reaches it can submit experiments and abort runs",
            ),
        }
    }
}

/// Where a service serves gRPC, and how it guards the port.
#[derive(Clone)]
pub struct Listen {
    pub address: SocketAddr,
    pub security: Security,
}

impl Listen {
    /// `address` with neither TLS nor tokens (tests and loopback-only use).
    pub fn plain(address: SocketAddr) -> Listen {
        Listen {
            address,
            security: Security::default(),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, SecurityError> {
    std::fs::read(path)
        .map_err(|error| SecurityError(format!("cannot read {}: {error}", path.display())))
}

/// An error with its sources, which is where tonic and rustls say what is wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Serves `routes` plus `grpc.health.v1.Health` (reporting `service_name` as serving) on `address` until
/// `shutdown`.
pub async fn serve(
    listen: Listen,
    service_name: &str,
    routes: Routes,
    shutdown: CancellationToken,
) -> Result<(), GrpcServeError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(service_name, tonic_health::ServingStatus::Serving)
        .await;
    serve_with_health(listen, service_name, routes, health_service, shutdown).await
}

/// The service a health port reports on for readiness ([`GrpcServer::spawn_health`]); the process as a whole
/// (service "") is live as long as it answers.
pub const READY: &str = "ready";

async fn serve_with_health(
    listen: Listen,
    service_name: &str,
    routes: Routes,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    shutdown: CancellationToken,
) -> Result<(), GrpcServeError> {
    let Listen { address, security } = listen;
    let fail = |reason: String| GrpcServeError { address, reason };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| fail(error.to_string()))?;
    if let Some(missing) = security.exposure(address) {
        tracing::warn!(%address, service = service_name, "gRPC listening beyond loopback {missing}");
    }
    tracing::info!(
        %address,
        service = service_name,
        tls = security.tls.is_some(),
        tokens = security.tokens.is_some(),
        "gRPC listening"
    );
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = security.tls {
        server = server
            .tls_config(tls)
            .map_err(|error| fail(error_chain(&error)))?;
    }
    server
        .layer(AuthLayer(security.tokens))
        .add_routes(routes.add_service(health_service))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown.cancelled_owned(),
        )
        .await
        .map_err(|error| fail(error.to_string()))
}

/// What a health port says of readiness ([`READY`]).
#[derive(Clone)]
pub struct Readiness(tonic_health::server::HealthReporter);

impl Readiness {
    pub async fn set(&self, ready: bool) {
        let status = if ready {
            tonic_health::ServingStatus::Serving
        } else {
            tonic_health::ServingStatus::NotServing
        };
        self.0.set_service_status(READY, status).await;
    }
}

/// A gRPC server beside a service's consumer loop, when the service is configured to serve one.
pub struct GrpcServer(Option<JoinHandle<Result<(), GrpcServeError>>>);

impl GrpcServer {
    /// Starts serving `routes` on `address`, or nothing when `address` is `None`.
    pub fn spawn(
        listen: Option<Listen>,
        service_name: &'static str,
        routes: Routes,
        shutdown: CancellationToken,
    ) -> GrpcServer {
        GrpcServer(listen.map(|listen| tokio::spawn(serve(listen, service_name, routes, shutdown))))
    }

    /// A health port on `address` (in clear, without tokens), when given: live (service "") while it answers,
    /// and [`READY`] not serving until the returned reporter says so.
    pub async fn spawn_health(
        address: Option<SocketAddr>,
        shutdown: CancellationToken,
    ) -> (GrpcServer, Readiness) {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        reporter
            .set_service_status(READY, tonic_health::ServingStatus::NotServing)
            .await;
        let server = address.map(|address| {
            tokio::spawn(serve_with_health(
                Listen::plain(address),
                READY,
                Routes::default(),
                health_service,
                shutdown,
            ))
        });
        (GrpcServer(server), Readiness(reporter))
    }

    /// Cancels `shutdown` (the consumer loop has ended) and waits for the server to stop.
    pub async fn stop(self, shutdown: &CancellationToken) -> Result<(), GrpcServeError> {
        shutdown.cancel();
        match self.0 {
            Some(server) => server.await.unwrap_or_else(|error| {
                tracing::error!(%error, "gRPC server task failed");
                Ok(())
            }),
            None => Ok(()),
        }
    }
}

/// Checks each call's bearer token against the server's tokens, when it has any ([`auth::authorize`]).
#[derive(Clone)]
struct AuthLayer(Option<Arc<Tokens>>);

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = Authorized<S>;

    fn layer(&self, inner: S) -> Authorized<S> {
        Authorized {
            inner,
            tokens: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Authorized<S> {
    inner: S,
    tokens: Option<Arc<Tokens>>,
}

type HttpResponse = http::Response<tonic::body::Body>;

impl<S, B> tower_service::Service<http::Request<B>> for Authorized<S>
where
    S: tower_service::Service<http::Request<B>, Response = HttpResponse>,
{
    type Response = HttpResponse;
    type Error = S::Error;
    type Future = Either<S::Future, std::future::Ready<Result<HttpResponse, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Some(tokens) = &self.tokens {
            let header = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(http::HeaderValue::as_bytes);
            if let Err(denied) = auth::authorize(tokens, request.uri().path(), header) {
                let status = denied.status();
                tracing::warn!(
                    method = request.uri().path(),
                    code = ?status.code(),
                    reason = status.message(),
                    "refused a gRPC call"
                );
                return Either::Right(std::future::ready(Ok(status.into_http())));
            }
        }
        Either::Left(self.inner.call(request))
    }
}

/// How a client reaches rdfi's gRPC services: a bearer token, and TLS settings for `https://` URLs.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ClientArgs {
    /// The bearer token sent with every gRPC call (a server given --auth-tokens needs one).
    #[arg(long, env = "RDFI_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<crate::redact::Secret>,
    /// The CA certificate (PEM) that signed the servers' certificates, for https:// URLs; the system's roots
    /// when absent.
    #[arg(long, env = "RDFI_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// This side's certificate chain (PEM): a server's own with --tls-key; a client's for mTLS.
    #[arg(long, env = "RDFI_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "RDFI_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// A gRPC channel that adds the bearer token to every call.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer TOKEN` to each call, when there is a token.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

impl ClientArgs {
    /// Connects to `url` (`http://` or `https://`); the error says which URL and why.
    pub async fn connect(&self, url: &str) -> Result<Authed, SecurityError> {
        let bearer = match &self.token {
            Some(token) => Some(
                format!("Bearer {}", token.expose())
                    .parse()
                    .map_err(|_| SecurityError("--token: not a valid header value".to_owned()))?,
            ),
            None => None,
        };
        let shown = crate::redact::url(url);
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|error| SecurityError(format!("{shown}: not a gRPC URL: {error}")))?;
        let endpoint = if url.starts_with("https://") {
            crate::tls::use_ring();
            let mut tls = ClientTlsConfig::new();
            tls = match &self.tls_ca {
                Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca)?)),
                None => tls.with_native_roots(),
            };
            if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            endpoint
                .tls_config(tls)
                .map_err(|error| SecurityError(format!("{shown}: {}", error_chain(&error))))?
        } else if self.tls_ca.is_some() {
            return Err(SecurityError(format!(
                "--tls-ca is given but {shown} is not an https:// URL"
            )));
        } else {
            endpoint
        };
        let channel = endpoint.connect().await.map_err(|error| {
            SecurityError(format!("cannot reach {shown}: {}", error_chain(&error)))
        })?;
        Ok(InterceptedService::new(channel, Bearer(bearer)))
    }
}

/// How a server is guarded: `--tls-cert`/`--tls-key` (shared with its client side, where the same
/// certificate identifies it to other services under mTLS), `--tls-client-ca` and `--auth-tokens`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServerArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Require client certificates signed by this CA (PEM): mutual TLS. Needs --tls-cert and --tls-key.
    #[arg(
        long,
        env = "RDFI_TLS_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// Bearer tokens the servers accept, one `TOKEN ROLE` per line (roles: read, operate); every call but
    /// health checks then needs `authorization: Bearer TOKEN`.
    #[arg(long, env = "RDFI_AUTH_TOKENS", value_name = "FILE")]
    pub auth_tokens: Option<PathBuf>,
}

impl ServerArgs {
    /// The servers' guard these flags describe, with every file read and checked now.
    pub fn security(&self) -> Result<Security, SecurityError> {
        let mut security = Security::default();
        if let (Some(cert), Some(key)) = (&self.client.tls_cert, &self.client.tls_key) {
            security = security.with_tls(cert, key, self.tls_client_ca.as_deref())?;
        }
        if let Some(path) = &self.auth_tokens {
            let tokens = Tokens::load(path).map_err(|error| SecurityError(error.to_string()))?;
            security = security.with_tokens(tokens);
        }
        Ok(security)
    }
}
