//! Stand-in security controls for end-to-end tests. Each watches a resource through the AWS SDK, the way a
//! real control watches the cloud, and acts a while after it sees the misconfiguration: a detective control
//! posts a signal to the monitor's webhook, a corrective control restores the secure state.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

/// Polls `misconfigured` every 50 ms; the first time it holds, waits `delay` and runs `act` once.
pub fn watch<C, CF, A, AF>(delay: Duration, mut misconfigured: C, act: A) -> JoinHandle<()>
where
    C: FnMut() -> CF + Send + 'static,
    CF: Future<Output = bool> + Send,
    A: FnOnce() -> AF + Send + 'static,
    AF: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        while !misconfigured().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(delay).await;
        act().await;
    })
}

/// A detector's signal, posted as third-party detectors post it.
pub async fn post_signal(webhook: &str, resource: &str, source: &str) {
    let response = reqwest::Client::new()
        .post(format!("{webhook}/v1/signals"))
        .json(&serde_json::json!({
            "resource": resource,
            "source": source,
            "title": "misconfiguration detected",
            "severity": "high",
        }))
        .send()
        .await
        .expect("the webhook answers");
    assert_eq!(
        response.status(),
        reqwest::StatusCode::ACCEPTED,
        "webhook refused the signal"
    );
}
