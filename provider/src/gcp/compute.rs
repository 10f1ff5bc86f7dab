//! VPC firewall rules: discovery, the tags of their descriptions, and the `gcp.compute.firewall-*` faults.
//!
//! Compute Engine's firewall rules carry no fingerprint, so no write here is conditional: the world-open
//! faults only ever insert and delete the rules they own (by name and description), and the revert of the
//! logging fault patches only the fields its target changes.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::json_api::JsonApiClient;
use super::{description_tags, firewall_ref};
use crate::model::FaultSemantics;
use crate::model::gcp_compute::{
    self as model, FaultRule, FirewallExposure, FirewallLogConfig, FirewallOpenToWorld,
    FirewallPermission, FirewallRule, INGRESS, WorldOpenPort,
};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<JsonApiClient>>> {
    vec![
        Box::new(ExposureDriver::<model::SshFromEverywhere>(PhantomData)),
        Box::new(ExposureDriver::<model::RdpFromEverywhere>(PhantomData)),
        Box::new(ExposureDriver::<model::EverythingFromEverywhere>(
            PhantomData,
        )),
        Box::new(LoggingDriver),
    ]
}

fn string_field(rule: &Value, field: &str) -> String {
    rule.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Every firewall rule of the project, all pages, with the tags of its description.
pub(crate) async fn discover(client: &JsonApiClient) -> Result<Vec<ResourceRef>> {
    Ok(client
        .list_firewalls()
        .await?
        .iter()
        .filter_map(|rule| {
            let name = rule.get("name").and_then(Value::as_str)?;
            Some(firewall_ref(
                client.project(),
                name,
                &string_field(rule, "description"),
            ))
        })
        .collect())
}

/// A rule's tags as they are now: the `key=value` words of its description.
pub(crate) async fn tags(client: &JsonApiClient, name: &str) -> Result<BTreeMap<String, String>> {
    let rule = client.get_firewall(name).await?;
    Ok(description_tags(&string_field(&rule, "description")))
}

fn strings(rule: &Value, field: &str) -> BTreeSet<String> {
    rule.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn permissions(rule: &Value) -> BTreeSet<FirewallPermission> {
    rule.get("allowed")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| serde_json::from_value(entry.clone()).ok())
        .collect()
}

/// A rule as the API reports it. Google reports no `logConfig` for a rule that never logged, and drops the
/// metadata with logging.
fn rule_of(rule: &Value) -> FirewallRule {
    let enable = rule
        .pointer("/logConfig/enable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    FirewallRule {
        name: string_field(rule, "name"),
        direction: rule
            .get("direction")
            .and_then(Value::as_str)
            .unwrap_or(INGRESS)
            .to_owned(),
        disabled: rule
            .get("disabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        priority: rule.get("priority").and_then(Value::as_i64).unwrap_or(1000),
        allowed: permissions(rule),
        source_ranges: strings(rule, "sourceRanges"),
        target_tags: strings(rule, "targetTags"),
        log_config: FirewallLogConfig {
            enable,
            metadata: rule
                .pointer("/logConfig/metadata")
                .and_then(Value::as_str)
                .filter(|_| enable)
                .map(str::to_owned),
        },
    }
}

/// The rules world-open faults created beside the rule `beside`, as their descriptions mark them.
fn fault_rules_beside(rules: &[Value], beside: &str) -> BTreeSet<FaultRule> {
    rules
        .iter()
        .filter_map(|rule| {
            let description = string_field(rule, "description");
            let (fault, marked_beside) = FaultRule::marked_by(&description)?;
            (marked_beside == beside).then(|| FaultRule {
                name: string_field(rule, "name"),
                fault: fault.to_owned(),
                disabled: rule
                    .get("disabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                allowed: permissions(rule),
                source_ranges: strings(rule, "sourceRanges"),
            })
        })
        .collect()
}

/// The world-open faults: inject inserts the fault's rule beside the opted-in one, aimed at its instances; the
/// revert deletes the fault rules its target drops and, when someone opened the opted-in rule itself to the
/// world meanwhile, takes 0.0.0.0/0 out of its source ranges.
struct ExposureDriver<P>(PhantomData<P>);

impl<P: WorldOpenPort> ExposureDriver<P> {
    /// Whether the fault's rule beside `rule` is there, marked as the fault's.
    async fn in_place(client: &JsonApiClient, rule: &str, name: &str) -> Result<bool> {
        let rules = client.list_firewalls().await?;
        Ok(fault_rules_beside(&rules, rule)
            .iter()
            .any(|found| found.name == name && found.fault == P::ID))
    }
}

#[async_trait]
impl<P: WorldOpenPort> StateDriver<JsonApiClient> for ExposureDriver<P> {
    type Fault = FirewallOpenToWorld<P>;

    async fn read(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
    ) -> Result<FirewallExposure> {
        let rule = client.get_firewall(&resource.name).await?;
        let rules = client.list_firewalls().await?;
        Ok(FirewallExposure {
            rule: rule_of(&rule),
            fault_rules: fault_rules_beside(&rules, &resource.name),
        })
    }

    /// Inserts the fault's rule with the opted-in rule's network, targets and priority. Its name is fixed by
    /// the fault and the rule, so an insert whose answer was lost (or that Google answers "already exists")
    /// is resolved by reading whether the fault's rule is there.
    async fn inject(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        before: &FirewallExposure,
    ) -> Result<()> {
        let opted_in = client.get_firewall(&resource.name).await?;
        let injected = Self::Fault::inject(before);
        let Some(own) = injected.fault_rules.difference(&before.fault_rules).next() else {
            return Ok(());
        };
        let mut rule = json!({
            "name": own.name,
            "description": FaultRule::description(P::ID, &resource.name),
            "network": opted_in.get("network").cloned().unwrap_or(Value::Null),
            "direction": INGRESS,
            "priority": before.rule.priority,
            "allowed": own.allowed,
            "sourceRanges": own.source_ranges,
        });
        for targets in ["targetTags", "targetServiceAccounts"] {
            if let Some(value) = opted_in.get(targets).filter(|value| !value.is_null()) {
                rule[targets] = value.clone();
            }
        }
        let error = match client.insert_firewall(&rule).await {
            Ok(()) => return Ok(()),
            Err(error @ ProviderError::Refused { .. }) => return Err(error),
            Err(error) => error,
        };
        match Self::in_place(client, &resource.name, &own.name).await {
            Ok(true) => {
                tracing::warn!(%error, rule = %own.name, "the injection's answer was an error, yet the fault's rule is in place");
                Ok(())
            }
            _ => Err(error),
        }
    }

    async fn revert(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        current: &Versioned<FirewallExposure>,
        target: &FirewallExposure,
    ) -> Result<()> {
        for rule in current.state.fault_rules.difference(&target.fault_rules) {
            client.delete_firewall(&rule.name).await?;
        }
        if target.rule.source_ranges != current.state.rule.source_ranges {
            client
                .patch_firewall(
                    &resource.name,
                    &json!({"sourceRanges": target.rule.source_ranges}),
                )
                .await?;
        }
        Ok(())
    }
}

/// A rule's `logConfig` as the API takes it: the metadata only while logging is on.
fn log_config_patch(log_config: &FirewallLogConfig) -> Value {
    match &log_config.metadata {
        Some(metadata) if log_config.enable => json!({"enable": true, "metadata": metadata}),
        _ => json!({"enable": log_config.enable}),
    }
}

/// `gcp.compute.firewall-logging-disabled`: patches `logConfig.enable` to false; the revert patches the
/// fields its target changes (the logging, with the snapshot's metadata), and nothing else.
struct LoggingDriver;

#[async_trait]
impl StateDriver<JsonApiClient> for LoggingDriver {
    type Fault = model::FirewallLoggingDisabled;

    async fn read(&self, client: &JsonApiClient, resource: &ResourceRef) -> Result<FirewallRule> {
        Ok(rule_of(&client.get_firewall(&resource.name).await?))
    }

    async fn inject(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        before: &FirewallRule,
    ) -> Result<()> {
        let injected = Self::Fault::inject(before);
        client
            .patch_firewall(
                &resource.name,
                &json!({"logConfig": log_config_patch(&injected.log_config)}),
            )
            .await
    }

    async fn revert(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        current: &Versioned<FirewallRule>,
        target: &FirewallRule,
    ) -> Result<()> {
        let current = &current.state;
        if target.name != current.name || target.direction != current.direction {
            return Err(ProviderError::Api {
                operation: "revert".to_owned(),
                resource: resource.id.clone(),
                reason: "a firewall rule's name and direction cannot change".to_owned(),
                retryable: false,
                throttled: false,
            });
        }
        let mut patch = serde_json::Map::new();
        if target.log_config != current.log_config {
            patch.insert("logConfig".to_owned(), log_config_patch(&target.log_config));
        }
        if target.disabled != current.disabled {
            patch.insert("disabled".to_owned(), json!(target.disabled));
        }
        if target.priority != current.priority {
            patch.insert("priority".to_owned(), json!(target.priority));
        }
        if target.allowed != current.allowed {
            patch.insert("allowed".to_owned(), json!(target.allowed));
        }
        if target.source_ranges != current.source_ranges {
            patch.insert("sourceRanges".to_owned(), json!(target.source_ranges));
        }
        if target.target_tags != current.target_tags {
            patch.insert("targetTags".to_owned(), json!(target.target_tags));
        }
        client
            .patch_firewall(&resource.name, &Value::Object(patch))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_back_what_its_patches_write() {
        let example = FirewallRule::example();
        let wire = json!({
            "name": example.name,
            "direction": example.direction,
            "disabled": example.disabled,
            "priority": example.priority,
            "allowed": example.allowed,
            "sourceRanges": example.source_ranges,
            "targetTags": example.target_tags,
            "logConfig": log_config_patch(&example.log_config),
        });
        assert_eq!(rule_of(&wire), example);
        let off = model::FirewallLoggingDisabled::inject(&example);
        let mut wire_off = wire.clone();
        wire_off["logConfig"] = log_config_patch(&off.log_config);
        assert_eq!(rule_of(&wire_off), off);
        // Google may leave the metadata in place with logging off: it means nothing then.
        wire_off["logConfig"]["metadata"] = json!("INCLUDE_ALL_METADATA");
        assert_eq!(rule_of(&wire_off), off);
    }

    #[test]
    fn only_rules_marked_beside_the_rule_are_its_fault_rules() {
        let rules = [
            json!({"name": "rdfi-ssh-1-web", "description": FaultRule::description("gcp.compute.firewall-ssh-open-to-world", "web"),
                   "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}], "sourceRanges": ["0.0.0.0/0"]}),
            json!({"name": "rdfi-ssh-2-db", "description": FaultRule::description("gcp.compute.firewall-ssh-open-to-world", "db")}),
            json!({"name": "web", "description": "rdfi-target=true"}),
        ];
        let found = fault_rules_beside(&rules, "web");
        assert_eq!(found.len(), 1);
        let rule = found.iter().next().unwrap();
        assert!(rule.allowed.contains(&FirewallPermission::tcp(&["22"])));
    }
}
