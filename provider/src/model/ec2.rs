//! EC2: security group rules, snapshot and image sharing.
//!
//! Security groups: the ingress rules, one [`IngressRule`] per (protocol, port range, source), the form in
//! which AWS authorizes and revokes them. Four faults open a group to the whole internet; each adds one rule,
//! and each revert revokes exactly that rule, so rules added meanwhile by someone else stay.
//!
//! Snapshots and images: who may use them ([`SharePermissions`]); the group `all` makes them public.
//!
//! Instances: how their metadata service answers ([`MetadataOptions`]). Subnets: whether instances launched
//! in them get a public address.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::switch::{Protection, SwitchedOff};
use super::{FaultSemantics, FaultState, register_faults};

register_faults![
    SecurityGroupSshOpenToWorld,
    SecurityGroupRdpOpenToWorld,
    SecurityGroupAllPortsOpenToWorld,
    SecurityGroupOpenToWorldIpv6,
    SnapshotSharedPublicly,
    ImageMadePublic,
    InstanceImdsv1Enabled,
    SubnetPublicIpOnLaunchEnabled,
];

/// Every IPv4 address.
pub const ANY_IPV4: &str = "0.0.0.0/0";
/// Every IPv6 address.
pub const ANY_IPV6: &str = "::/0";
/// The IP protocol value meaning every protocol and every port.
pub const ALL_PROTOCOLS: &str = "-1";
/// The permission group meaning every AWS account: a snapshot or image shared with it is public.
pub const PUBLIC_GROUP: &str = "all";

/// Where an ingress rule lets traffic come from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "value")]
pub enum RuleSource {
    /// An IPv4 CIDR block.
    Ipv4(String),
    /// An IPv6 CIDR block.
    Ipv6(String),
    /// Another security group, by id (`sg-...`).
    SecurityGroup(String),
    /// A managed prefix list, by id (`pl-...`).
    PrefixList(String),
}

impl fmt::Display for RuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSource::Ipv4(cidr) | RuleSource::Ipv6(cidr) => f.write_str(cidr),
            RuleSource::SecurityGroup(id) => write!(f, "security group {id}"),
            RuleSource::PrefixList(id) => write!(f, "prefix list {id}"),
        }
    }
}

/// One ingress rule: a protocol, a port range and one source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    /// `tcp`, `udp`, `icmp`, a protocol number, or `-1` for every protocol.
    pub protocol: String,
    /// The first port (ICMP type); `None` for every protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    /// The last port (ICMP code); `None` for every protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    pub source: RuleSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl IngressRule {
    /// A rule in canonical form: with every protocol (`-1`) the ports mean nothing and are dropped, as AWS
    /// reports them differently from call to call.
    pub fn new(
        protocol: &str,
        from_port: Option<i32>,
        to_port: Option<i32>,
        source: RuleSource,
        description: Option<String>,
    ) -> IngressRule {
        let every_protocol = protocol == ALL_PROTOCOLS;
        IngressRule {
            protocol: protocol.to_owned(),
            from_port: from_port.filter(|_| !every_protocol),
            to_port: to_port.filter(|_| !every_protocol),
            source,
            description: description.filter(|text| !text.is_empty()),
        }
    }

    /// A TCP rule for one port.
    pub fn tcp(port: i32, source: RuleSource) -> IngressRule {
        IngressRule::new("tcp", Some(port), Some(port), source, None)
    }

    /// Whether this rule lets TCP traffic to `port` in from `source`.
    pub fn admits_tcp_port(&self, port: i32, source: &RuleSource) -> bool {
        &self.source == source
            && (self.protocol == ALL_PROTOCOLS
                || (matches!(self.protocol.as_str(), "tcp" | "6")
                    && self.from_port.is_some_and(|from| from <= port)
                    && self.to_port.is_some_and(|to| port <= to)))
    }

    /// Whether this is the same rule as `other`, whatever their descriptions: AWS identifies a rule by its
    /// protocol, ports and source.
    pub fn same_rule(&self, other: &IngressRule) -> bool {
        self.protocol == other.protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.source == other.source
    }
}

/// A security group's ingress rules, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupIngress {
    pub rules: BTreeSet<IngressRule>,
}

impl SecurityGroupIngress {
    /// A typical web tier: HTTPS from everywhere (IPv4 and IPv6), SSH and RDP from the corporate network,
    /// PostgreSQL from the application tier's group.
    pub fn example() -> SecurityGroupIngress {
        SecurityGroupIngress {
            rules: [
                IngressRule::tcp(443, RuleSource::Ipv4(ANY_IPV4.to_owned())),
                IngressRule::tcp(443, RuleSource::Ipv6(ANY_IPV6.to_owned())),
                IngressRule::new(
                    "tcp",
                    Some(22),
                    Some(22),
                    RuleSource::Ipv4("10.0.0.0/8".to_owned()),
                    Some("bastion network".to_owned()),
                ),
                IngressRule::tcp(3389, RuleSource::Ipv4("192.168.10.0/24".to_owned())),
                IngressRule::tcp(
                    5432,
                    RuleSource::SecurityGroup("sg-0123456789abcdef0".to_owned()),
                ),
            ]
            .into_iter()
            .collect(),
        }
    }

    /// The rules that are in `self` and not in `other`.
    pub fn rules_not_in<'a>(
        &'a self,
        other: &'a SecurityGroupIngress,
    ) -> impl Iterator<Item = &'a IngressRule> + 'a {
        self.rules.difference(&other.rules)
    }
}

impl FaultState for SecurityGroupIngress {}

/// One way of opening a security group to the internet: the rule a fault adds and what counts as exposed.
pub trait WorldExposure: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    /// The rule the fault authorizes.
    fn rule() -> IngressRule;
    /// Whether `rule` exposes what this fault exposes (the fault's own rule, or a broader one).
    fn exposes(rule: &IngressRule) -> bool;
}

/// A security group opened to the internet by one added ingress rule ([`WorldExposure`]). The revert revokes
/// only that rule (unless the group had it before); the remediation revokes every rule that exposes the same.
pub struct SecurityGroupOpenToWorld<E>(PhantomData<E>);

impl<E: WorldExposure> FaultSemantics for SecurityGroupOpenToWorld<E> {
    const ID: &'static str = E::ID;
    const PRESENT: &'static str = E::PRESENT;
    const ASPECT: &'static str = "ec2.security-group-ingress";
    type State = SecurityGroupIngress;

    fn is_present(ingress: &SecurityGroupIngress) -> bool {
        ingress.rules.iter().any(E::exposes)
    }

    fn inject(before: &SecurityGroupIngress) -> SecurityGroupIngress {
        let mut ingress = before.clone();
        ingress.rules.insert(E::rule());
        ingress
    }

    fn revert(
        current: &SecurityGroupIngress,
        before: &SecurityGroupIngress,
    ) -> SecurityGroupIngress {
        let injected = E::rule();
        let mut ingress = current.clone();
        ingress
            .rules
            .retain(|rule| !rule.same_rule(&injected) || before.rules.contains(rule));
        // A rule someone else added meanwhile that exposes the same is the misconfiguration too.
        if Self::is_present(&ingress) {
            Self::remediate(&ingress)
        } else {
            ingress
        }
    }

    fn remediate(current: &SecurityGroupIngress) -> SecurityGroupIngress {
        let mut ingress = current.clone();
        ingress.rules.retain(|rule| !E::exposes(rule));
        ingress
    }

    fn describe(before: &SecurityGroupIngress) -> String {
        let rule = E::rule();
        format!(
            "AuthorizeSecurityGroupIngress: allow protocol {} ports {} from {} beside the {} existing rule(s)",
            rule.protocol,
            match (rule.from_port, rule.to_port) {
                (Some(from), Some(to)) => format!("{from}-{to}"),
                _ => "all".to_owned(),
            },
            rule.source,
            before.rules.len()
        )
    }

    fn example() -> SecurityGroupIngress {
        SecurityGroupIngress::example()
    }
}

/// SSH (tcp/22) from every IPv4 address.
pub struct SshFromEverywhere;

impl WorldExposure for SshFromEverywhere {
    const ID: &'static str = "aws.ec2.security-group-ssh-open-to-world";
    const PRESENT: &'static str = "the security group admits SSH (tcp/22) from 0.0.0.0/0";
    fn rule() -> IngressRule {
        IngressRule::tcp(22, RuleSource::Ipv4(ANY_IPV4.to_owned()))
    }
    fn exposes(rule: &IngressRule) -> bool {
        rule.admits_tcp_port(22, &RuleSource::Ipv4(ANY_IPV4.to_owned()))
    }
}

/// RDP (tcp/3389) from every IPv4 address.
pub struct RdpFromEverywhere;

impl WorldExposure for RdpFromEverywhere {
    const ID: &'static str = "aws.ec2.security-group-rdp-open-to-world";
    const PRESENT: &'static str = "the security group admits RDP (tcp/3389) from 0.0.0.0/0";
    fn rule() -> IngressRule {
        IngressRule::tcp(3389, RuleSource::Ipv4(ANY_IPV4.to_owned()))
    }
    fn exposes(rule: &IngressRule) -> bool {
        rule.admits_tcp_port(3389, &RuleSource::Ipv4(ANY_IPV4.to_owned()))
    }
}

/// Every protocol and port from every IPv4 address.
pub struct AllTrafficFromEverywhereIpv4;

impl WorldExposure for AllTrafficFromEverywhereIpv4 {
    const ID: &'static str = "aws.ec2.security-group-all-ports-open-to-world";
    const PRESENT: &'static str = "the security group admits all traffic from 0.0.0.0/0";
    fn rule() -> IngressRule {
        IngressRule::new(
            ALL_PROTOCOLS,
            None,
            None,
            RuleSource::Ipv4(ANY_IPV4.to_owned()),
            None,
        )
    }
    fn exposes(rule: &IngressRule) -> bool {
        rule.same_rule(&Self::rule())
    }
}

/// Every protocol and port from every IPv6 address.
pub struct AllTrafficFromEverywhereIpv6;

impl WorldExposure for AllTrafficFromEverywhereIpv6 {
    const ID: &'static str = "aws.ec2.security-group-open-to-world-ipv6";
    const PRESENT: &'static str = "the security group admits all traffic from ::/0";
    fn rule() -> IngressRule {
        IngressRule::new(
            ALL_PROTOCOLS,
            None,
            None,
            RuleSource::Ipv6(ANY_IPV6.to_owned()),
            None,
        )
    }
    fn exposes(rule: &IngressRule) -> bool {
        rule.same_rule(&Self::rule())
    }
}

/// `aws.ec2.security-group-ssh-open-to-world`.
pub type SecurityGroupSshOpenToWorld = SecurityGroupOpenToWorld<SshFromEverywhere>;
/// `aws.ec2.security-group-rdp-open-to-world`.
pub type SecurityGroupRdpOpenToWorld = SecurityGroupOpenToWorld<RdpFromEverywhere>;
/// `aws.ec2.security-group-all-ports-open-to-world`.
pub type SecurityGroupAllPortsOpenToWorld = SecurityGroupOpenToWorld<AllTrafficFromEverywhereIpv4>;
/// `aws.ec2.security-group-open-to-world-ipv6`.
pub type SecurityGroupOpenToWorldIpv6 = SecurityGroupOpenToWorld<AllTrafficFromEverywhereIpv6>;

/// Who may use a snapshot (create volumes from it) or an image (launch it): permission groups (`all`) and
/// AWS account ids, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharePermissions {
    pub groups: BTreeSet<String>,
    pub user_ids: BTreeSet<String>,
}

impl SharePermissions {
    /// Shared with two accounts of the organization (backup and disaster recovery).
    pub fn example() -> SharePermissions {
        SharePermissions {
            groups: BTreeSet::new(),
            user_ids: ["111122223333", "444455556666"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    }

    pub fn is_public(&self) -> bool {
        self.groups.contains(PUBLIC_GROUP)
    }

    /// These permissions with the group `all` added; the account shares kept.
    pub fn with_public(&self) -> SharePermissions {
        let mut permissions = self.clone();
        permissions.groups.insert(PUBLIC_GROUP.to_owned());
        permissions
    }

    /// These permissions without the group `all`; the account shares kept.
    pub fn without_public(&self) -> SharePermissions {
        let mut permissions = self.clone();
        permissions.groups.remove(PUBLIC_GROUP);
        permissions
    }

    /// The revert of a "made public" fault: removes `all` unless it was there before, keeps the rest of now.
    fn reverted(current: &SharePermissions, before: &SharePermissions) -> SharePermissions {
        if before.is_public() {
            current.clone()
        } else {
            current.without_public()
        }
    }
}

impl FaultState for SharePermissions {}

/// What can be shared with the group `all`, as a "made public" fault targets it: snapshots and images.
pub trait ShareKind: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    const ASPECT: &'static str;
    /// The operation that changes the permission (`ModifySnapshotAttribute`).
    const MODIFY_OPERATION: &'static str;
    /// The permission attribute (`createVolumePermission`).
    const PERMISSION: &'static str;
}

/// The group `all` added to a snapshot's or an image's permission; the revert removes it unless it was there
/// before, keeping the rest of now.
pub struct MadePublic<K>(PhantomData<K>);

impl<K: ShareKind> FaultSemantics for MadePublic<K> {
    const ID: &'static str = K::ID;
    const PRESENT: &'static str = K::PRESENT;
    const ASPECT: &'static str = K::ASPECT;
    type State = SharePermissions;

    fn is_present(permissions: &SharePermissions) -> bool {
        permissions.is_public()
    }

    fn inject(before: &SharePermissions) -> SharePermissions {
        before.with_public()
    }

    fn revert(current: &SharePermissions, before: &SharePermissions) -> SharePermissions {
        SharePermissions::reverted(current, before)
    }

    fn remediate(current: &SharePermissions) -> SharePermissions {
        current.without_public()
    }

    fn describe(before: &SharePermissions) -> String {
        format!(
            "{}: add {} for group all beside the {} shared account(s)",
            K::MODIFY_OPERATION,
            K::PERMISSION,
            before.user_ids.len()
        )
    }

    fn example() -> SharePermissions {
        SharePermissions::example()
    }
}

/// EBS snapshots: who may create volumes from them.
pub struct SnapshotShare;
impl ShareKind for SnapshotShare {
    const ID: &'static str = "aws.ec2.snapshot-shared-publicly";
    const PRESENT: &'static str = "any AWS account may create volumes from the snapshot";
    const ASPECT: &'static str = "ec2.snapshot-create-volume-permission";
    const MODIFY_OPERATION: &'static str = "ModifySnapshotAttribute";
    const PERMISSION: &'static str = "createVolumePermission";
}
/// `aws.ec2.snapshot-shared-publicly`: the group `all` added to a snapshot's createVolumePermission.
pub type SnapshotSharedPublicly = MadePublic<SnapshotShare>;

/// AMIs: who may launch them.
pub struct ImageShare;
impl ShareKind for ImageShare {
    const ID: &'static str = "aws.ec2.image-made-public";
    const PRESENT: &'static str = "any AWS account may launch the image";
    const ASPECT: &'static str = "ec2.image-launch-permission";
    const MODIFY_OPERATION: &'static str = "ModifyImageAttribute";
    const PERMISSION: &'static str = "launchPermission";
}
/// `aws.ec2.image-made-public`: the group `all` added to an AMI's launchPermission.
pub type ImageMadePublic = MadePublic<ImageShare>;

/// How an instance's metadata service answers (DescribeInstances MetadataOptions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataOptions {
    /// `required` (IMDSv2 only: every request needs a session token) or `optional` (IMDSv1 accepted).
    pub http_tokens: String,
    /// `enabled` or `disabled`: whether the metadata service answers at all.
    pub http_endpoint: String,
    /// How many network hops a token response may travel (1 keeps it on the instance).
    pub http_put_response_hop_limit: i32,
    /// `enabled` or `disabled`: whether instance tags are readable from the metadata service.
    pub instance_metadata_tags: String,
}

impl FaultState for MetadataOptions {}

/// Session tokens are required: IMDSv2 only.
pub const TOKENS_REQUIRED: &str = "required";
/// Session tokens are optional: IMDSv1 accepted.
pub const TOKENS_OPTIONAL: &str = "optional";
const ENABLED: &str = "enabled";

/// `aws.ec2.instance-imdsv1-enabled`: the instance's metadata service accepts requests without a session token,
/// so a server-side request forgery on the instance reads its role's credentials.
pub struct InstanceImdsv1Enabled;

impl FaultSemantics for InstanceImdsv1Enabled {
    const ID: &'static str = "aws.ec2.instance-imdsv1-enabled";
    const PRESENT: &'static str = "the instance metadata service accepts IMDSv1 requests";
    const ASPECT: &'static str = "ec2.instance-metadata-options";
    type State = MetadataOptions;

    fn is_present(options: &MetadataOptions) -> bool {
        options.http_endpoint == ENABLED && options.http_tokens == TOKENS_OPTIONAL
    }

    /// A metadata service that is off cannot answer IMDSv1: turning it on as well would be a second change.
    fn precondition(before: &MetadataOptions) -> Option<String> {
        (before.http_endpoint != ENABLED).then(|| {
            format!(
                "the instance's metadata service is {}: there is no IMDSv2 to weaken",
                before.http_endpoint
            )
        })
    }

    fn inject(before: &MetadataOptions) -> MetadataOptions {
        MetadataOptions {
            http_tokens: TOKENS_OPTIONAL.to_owned(),
            ..before.clone()
        }
    }

    fn remediate(current: &MetadataOptions) -> MetadataOptions {
        MetadataOptions {
            http_tokens: TOKENS_REQUIRED.to_owned(),
            ..current.clone()
        }
    }

    fn describe(before: &MetadataOptions) -> String {
        format!(
            "ModifyInstanceMetadataOptions: HttpTokens {} -> optional (hop limit {} kept)",
            before.http_tokens, before.http_put_response_hop_limit
        )
    }

    /// IMDSv2 only, a hop limit of 2 (containers on the instance), instance tags readable.
    fn example() -> MetadataOptions {
        MetadataOptions {
            http_tokens: TOKENS_REQUIRED.to_owned(),
            http_endpoint: ENABLED.to_owned(),
            http_put_response_hop_limit: 2,
            instance_metadata_tags: ENABLED.to_owned(),
        }
    }
}

/// Instances launched in the subnet get no public IPv4 address unless asked for (MapPublicIpOnLaunch off).
pub struct SubnetPrivateOnLaunch;

impl Protection for SubnetPrivateOnLaunch {
    const ID: &'static str = "aws.ec2.subnet-public-ip-on-launch-enabled";
    const PRESENT: &'static str =
        "the subnet gives every instance launched in it a public IPv4 address";
    const ASPECT: &'static str = "ec2.subnet-private-on-launch";
    const OPERATION: &'static str = "ModifySubnetAttribute: MapPublicIpOnLaunch true";
}

/// `aws.ec2.subnet-public-ip-on-launch-enabled`: the protection switched off is the subnet's keeping
/// instances private; its state is `enabled` while MapPublicIpOnLaunch is false.
pub type SubnetPublicIpOnLaunchEnabled = SwitchedOff<SubnetPrivateOnLaunch>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_range_or_all_traffic_from_everywhere_counts_as_ssh_exposure() {
        let world = RuleSource::Ipv4(ANY_IPV4.to_owned());
        let range = IngressRule::new("tcp", Some(0), Some(1024), world.clone(), None);
        assert!(SshFromEverywhere::exposes(&range));
        assert!(!RdpFromEverywhere::exposes(&range));
        let everything = IngressRule::new(ALL_PROTOCOLS, Some(-1), Some(-1), world, None);
        assert_eq!(everything.from_port, None, "ports dropped for -1");
        assert!(SshFromEverywhere::exposes(&everything));
        let udp = IngressRule::new(
            "udp",
            Some(22),
            Some(22),
            RuleSource::Ipv4(ANY_IPV4.to_owned()),
            None,
        );
        assert!(!SshFromEverywhere::exposes(&udp));
        let corporate = IngressRule::tcp(22, RuleSource::Ipv4("10.0.0.0/8".to_owned()));
        assert!(!SshFromEverywhere::exposes(&corporate));
    }

    #[test]
    fn the_revert_revokes_only_the_injected_rule() {
        let before = SecurityGroupIngress::example();
        let mut current = SecurityGroupSshOpenToWorld::inject(&before);
        let added_meanwhile = IngressRule::tcp(8080, RuleSource::Ipv4("10.1.0.0/16".to_owned()));
        current.rules.insert(added_meanwhile.clone());
        let reverted = SecurityGroupSshOpenToWorld::revert(&current, &before);
        assert!(!SecurityGroupSshOpenToWorld::is_present(&reverted));
        assert!(reverted.rules.contains(&added_meanwhile));
        assert_eq!(reverted.rules.len(), before.rules.len() + 1);
    }

    #[test]
    fn the_revert_also_removes_a_broader_exposure_added_meanwhile() {
        let before = SecurityGroupIngress::example();
        let mut current = SecurityGroupSshOpenToWorld::inject(&before);
        current.rules.insert(IngressRule::new(
            "tcp",
            Some(0),
            Some(1024),
            RuleSource::Ipv4(ANY_IPV4.to_owned()),
            None,
        ));
        let reverted = SecurityGroupSshOpenToWorld::revert(&current, &before);
        assert!(!SecurityGroupSshOpenToWorld::is_present(&reverted));
        assert_eq!(reverted, before);
    }

    #[test]
    fn making_public_keeps_account_shares() {
        let before = SharePermissions::example();
        let public = SnapshotSharedPublicly::inject(&before);
        assert!(public.is_public());
        assert_eq!(public.user_ids, before.user_ids);
        assert_eq!(ImageMadePublic::remediate(&public), before);
    }
}
