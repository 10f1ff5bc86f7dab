//! An HTTP proxy in front of an AWS endpoint (moto_server) that records every call: which operation it was
//! and how long the endpoint took to answer it. The benchmarks count a tool's API calls and moto's own service
//! time with it; the crash-safety tests make it refuse every other call, as a throttling cloud does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;

/// What the proxy does with each call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Forwards every call.
    Forward,
    /// Answers every other call (the second, the fourth...) with 503 SlowDown, unforwarded.
    ThrottleEveryOther,
}

/// One call the proxy forwarded.
#[derive(Clone, Debug)]
pub struct Call {
    /// The AWS operation, as far as the request shows it: `iam:AttachRolePolicy`, `s3:PUT ?versioning`.
    pub operation: String,
    /// When it was forwarded, from the proxy's start.
    pub sent: Duration,
    /// From forwarding the request to the endpoint's whole answer.
    pub upstream: Duration,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    behaviour: Behaviour,
    seen: Arc<AtomicUsize>,
    throttled: Arc<AtomicUsize>,
    calls: Arc<Mutex<Vec<Call>>>,
    epoch: Instant,
}

/// The proxy, listening on 127.0.0.1 until dropped.
pub struct Proxy {
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) on a free port.
    pub async fn start(upstream: &str, behaviour: Behaviour) -> Proxy {
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            behaviour,
            seen: Arc::default(),
            throttled: Arc::default(),
            calls: Arc::default(),
            epoch: Instant::now(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds a port");
        let address = listener.local_addr().expect("the proxy's address");
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            url: format!("http://{address}"),
            shared,
            task,
        }
    }

    /// The calls forwarded so far, in the order they were answered.
    pub fn calls(&self) -> Vec<Call> {
        self.shared
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many calls were answered with SlowDown.
    pub fn throttled(&self) -> usize {
        self.shared.throttled.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operation a request is: the query API's `Action` (IAM, EC2...), the JSON APIs' `X-Amz-Target`, or
/// for S3 the method and the subresource of the query (`PUT ?versioning`, `GET /`).
pub fn operation_of(
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
) -> String {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    // SigV4: Credential=KEY/DATE/REGION/SERVICE/aws4_request.
    let service = header("authorization")
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(3))
        .unwrap_or("unsigned");
    if let Some(target) = header("x-amz-target") {
        let action = target.rsplit('.').next().unwrap_or(target);
        return format!("{service}:{action}");
    }
    let form = std::str::from_utf8(body).unwrap_or_default();
    let query = uri.query().unwrap_or_default();
    let action = form
        .split('&')
        .chain(query.split('&'))
        .find_map(|pair| pair.strip_prefix("Action="));
    if let Some(action) = action {
        return format!("{service}:{action}");
    }
    let subresource = query
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .find(|key| !key.is_empty() && !key.starts_with("x-id") && !key.starts_with("X-Amz"));
    let path = uri.path();
    let on = match subresource {
        Some(key) => format!("?{key}"),
        None if path == "/" => "/".to_owned(),
        None if path.trim_matches('/').contains('/') => "/BUCKET/KEY".to_owned(),
        None => "/BUCKET".to_owned(),
    };
    format!("{service}:{method} {on}")
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    if shared.behaviour == Behaviour::ThrottleEveryOther
        && shared.seen.fetch_add(1, Ordering::SeqCst) % 2 == 1
    {
        shared.throttled.fetch_add(1, Ordering::SeqCst);
        return Response::builder()
            .status(503)
            .header("content-type", "application/xml")
            .body(Body::from(
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            ))
            .expect("a SlowDown answer");
    }
    let (parts, body) = request.into_parts();
    let url = format!(
        "{}{}",
        shared.upstream,
        parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/")
    );
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut upstream = shared
        .client
        .request(parts.method.clone(), url)
        .body(body.clone());
    for (name, value) in &parts.headers {
        if name != "host" {
            upstream = upstream.header(name, value);
        }
    }
    let started = Instant::now();
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(error) => {
            return Response::builder()
                .status(502)
                .body(Body::from(error.to_string()))
                .expect("a 502 answer");
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let upstream = started.elapsed();
    let operation = operation_of(&parts.method, &parts.headers, &parts.uri, &body);
    shared
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Call {
            operation,
            sent: started - shared.epoch,
            upstream,
        });
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        response = response.header(name, value);
    }
    response
        .body(Body::from(bytes))
        .expect("the endpoint's answer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Method, Uri};

    fn signed(service: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=AKID/20261208/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
                .parse()
                .unwrap(),
        );
        headers
    }

    #[test]
    fn operations_are_named_as_aws_names_them() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        assert_eq!(
            operation_of(
                &Method::POST,
                &signed("iam"),
                &uri("/"),
                b"Action=AttachRolePolicy&Version=2010-05-08"
            ),
            "iam:AttachRolePolicy"
        );
        let mut json = signed("kms");
        json.insert("x-amz-target", "TrentService.ListGrants".parse().unwrap());
        assert_eq!(
            operation_of(&Method::POST, &json, &uri("/"), b"{}"),
            "kms:ListGrants"
        );
        assert_eq!(
            operation_of(
                &Method::PUT,
                &signed("s3"),
                &uri("/bench-bucket-00?versioning"),
                b"<xml/>"
            ),
            "s3:PUT ?versioning"
        );
        assert_eq!(
            operation_of(&Method::GET, &signed("s3"), &uri("/?x-id=ListBuckets"), b""),
            "s3:GET /"
        );
        assert_eq!(
            operation_of(&Method::GET, &signed("s3"), &uri("/bucket/key"), b""),
            "s3:GET /BUCKET/KEY"
        );
        assert_eq!(
            operation_of(&Method::HEAD, &HeaderMap::new(), &uri("/bucket"), b""),
            "unsigned:HEAD /BUCKET"
        );
    }

    #[tokio::test]
    async fn the_proxy_forwards_records_and_throttles() {
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = upstream.local_addr().unwrap();
        let app = axum::Router::new().fallback(|| async { "answered" });
        tokio::spawn(async move { axum::serve(upstream, app).await });
        let proxy = Proxy::start(&format!("http://{address}"), Behaviour::ThrottleEveryOther).await;
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let answer = client
                .get(format!("{}/bucket?versioning", proxy.url))
                .send()
                .await
                .unwrap();
            statuses.push(answer.status().as_u16());
        }
        assert_eq!(statuses, [200, 503, 200, 503]);
        assert_eq!(proxy.throttled(), 2);
        let calls = proxy.calls();
        assert_eq!(
            calls.len(),
            2,
            "only forwarded calls are recorded: {calls:?}"
        );
        assert_eq!(calls[0].operation, "unsigned:GET ?versioning");
    }
}
