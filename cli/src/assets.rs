//! `rdfi assets`: the opted-in resources knowledge keeps, with their criticality, data class and reach, and
//! `--refresh`, which reads the estate now: in this process through the provider's flags (with a state
//! directory), or by asking the cluster's monitor over NATS (with `--knowledge`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use rdfi_core::bus::nats::{NatsAuth, NatsBus};
use rdfi_core::bus::{Bus, ConsumerConfig};
use rdfi_core::{events, experiment, subjects};
use rdfi_knowledge::Store;
use rdfi_proto::unix_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{Asset, AssetsObserved, AssetsRefreshRequested, Event};
use rdfi_provider::settings::{Endpoints, ProviderTarget};
use serde::Serialize;

use crate::query::{DATABASE, Knowledge, KnowledgeArgs};
use crate::{Failure, usage};

/// How long `--refresh` waits for knowledge to hold what the monitor observed.
const RECORDED_WITHIN: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
pub struct AssetsArgs {
    #[command(flatten)]
    pub from: KnowledgeArgs,
    /// Only this provider's assets; with --refresh, the provider to read.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(experiment::PROVIDERS))]
    pub provider: Option<String>,
    /// Only this resource type (aws.s3.bucket, gcp.storage.bucket, ...).
    #[arg(long = "type", value_name = "RESOURCE_TYPE")]
    pub resource_type: Option<String>,
    /// Read the estate now (never changes it): through --provider's flags into --state-dir, or, with
    /// --knowledge, by asking the cluster's monitor over --nats.
    #[arg(long)]
    pub refresh: bool,
    /// The AWS region to read (with --refresh --provider aws).
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,
    #[command(flatten)]
    pub endpoints: Endpoints,
    /// The tag that opts a resource in.
    #[arg(long, env = "RDFI_OPT_IN_TAG", default_value = rdfi_core::DEFAULT_OPT_IN_TAG, value_name = "KEY")]
    pub opt_in_tag: String,
    /// The cluster's NATS server, where --refresh asks the monitor (with --knowledge).
    #[arg(long, env = "RDFI_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,
    #[command(flatten)]
    pub nats_auth: NatsAuth,
    /// How long --refresh waits for the cluster's monitor to answer.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
}

/// One asset as `rdfi assets --format json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetView {
    pub resource: String,
    pub name: String,
    pub provider: String,
    pub resource_type: String,
    pub region: String,
    pub criticality: String,
    pub data_class: String,
    /// public, cross-account, internal, or unknown (not read).
    pub reach: String,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub gone_since_ms: Option<i64>,
}

impl AssetView {
    pub fn of(asset: &Asset) -> AssetView {
        let resource = asset.resource.clone().unwrap_or_default();
        let millis = |t: &Option<rdfi_proto::Timestamp>| t.as_ref().map(unix_millis);
        AssetView {
            resource: resource.id,
            name: resource.name,
            provider: resource.provider,
            resource_type: resource.resource_type,
            region: resource.region,
            criticality: asset.criticality.clone(),
            data_class: asset.data_class.clone(),
            reach: reach_label(&resource.exposure).to_owned(),
            first_seen_ms: millis(&asset.first_seen),
            last_seen_ms: millis(&asset.last_seen),
            gone_since_ms: millis(&asset.gone_since),
        }
    }
}

fn reach_label(exposure: &str) -> &str {
    if exposure.is_empty() {
        "unknown"
    } else {
        exposure
    }
}

/// `rdfi assets` as a table, by provider, type, then id.
pub fn table(assets: &[AssetView]) -> String {
    if assets.is_empty() {
        return "no assets known yet: `rdfi assets --refresh` reads them, and every run's discovery adds the \
                resources it found\n"
            .to_owned();
    }
    let time = |millis: Option<i64>| {
        millis
            .map(crate::report::rfc3339_seconds)
            .unwrap_or_default()
    };
    let mut rows = vec![[
        "ASSET".to_owned(),
        "TYPE".to_owned(),
        "CRITICALITY".to_owned(),
        "DATA CLASS".to_owned(),
        "REACH".to_owned(),
        "LAST SEEN".to_owned(),
    ]];
    for asset in assets {
        rows.push([
            asset.name.clone(),
            asset.resource_type.clone(),
            asset.criticality.clone(),
            if asset.data_class.is_empty() {
                "-".to_owned()
            } else {
                asset.data_class.clone()
            },
            asset.reach.clone(),
            match asset.gone_since_ms {
                Some(gone) => format!("gone since {}", time(Some(gone))),
                None => time(asset.last_seen_ms),
            },
        ]);
    }
    crate::columns(&rows)
}

/// The assets, read afresh first when `--refresh` asks for it.
pub async fn list(args: &AssetsArgs) -> Result<Vec<Asset>, Failure> {
    let mut knowledge = if args.refresh {
        refresh(args).await?
    } else {
        Knowledge::open(&args.from).await?
    };
    knowledge
        .list_assets(args.provider.as_deref(), args.resource_type.as_deref())
        .await
}

async fn refresh(args: &AssetsArgs) -> Result<Knowledge, Failure> {
    let Some(provider) = args.provider.clone() else {
        return Err(usage(
            "rdfi assets --refresh needs --provider (aws, gcp or sandbox): the cloud to read",
        ));
    };
    if args.from.knowledge.is_some() {
        let Some(nats) = &args.nats else {
            return Err(usage(
                "rdfi assets --refresh --knowledge URL asks the cluster's monitor: give its NATS server with \
                 --nats URL",
            ));
        };
        let observed = ask_monitor(nats, &args.nats_auth, &provider, args.timeout).await?;
        let mut knowledge = Knowledge::open(&args.from).await?;
        wait_recorded(&mut knowledge, &observed).await?;
        return Ok(knowledge);
    }
    let target = ProviderTarget {
        provider,
        region: args.region.clone().unwrap_or_default(),
        endpoints: args.endpoints.clone(),
    };
    let cloud = target.connect().await.map_err(usage)?;
    let observed =
        rdfi_monitor::assets::observe(cloud.as_ref(), &args.opt_in_tag, &Default::default()).await;
    let dir = args
        .from
        .state_dir
        .clone()
        .unwrap_or_else(crate::serve::default_state_dir);
    let store = open_creating(&dir).await?;
    let error = observed.error.clone();
    store
        .record(&events::event(
            "rdfi",
            "",
            "",
            &events::new_id(),
            Payload::AssetsObserved(observed),
        ))
        .await
        .map_err(usage)?;
    if !error.is_empty() {
        crate::errln!("rdfi: some resource types could not be read: {error}");
    }
    Ok(Knowledge::Local(store))
}

async fn open_creating(dir: &Path) -> Result<Store, Failure> {
    rdfi_core::state::create_private_dir(dir)
        .map_err(|error| usage(format!("cannot create {}: {error}", dir.display())))?;
    Store::open(&dir.join(DATABASE)).await.map_err(usage)
}

/// Asks the cluster's monitor to read the assets and waits for its answer.
async fn ask_monitor(
    nats: &str,
    auth: &NatsAuth,
    provider: &str,
    timeout: Duration,
) -> Result<Event, Failure> {
    let bus: Arc<dyn Bus> = Arc::new(
        NatsBus::connect_with(nats, auth, None)
            .await
            .map_err(usage)?,
    );
    let request = events::event(
        "rdfi",
        "",
        "",
        &events::new_id(),
        Payload::AssetsRefreshRequested(AssetsRefreshRequested {
            provider: provider.to_owned(),
        }),
    );
    let mut answers = bus
        .consume(ConsumerConfig::ephemeral(
            &format!("assets-{}", request.id),
            &[subjects::ASSETS_OBSERVED],
        ))
        .await
        .map_err(usage)?;
    bus.publish(&request).await.map_err(usage)?;
    let answered = tokio::time::timeout(timeout, async {
        while let Some(delivery) = answers.next().await {
            let Ok(delivery) = delivery else { continue };
            let event = delivery.event.clone();
            let _ = delivery.ack().await;
            if matches!(&event.payload, Some(Payload::AssetsObserved(observed)) if observed.request_id == request.id)
            {
                return Some(event);
            }
        }
        None
    })
    .await;
    match answered {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err(usage("the bus closed before a monitor answered")),
        Err(_) => Err(usage(format!(
            "no monitor of provider {provider} answered within {} (is one running on {}?)",
            humantime::format_duration(timeout),
            rdfi_core::redact::url(nats)
        ))),
    }
}

/// Waits until knowledge holds every asset the monitor observed as seen at the answer's time or later.
async fn wait_recorded(knowledge: &mut Knowledge, answer: &Event) -> Result<(), Failure> {
    let Some(Payload::AssetsObserved(observed)) = &answer.payload else {
        return Ok(());
    };
    if !observed.error.is_empty() {
        crate::errln!(
            "rdfi: the monitor could not read some resource types: {}",
            observed.error
        );
    }
    let at = answer.time.as_ref().map(unix_millis).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + RECORDED_WITHIN;
    loop {
        if recorded(knowledge, observed, at).await? {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(usage(format!(
                "knowledge did not record the monitor's answer within {}",
                humantime::format_duration(RECORDED_WITHIN)
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn recorded(
    knowledge: &mut Knowledge,
    observed: &AssetsObserved,
    at_ms: i64,
) -> Result<bool, Failure> {
    let assets = knowledge
        .list_assets(Some(&observed.provider), None)
        .await?;
    Ok(observed.resources.iter().all(|resource| {
        assets.iter().any(|asset| {
            asset
                .resource
                .as_ref()
                .is_some_and(|known| known.id == resource.id)
                && asset
                    .last_seen
                    .as_ref()
                    .is_some_and(|seen| unix_millis(seen) >= at_ms)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdfi_proto::v1::ResourceRef;

    #[test]
    fn the_table_shows_reach_criticality_and_what_is_gone() {
        let asset = |name: &str, exposure: &str, gone: Option<i64>| {
            AssetView::of(&Asset {
                resource: Some(ResourceRef {
                    id: format!("arn:aws:s3:::{name}"),
                    name: name.to_owned(),
                    provider: "aws".to_owned(),
                    resource_type: "aws.s3.bucket".to_owned(),
                    exposure: exposure.to_owned(),
                    ..ResourceRef::default()
                }),
                criticality: "high".to_owned(),
                data_class: if gone.is_some() {
                    String::new()
                } else {
                    "pii".to_owned()
                },
                first_seen: Some(rdfi_proto::timestamp_from_millis(0)),
                last_seen: Some(rdfi_proto::timestamp_from_millis(86_400_000)),
                gone_since: gone.map(rdfi_proto::timestamp_from_millis),
            })
        };
        let text = table(&[asset("exports", "public", None), asset("old", "", Some(0))]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ASSET"), "{text}");
        assert!(
            lines[1].contains("exports") && lines[1].contains("public") && lines[1].contains("pii")
        );
        assert!(
            lines[2].contains("unknown") && lines[2].contains("gone since 1970-01-01T00:00:00Z")
        );
        assert!(table(&[]).contains("rdfi assets --refresh"));
    }
}
