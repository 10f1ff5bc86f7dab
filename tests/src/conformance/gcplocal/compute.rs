//! The VPC firewall cases: an opted-in HTTPS rule of a web tier (two ports, a port range, two source ranges,
//! a target tag, logging with metadata) beside a rule of its own admitting SSH from the corporate range, read
//! back with every rule whose name ends with the case's name (the fault's rules are named after the rule).

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::gcp::firewall_ref;
use serde_json::{Value, json};

use super::{GcpCase, sorted};
use crate::gcplocal::{GcpClient, PROJECT};

pub(super) fn cases() -> Vec<Box<dyn GcpCase>> {
    let world = |fault_id, port| -> Box<dyn GcpCase> { Box::new(WorldOpenCase { fault_id, port }) };
    vec![
        world("gcp.compute.firewall-ssh-open-to-world", Some(22)),
        world("gcp.compute.firewall-rdp-open-to-world", Some(3389)),
        world("gcp.compute.firewall-all-ports-open-to-world", None),
        Box::new(LoggingCase),
    ]
}

/// The source range a person adds to the opted-in rule while a fault is on.
const PARTNER_RANGE: &str = "203.0.113.0/24";

/// Creates the opted-in rule `name` and the corporate SSH rule beside it.
async fn prepare_rules(gcp: &GcpClient, name: &str) -> ResourceRef {
    let description = "HTTPS from Google's load balancers. rdfi-target=true";
    gcp.create_firewall(json!({
        "name": name,
        "description": description,
        "network": format!("projects/{PROJECT}/global/networks/default"),
        "direction": "INGRESS",
        "priority": 900,
        "allowed": [
            {"IPProtocol": "tcp", "ports": ["443", "8443"]},
            {"IPProtocol": "tcp", "ports": ["8080-8089"]},
        ],
        "sourceRanges": ["130.211.0.0/22", "35.191.0.0/16"],
        "targetTags": ["web"],
        "logConfig": {"enable": true, "metadata": "INCLUDE_ALL_METADATA"},
    }))
    .await;
    gcp.create_firewall(json!({
        "name": format!("ssh-from-corp-for-{name}"),
        "description": "SSH from the office",
        "direction": "INGRESS",
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
        "sourceRanges": ["10.0.0.0/8"],
        "targetTags": ["web"],
    }))
    .await;
    firewall_ref(PROJECT, name, description)
}

/// Every rule whose name ends with the opted-in rule's, sorted by name, with its security-relevant fields.
async fn read_rules(gcp: &GcpClient, resource: &ResourceRef) -> Value {
    let mut rules: Vec<Value> = gcp
        .firewalls()
        .await
        .into_iter()
        .filter(|rule| {
            rule["name"]
                .as_str()
                .is_some_and(|name| name.ends_with(&resource.name))
        })
        .map(|rule| {
            json!({
                "name": rule["name"],
                "description": rule["description"],
                "direction": rule["direction"],
                "disabled": rule["disabled"],
                "priority": rule["priority"],
                "allowed": sorted(&rule["allowed"]),
                "sourceRanges": sorted(&rule["sourceRanges"]),
                "targetTags": sorted(&rule["targetTags"]),
                "logConfig": rule["logConfig"],
            })
        })
        .collect();
    rules.sort_by_key(|rule| rule["name"].to_string());
    json!({ "rules": rules, "opted_in": resource.name })
}

/// The read's opted-in rule.
fn opted_in(read: &Value) -> &Value {
    read["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|rule| rule["name"] == read["opted_in"]))
        .unwrap_or(&Value::Null)
}

/// Whether an `allowed` entry admits TCP `port` (every port when `None`: only an all-protocols entry).
fn admits(entry: &Value, port: Option<u16>) -> bool {
    let protocol = entry["IPProtocol"].as_str().unwrap_or_default();
    match port {
        None => protocol == "all",
        Some(port) => {
            protocol == "all"
                || (protocol == "tcp"
                    && entry["ports"].as_array().is_none_or(|ports| {
                        ports.is_empty()
                            || ports.iter().filter_map(Value::as_str).any(|spec| {
                                let (from, to) = spec.split_once('-').unwrap_or((spec, spec));
                                matches!((from.parse::<u16>(), to.parse::<u16>()),
                                    (Ok(from), Ok(to)) if (from..=to).contains(&port))
                            })
                    }))
        }
    }
}

/// Some rule instances of the case's network admit `port` from every IPv4 address.
struct WorldOpenCase {
    fault_id: &'static str,
    port: Option<u16>,
}

#[async_trait]
impl GcpCase for WorldOpenCase {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, gcp: &GcpClient, name: &str) -> ResourceRef {
        prepare_rules(gcp, name).await
    }

    async fn read(&self, gcp: &GcpClient, resource: &ResourceRef) -> Value {
        read_rules(gcp, resource).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["rules"].as_array().into_iter().flatten().any(|rule| {
            rule["direction"] == "INGRESS"
                && rule["disabled"] != json!(true)
                && rule["sourceRanges"]
                    .as_array()
                    .is_some_and(|ranges| ranges.contains(&json!("0.0.0.0/0")))
                && rule["allowed"]
                    .as_array()
                    .is_some_and(|entries| entries.iter().any(|entry| admits(entry, self.port)))
        })
    }

    async fn change_meanwhile(&self, gcp: &GcpClient, resource: &ResourceRef) -> bool {
        let mut ranges = gcp.firewall(&resource.name).await["sourceRanges"].clone();
        ranges
            .as_array_mut()
            .expect("source ranges")
            .push(json!(PARTNER_RANGE));
        gcp.patch_firewall(&resource.name, json!({ "sourceRanges": ranges }))
            .await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        opted_in(read)["sourceRanges"]
            .as_array()
            .is_some_and(|ranges| ranges.contains(&json!(PARTNER_RANGE)))
    }
}

/// The opted-in rule's logging turned off.
struct LoggingCase;

#[async_trait]
impl GcpCase for LoggingCase {
    fn fault_id(&self) -> &'static str {
        "gcp.compute.firewall-logging-disabled"
    }

    async fn prepare(&self, gcp: &GcpClient, name: &str) -> ResourceRef {
        prepare_rules(gcp, name).await
    }

    async fn read(&self, gcp: &GcpClient, resource: &ResourceRef) -> Value {
        read_rules(gcp, resource).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        opted_in(read)["logConfig"]["enable"] != json!(true)
    }

    async fn change_meanwhile(&self, gcp: &GcpClient, resource: &ResourceRef) -> bool {
        gcp.patch_firewall(&resource.name, json!({"targetTags": ["web", "api"]}))
            .await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        opted_in(read)["targetTags"]
            .as_array()
            .is_some_and(|tags| tags.contains(&json!("api")))
    }
}
