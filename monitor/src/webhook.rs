//! The detection-signal webhook: `POST /v1/signals` with a body in any shape [`crate::shapes`] recognises.
//! Answers 202 with how many signals the body carried and how many active faults they were correlated with;
//! 400 for a body that is not a signal (naming the field), 401 when authentication is configured and the
//! request does not pass it, 413 for a body over [`MAX_BODY_BYTES`].
//!
//! Authentication (see docs/signals.md): `Authorization: Bearer <token>`, or per source
//! `X-Rdfi-Source: <source>` with `X-Rdfi-Signature: sha256=<hex HMAC-SHA256 of the body>`; a signed request's
//! signals carry the source its key belongs to. Beyond loopback the webhook refuses to start without either.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use rdfi_core::CancellationToken;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::task::JoinHandle;

use crate::{Monitor, MonitorError, shapes};

/// The largest body `POST /v1/signals` takes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The header naming the source whose key signed the body.
pub const SOURCE_HEADER: &str = "x-rdfi-source";
/// The header carrying `sha256=<hex>`, the HMAC-SHA256 of the body under the source's key.
pub const SIGNATURE_HEADER: &str = "x-rdfi-signature";

/// How `POST /v1/signals` authenticates its callers. Empty: anyone may post (loopback only).
#[derive(Clone, Default)]
pub struct SignalsAuth {
    /// `Authorization: Bearer <token>` admits a request.
    pub bearer_token: Option<String>,
    /// Source name and its HMAC key: a body signed with the key admits the request as that source.
    pub hmac_keys: Vec<(String, String)>,
}

impl std::fmt::Debug for SignalsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalsAuth")
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "hmac_sources",
                &self
                    .hmac_keys
                    .iter()
                    .map(|(source, _)| source)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SignalsAuth {
    pub fn is_empty(&self) -> bool {
        self.bearer_token.as_deref().is_none_or(str::is_empty) && self.hmac_keys.is_empty()
    }

    /// Parses `SOURCE=KEY` pairs (`--signals-hmac`), refusing an empty source or key or a source given twice.
    pub fn parse_hmac_keys(pairs: &[String]) -> Result<Vec<(String, String)>, String> {
        let mut keys: Vec<(String, String)> = Vec::new();
        for pair in pairs {
            let Some((source, key)) = pair.split_once('=') else {
                return Err(format!(
                    "signals HMAC key {:?}: expected SOURCE=KEY",
                    pair.split('=').next().unwrap_or_default()
                ));
            };
            let source = source.trim();
            if source.is_empty() || key.is_empty() {
                return Err(format!(
                    "signals HMAC key for {source:?}: source and key must not be empty"
                ));
            }
            if keys.iter().any(|(known, _)| known == source) {
                return Err(format!("signals HMAC key for {source:?} is given twice"));
            }
            keys.push((source.to_owned(), key.to_owned()));
        }
        Ok(keys)
    }
}

/// Who a request authenticated as.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No authentication is configured, or the bearer token matched: the signals name their own source.
    Admitted,
    /// The body was signed with this source's key: its signals carry this source.
    Source(String),
}

/// Decides whether a request is admitted, from its `Authorization`, source and signature headers and body.
/// Comparisons are constant-time.
pub(crate) fn authorize(
    auth: &SignalsAuth,
    authorization: Option<&str>,
    source: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Caller, String> {
    if auth.is_empty() {
        return Ok(Caller::Admitted);
    }
    if let (Some(expected), Some(presented)) = (
        auth.bearer_token
            .as_deref()
            .filter(|token| !token.is_empty()),
        authorization.and_then(|value| value.strip_prefix("Bearer ")),
    ) {
        // Hashing first makes the comparison independent of where, and whether, the lengths differ.
        let (expected, presented) = (Sha256::digest(expected), Sha256::digest(presented.trim()));
        if bool::from(expected.as_slice().ct_eq(presented.as_slice())) {
            return Ok(Caller::Admitted);
        }
        return Err("the bearer token is not the one configured".to_owned());
    }
    if let (Some(source), Some(signature)) = (source, signature) {
        let Some((_, key)) = auth.hmac_keys.iter().find(|(known, _)| known == source) else {
            return Err(format!("no HMAC key is configured for source {source:?}"));
        };
        let Some(signature) = signature
            .strip_prefix("sha256=")
            .and_then(|hex_digest| hex::decode(hex_digest.trim()).ok())
        else {
            return Err(format!("{SIGNATURE_HEADER} must be sha256=<hex digest>"));
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
            .map_err(|error| format!("HMAC key for {source:?}: {error}"))?;
        mac.update(body);
        return match mac.verify_slice(&signature) {
            Ok(()) => Ok(Caller::Source(source.to_owned())),
            Err(_) => Err(format!(
                "{SIGNATURE_HEADER} does not match the body under {source:?}'s key"
            )),
        };
    }
    Err(format!(
        "authentication required: Authorization: Bearer <token>, or {SOURCE_HEADER} with {SIGNATURE_HEADER}"
    ))
}

/// Why the webhook will not start where it was asked to, if it will not.
pub(crate) fn refusal(address: SocketAddr, auth: &SignalsAuth) -> Option<String> {
    (!address.ip().is_loopback() && auth.is_empty()).then(|| {
        "listening beyond loopback requires authentication: set RDFI_SIGNALS_TOKEN (--signals-token) or \
         RDFI_SIGNALS_HMAC (--signals-hmac SOURCE=KEY), or listen on 127.0.0.1"
            .to_owned()
    })
}

struct Webhook {
    monitor: Arc<Monitor>,
    auth: SignalsAuth,
}

/// Binds the webhook (failing now if the address is taken, or is beyond loopback without authentication)
/// and serves it until `shutdown`.
pub(crate) async fn start(
    address: SocketAddr,
    auth: SignalsAuth,
    monitor: Arc<Monitor>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, MonitorError> {
    if let Some(reason) = refusal(address, &auth) {
        return Err(MonitorError::Webhook { address, reason });
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| MonitorError::Webhook {
            address,
            reason: error.to_string(),
        })?;
    let bound = listener.local_addr().unwrap_or(address);
    tracing::info!(address = %bound, authenticated = !auth.is_empty(), "signal webhook listening on POST /v1/signals");
    let app = Router::new()
        .route("/v1/signals", post(receive_signals))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(Webhook { monitor, auth }));
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
        {
            tracing::error!(%error, "signal webhook stopped");
        }
    }))
}

fn refuse(status: StatusCode, error: String, field: Option<&str>) -> (StatusCode, Json<Value>) {
    let body = match field {
        Some(field) => json!({ "error": error, "field": field }),
        None => json!({ "error": error }),
    };
    (status, Json(body))
}

async fn receive_signals(
    State(webhook): State<Arc<Webhook>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> (StatusCode, Json<Value>) {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {MAX_BODY_BYTES} bytes"),
                None,
            );
        }
        Err(rejection) => return refuse(rejection.status(), rejection.body_text(), None),
    };
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let caller = match authorize(
        &webhook.auth,
        header("authorization"),
        header(SOURCE_HEADER),
        header(SIGNATURE_HEADER),
        &body,
    ) {
        Ok(caller) => caller,
        Err(reason) => return refuse(StatusCode::UNAUTHORIZED, reason, None),
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {error}"),
                None,
            );
        }
    };
    let signals = match shapes::parse(&value) {
        Ok(signals) => signals,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                error.to_string(),
                Some(&error.field),
            );
        }
    };
    let count = signals.len();
    let mut correlated = 0;
    for mut signal in signals {
        if let Caller::Source(source) = &caller {
            signal.source.clone_from(source);
        }
        correlated += webhook.monitor.ingest(signal).await;
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({ "signals": count, "correlated": correlated })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sign(key: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn auth() -> SignalsAuth {
        SignalsAuth {
            bearer_token: Some("s3cret".into()),
            hmac_keys: vec![("prowler".into(), "k1".into())],
        }
    }

    #[test]
    fn bearer_tokens_and_signatures_admit() {
        let body = br#"{"resource":"x","source":"y"}"#;
        assert_eq!(
            authorize(&auth(), Some("Bearer s3cret"), None, None, body),
            Ok(Caller::Admitted)
        );
        assert!(authorize(&auth(), Some("Bearer nope"), None, None, body).is_err());
        assert!(authorize(&auth(), None, None, None, body).is_err());
        assert_eq!(
            authorize(
                &auth(),
                None,
                Some("prowler"),
                Some(&sign("k1", body)),
                body
            ),
            Ok(Caller::Source("prowler".into()))
        );
        let error =
            authorize(&auth(), None, Some("other"), Some(&sign("k1", body)), body).unwrap_err();
        assert!(error.contains("\"other\""), "{error}");
        assert!(
            authorize(
                &auth(),
                None,
                Some("prowler"),
                Some(&sign("k2", body)),
                body
            )
            .is_err()
        );
        assert!(authorize(&auth(), None, Some("prowler"), Some("sha256=zz"), body).is_err());
        assert_eq!(
            authorize(&SignalsAuth::default(), None, None, None, body),
            Ok(Caller::Admitted)
        );
    }

    #[test]
    fn beyond_loopback_needs_authentication() {
        let open = SignalsAuth::default();
        assert!(refusal("127.0.0.1:8787".parse().unwrap(), &open).is_none());
        assert!(refusal("[::1]:8787".parse().unwrap(), &open).is_none());
        let reason = refusal("0.0.0.0:8787".parse().unwrap(), &open).unwrap();
        assert!(reason.contains("RDFI_SIGNALS_TOKEN"), "{reason}");
        let empty_token = SignalsAuth {
            bearer_token: Some(String::new()),
            ..SignalsAuth::default()
        };
        assert!(refusal("10.0.0.5:8787".parse().unwrap(), &empty_token).is_some());
        assert!(refusal("10.0.0.5:8787".parse().unwrap(), &auth()).is_none());
    }

    #[test]
    fn hmac_keys_parse() {
        assert_eq!(
            SignalsAuth::parse_hmac_keys(&["prowler=a=b".into()]).unwrap(),
            vec![("prowler".to_owned(), "a=b".to_owned())]
        );
        assert!(SignalsAuth::parse_hmac_keys(&["prowler".into()]).is_err());
        assert!(SignalsAuth::parse_hmac_keys(&["=k".into()]).is_err());
        assert!(SignalsAuth::parse_hmac_keys(&["a=1".into(), "a=2".into()]).is_err());
        let debug = format!("{:?}", auth());
        assert!(
            !debug.contains("s3cret") && !debug.contains("k1"),
            "{debug}"
        );
    }

    proptest! {
        #[test]
        fn only_the_right_key_signs(body in prop::collection::vec(any::<u8>(), 0..200), key in "[a-z]{1,8}") {
            let signature = sign(&key, &body);
            let admitted = authorize(&auth(), None, Some("prowler"), Some(&signature), &body).is_ok();
            prop_assert_eq!(admitted, key == "k1");
        }
    }
}
