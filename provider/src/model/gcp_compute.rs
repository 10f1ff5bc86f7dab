//! Compute Engine VPC firewall rules, as the Compute Engine v1 API reports them: the faults that open the
//! instances a rule targets to the internet, and the one that turns the rule's logging off.
//!
//! Firewall rules carry no labels: one opts in, and is protected, by `key=value` words in its description
//! (`rdfi-target=true`), which rdfi reads as its tags (see `crate::gcp::description_tags`).
//!
//! A world-open fault does not widen the opted-in rule: it inserts a rule of its own beside it, aimed at the
//! same instances (network, target tags and service accounts, priority), admitting its port from 0.0.0.0/0,
//! named after the fault and the rule and described as the fault's. Widening the rule would mix the fault's
//! source range with the rule's own ports (and another fault's), so no revert could take back the fault's
//! exposure alone; a rule the fault owns is deleted whole, and every change made to other rules, the opted-in
//! one included, stays.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::{FaultSemantics, FaultState, register_faults};

register_faults![
    FirewallSshOpenToWorld,
    FirewallRdpOpenToWorld,
    FirewallAllPortsOpenToWorld,
    FirewallLoggingDisabled,
];

/// Every IPv4 address.
pub const ANY_IPV4: &str = "0.0.0.0/0";
/// The direction of the rules that admit traffic to instances.
pub const INGRESS: &str = "INGRESS";
/// The protocol name meaning every protocol (and so every port).
pub const ALL_PROTOCOLS: &str = "all";
/// How the description of a rule a fault created begins: `rdfi fault FAULT_ID beside RULE`.
pub const FAULT_RULE_MARKER: &str = "rdfi fault ";
const BESIDE: &str = " beside ";

/// One `allowed` entry of a rule: a protocol and its ports (every port when none), as the API spells them
/// (`"22"`, `"8000-8080"`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FirewallPermission {
    #[serde(rename = "IPProtocol")]
    pub ip_protocol: String,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub ports: BTreeSet<String>,
}

impl FirewallPermission {
    /// TCP on the given ports.
    pub fn tcp(ports: &[&str]) -> Self {
        FirewallPermission {
            ip_protocol: "tcp".to_owned(),
            ports: ports.iter().map(|port| (*port).to_owned()).collect(),
        }
    }

    /// Whether this entry admits TCP on `port`: every protocol, TCP on every port, or a port or range that
    /// holds it.
    pub fn admits_tcp_port(&self, port: u16) -> bool {
        match self.ip_protocol.as_str() {
            ALL_PROTOCOLS => true,
            "tcp" | "6" => {
                self.ports.is_empty()
                    || self.ports.iter().any(|spec| {
                        let (from, to) = spec.split_once('-').unwrap_or((spec, spec));
                        matches!((from.parse::<u16>(), to.parse::<u16>()),
                            (Ok(from), Ok(to)) if (from..=to).contains(&port))
                    })
            }
            _ => false,
        }
    }
}

/// A rule's logging: whether it logs the connections it matches, with which metadata (only while on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallLogConfig {
    pub enable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// A VPC firewall rule's security-relevant fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirewallRule {
    pub name: String,
    /// `INGRESS` or `EGRESS`.
    pub direction: String,
    pub disabled: bool,
    pub priority: i64,
    pub allowed: BTreeSet<FirewallPermission>,
    pub source_ranges: BTreeSet<String>,
    pub target_tags: BTreeSet<String>,
    pub log_config: FirewallLogConfig,
}

impl FirewallRule {
    /// The HTTPS rule of a web tier behind Google's load balancers, logging every connection.
    pub fn example() -> Self {
        FirewallRule {
            name: "allow-https-from-load-balancers".to_owned(),
            direction: INGRESS.to_owned(),
            disabled: false,
            priority: 1000,
            allowed: BTreeSet::from([
                FirewallPermission::tcp(&["443", "8443"]),
                FirewallPermission::tcp(&["8080-8089"]),
            ]),
            source_ranges: BTreeSet::from([
                "130.211.0.0/22".to_owned(),
                "35.191.0.0/16".to_owned(),
            ]),
            target_tags: BTreeSet::from(["web".to_owned()]),
            log_config: FirewallLogConfig {
                enable: true,
                metadata: Some("INCLUDE_ALL_METADATA".to_owned()),
            },
        }
    }

    /// Whether the rule admits what `exposes` names from every IPv4 address.
    fn opens_to_world(&self, exposes: impl Fn(&FirewallPermission) -> bool) -> bool {
        self.direction == INGRESS
            && !self.disabled
            && self.source_ranges.contains(ANY_IPV4)
            && self.allowed.iter().any(exposes)
    }
}

impl FaultState for FirewallRule {}

/// A rule a world-open fault created beside the opted-in rule, as its description marks it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    pub name: String,
    /// The id of the fault that created it.
    pub fault: String,
    pub disabled: bool,
    pub allowed: BTreeSet<FirewallPermission>,
    pub source_ranges: BTreeSet<String>,
}

impl FaultRule {
    /// The description that marks a rule as `fault`'s, beside the rule `beside`.
    pub fn description(fault: &str, beside: &str) -> String {
        format!("{FAULT_RULE_MARKER}{fault}{BESIDE}{beside}")
    }

    /// The fault and the rule a description marks a rule as created by and beside.
    pub fn marked_by(description: &str) -> Option<(&str, &str)> {
        description
            .strip_prefix(FAULT_RULE_MARKER)?
            .split_once(BESIDE)
    }
}

/// What the instances an opted-in rule targets are exposed to: the rule, and the rules world-open faults
/// created beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirewallExposure {
    pub rule: FirewallRule,
    pub fault_rules: BTreeSet<FaultRule>,
}

impl FaultState for FirewallExposure {}

/// The name of the rule fault `short` creates beside `rule`: `rdfi-SHORT-HASH-RULE`, cut to the 63 characters
/// Compute Engine allows; the hash of the whole rule name keeps two long names apart.
pub fn fault_rule_name(short: &str, rule: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
    let hash = rule.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    let mut name = format!("rdfi-{short}-{hash:08x}-{rule}");
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

/// One way of opening instances to the internet: what the fault's rule admits and what counts as exposed.
pub trait WorldOpenPort: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    /// A short name for the rule the fault creates (`ssh`).
    const SHORT: &'static str;
    /// What the fault's rule admits.
    fn permission() -> FirewallPermission;
    /// Whether an `allowed` entry admits what this fault exposes (the fault's own, or a broader one).
    fn exposes(permission: &FirewallPermission) -> bool;
}

/// The instances an opted-in ingress rule targets opened to the internet by a rule the fault creates beside
/// it ([`WorldOpenPort`]). The revert deletes only the rules this fault created since the snapshot; a rule
/// another fault or a person created, and every change to the opted-in rule, stay. The remediation deletes
/// this fault's rules and takes 0.0.0.0/0 out of the opted-in rule if it admits the same by itself.
pub struct FirewallOpenToWorld<P>(PhantomData<P>);

impl<P: WorldOpenPort> FirewallOpenToWorld<P> {
    fn is_own(rule: &FaultRule) -> bool {
        rule.fault == P::ID
    }
}

impl<P: WorldOpenPort> FaultSemantics for FirewallOpenToWorld<P> {
    const ID: &'static str = P::ID;
    const PRESENT: &'static str = P::PRESENT;
    const ASPECT: &'static str = "gcp.compute.firewall-exposure";
    type State = FirewallExposure;

    fn is_present(exposure: &FirewallExposure) -> bool {
        exposure.rule.opens_to_world(P::exposes)
            || exposure.fault_rules.iter().any(|rule| {
                Self::is_own(rule)
                    && !rule.disabled
                    && rule.source_ranges.contains(ANY_IPV4)
                    && rule.allowed.iter().any(P::exposes)
            })
    }

    fn precondition(before: &FirewallExposure) -> Option<String> {
        (before.rule.direction != INGRESS).then(|| {
            format!(
                "the rule's direction is {}: the fault opens the instances an ingress rule targets",
                before.rule.direction
            )
        })
    }

    fn inject(before: &FirewallExposure) -> FirewallExposure {
        let mut exposure = before.clone();
        exposure.fault_rules.insert(FaultRule {
            name: fault_rule_name(P::SHORT, &before.rule.name),
            fault: P::ID.to_owned(),
            disabled: false,
            allowed: BTreeSet::from([P::permission()]),
            source_ranges: BTreeSet::from([ANY_IPV4.to_owned()]),
        });
        exposure
    }

    fn revert(current: &FirewallExposure, before: &FirewallExposure) -> FirewallExposure {
        let mut exposure = current.clone();
        exposure.fault_rules.retain(|rule| {
            !Self::is_own(rule) || before.fault_rules.iter().any(|old| old.name == rule.name)
        });
        // The opted-in rule widened meanwhile to admit the same is the misconfiguration too.
        if Self::is_present(&exposure) {
            Self::remediate(&exposure)
        } else {
            exposure
        }
    }

    fn remediate(current: &FirewallExposure) -> FirewallExposure {
        let mut exposure = current.clone();
        exposure.fault_rules.retain(|rule| !Self::is_own(rule));
        if exposure.rule.opens_to_world(P::exposes) {
            exposure.rule.source_ranges.remove(ANY_IPV4);
        }
        exposure
    }

    fn describe(before: &FirewallExposure) -> String {
        let permission = P::permission();
        format!(
            "firewalls.insert: a rule {} admitting {} {} from {ANY_IPV4} to the instances {} targets",
            fault_rule_name(P::SHORT, &before.rule.name),
            permission.ip_protocol,
            if permission.ports.is_empty() {
                "on every port".to_owned()
            } else {
                format!(
                    "ports {}",
                    permission
                        .ports
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(",")
                )
            },
            before.rule.name
        )
    }

    fn example() -> FirewallExposure {
        FirewallExposure {
            rule: FirewallRule::example(),
            fault_rules: BTreeSet::new(),
        }
    }
}

/// SSH (tcp/22) from every IPv4 address.
pub struct SshFromEverywhere;
impl WorldOpenPort for SshFromEverywhere {
    const ID: &'static str = "gcp.compute.firewall-ssh-open-to-world";
    const PRESENT: &'static str = "the rule's instances admit tcp/22 from 0.0.0.0/0";
    const SHORT: &'static str = "ssh";
    fn permission() -> FirewallPermission {
        FirewallPermission::tcp(&["22"])
    }
    fn exposes(permission: &FirewallPermission) -> bool {
        permission.admits_tcp_port(22)
    }
}
pub type FirewallSshOpenToWorld = FirewallOpenToWorld<SshFromEverywhere>;

/// RDP (tcp/3389) from every IPv4 address.
pub struct RdpFromEverywhere;
impl WorldOpenPort for RdpFromEverywhere {
    const ID: &'static str = "gcp.compute.firewall-rdp-open-to-world";
    const PRESENT: &'static str = "the rule's instances admit tcp/3389 from 0.0.0.0/0";
    const SHORT: &'static str = "rdp";
    fn permission() -> FirewallPermission {
        FirewallPermission::tcp(&["3389"])
    }
    fn exposes(permission: &FirewallPermission) -> bool {
        permission.admits_tcp_port(3389)
    }
}
pub type FirewallRdpOpenToWorld = FirewallOpenToWorld<RdpFromEverywhere>;

/// Every protocol and port from every IPv4 address.
pub struct EverythingFromEverywhere;
impl WorldOpenPort for EverythingFromEverywhere {
    const ID: &'static str = "gcp.compute.firewall-all-ports-open-to-world";
    const PRESENT: &'static str = "the rule's instances admit every protocol from 0.0.0.0/0";
    const SHORT: &'static str = "all";
    fn permission() -> FirewallPermission {
        FirewallPermission {
            ip_protocol: ALL_PROTOCOLS.to_owned(),
            ports: BTreeSet::new(),
        }
    }
    fn exposes(permission: &FirewallPermission) -> bool {
        permission.ip_protocol == ALL_PROTOCOLS
    }
}
pub type FirewallAllPortsOpenToWorld = FirewallOpenToWorld<EverythingFromEverywhere>;

/// `gcp.compute.firewall-logging-disabled`: the rule stops logging the connections it matches. Google drops
/// the metadata setting with logging, so the revert turns logging on with the metadata of the snapshot;
/// every other change to the rule made meanwhile stays.
pub struct FirewallLoggingDisabled;

impl FaultSemantics for FirewallLoggingDisabled {
    const ID: &'static str = "gcp.compute.firewall-logging-disabled";
    const PRESENT: &'static str = "the rule does not log its connections";
    const ASPECT: &'static str = "gcp.compute.firewall-rule";
    type State = FirewallRule;

    fn is_present(rule: &FirewallRule) -> bool {
        !rule.log_config.enable
    }

    fn inject(before: &FirewallRule) -> FirewallRule {
        FirewallRule {
            log_config: FirewallLogConfig {
                enable: false,
                metadata: None,
            },
            ..before.clone()
        }
    }

    fn remediate(current: &FirewallRule) -> FirewallRule {
        FirewallRule {
            log_config: FirewallLogConfig {
                enable: true,
                metadata: current.log_config.metadata.clone(),
            },
            ..current.clone()
        }
    }

    fn describe(before: &FirewallRule) -> String {
        format!(
            "firewalls.patch: set logConfig.enable to false on {} (metadata {} dropped)",
            before.name,
            before.log_config.metadata.as_deref().unwrap_or("default")
        )
    }

    fn example() -> FirewallRule {
        FirewallRule::example()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ranges_are_read_as_compute_engine_means_them() {
        assert!(FirewallPermission::tcp(&["20-25"]).admits_tcp_port(22));
        assert!(FirewallPermission::tcp(&[]).admits_tcp_port(3389));
        assert!(!FirewallPermission::tcp(&["443", "8080-8089"]).admits_tcp_port(22));
        assert!(!FirewallPermission::tcp(&["22-x"]).admits_tcp_port(22));
        let udp = FirewallPermission {
            ip_protocol: "udp".to_owned(),
            ports: BTreeSet::new(),
        };
        assert!(!udp.admits_tcp_port(22));
        assert!(EverythingFromEverywhere::permission().admits_tcp_port(22));
    }

    #[test]
    fn the_fault_rule_is_named_within_the_limit_and_marked() {
        let long = "a".repeat(63);
        let name = fault_rule_name("ssh", &long);
        assert!(name.len() <= 63 && name.starts_with("rdfi-ssh-"), "{name}");
        assert_ne!(name, fault_rule_name("ssh", &format!("{long}b")));
        assert!(!name.ends_with('-'));
        let description = FaultRule::description(SshFromEverywhere::ID, "web");
        assert_eq!(
            FaultRule::marked_by(&description),
            Some((SshFromEverywhere::ID, "web"))
        );
        assert_eq!(FaultRule::marked_by("allow web traffic"), None);
    }

    #[test]
    fn a_world_open_revert_deletes_only_its_own_rule() {
        let before = FirewallSshOpenToWorld::example();
        let faulty = FirewallSshOpenToWorld::inject(&before);
        assert!(FirewallSshOpenToWorld::is_present(&faulty));
        // Meanwhile another fault's rule appears and a person narrows the opted-in rule.
        let mut concurrent = FirewallRdpOpenToWorld::inject(&faulty);
        concurrent.rule.source_ranges.remove("35.191.0.0/16");
        let reverted = FirewallSshOpenToWorld::revert(&concurrent, &before);
        assert!(!FirewallSshOpenToWorld::is_present(&reverted));
        assert!(FirewallRdpOpenToWorld::is_present(&reverted));
        assert_eq!(reverted.rule, concurrent.rule);
        // A person opening the rule itself to the world meanwhile is remediated too.
        let mut widened = faulty.clone();
        widened.rule.source_ranges.insert(ANY_IPV4.to_owned());
        widened
            .rule
            .allowed
            .insert(FirewallPermission::tcp(&["22"]));
        let reverted = FirewallSshOpenToWorld::revert(&widened, &before);
        assert!(!FirewallSshOpenToWorld::is_present(&reverted));
        assert!(reverted.fault_rules.is_empty());
    }

    #[test]
    fn egress_rules_are_refused() {
        let mut before = FirewallSshOpenToWorld::example();
        before.rule.direction = "EGRESS".to_owned();
        assert!(FirewallSshOpenToWorld::precondition(&before).is_some());
    }

    #[test]
    fn the_logging_revert_restores_the_metadata_and_keeps_other_changes() {
        let before = FirewallLoggingDisabled::example();
        let mut current = FirewallLoggingDisabled::inject(&before);
        current.target_tags.insert("api".to_owned());
        let reverted = FirewallLoggingDisabled::revert(&current, &before);
        assert_eq!(reverted.log_config, before.log_config);
        assert!(reverted.target_tags.contains("api"));
    }
}
