//! EC2 conformance cases: a VPC security group with several ingress rules, a snapshot and an image already
//! shared with two accounts.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    CreateVolumePermission, ImageAttributeName, IpPermission, IpRange, Ipv6Range, LaunchPermission,
    LaunchPermissionModifications, OperationType, PermissionGroup, ResourceType,
    SnapshotAttributeName, Tag, TagSpecification, UserIdGroupPair,
};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

/// The accounts the prepared snapshot and image are already shared with.
const SHARED_WITH_ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![
        Box::new(SecurityGroupOpenToWorld {
            fault_id: "aws.ec2.security-group-ssh-open-to-world",
            exposed_rule: "tcp 22-22 from 0.0.0.0/0",
        }),
        Box::new(SecurityGroupOpenToWorld {
            fault_id: "aws.ec2.security-group-rdp-open-to-world",
            exposed_rule: "tcp 3389-3389 from 0.0.0.0/0",
        }),
        Box::new(SecurityGroupOpenToWorld {
            fault_id: "aws.ec2.security-group-all-ports-open-to-world",
            exposed_rule: "-1 all from 0.0.0.0/0",
        }),
        Box::new(SecurityGroupOpenToWorld {
            fault_id: "aws.ec2.security-group-open-to-world-ipv6",
            exposed_rule: "-1 all from ::/0",
        }),
        Box::new(SnapshotSharedPublicly),
        Box::new(ImageMadePublic),
    ]
}

/// The tags every prepared resource carries, as an EC2 tag specification.
pub(super) fn target_tags(resource_type: ResourceType, name: &str) -> TagSpecification {
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build();
    TagSpecification::builder()
        .resource_type(resource_type)
        .tags(tag("rdfi-target", "true"))
        .tags(tag("team", "conformance"))
        .tags(tag("Name", name))
        .build()
}

/// A resource reference as rdfi's EC2 discovery names it: the ARN as id, the EC2 id as name.
pub(super) fn ec2_ref(resource_type: &str, arn: String, ec2_id: &str) -> ResourceRef {
    ResourceRef {
        provider: "aws".to_owned(),
        resource_type: resource_type.to_owned(),
        id: arn,
        name: ec2_id.to_owned(),
        region: REGION.to_owned(),
        tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
        exposure: String::new(),
    }
}

/// A TCP rule for one port from an IPv4 CIDR.
fn tcp_from_cidr(port: i32, cidr: &str, description: Option<&str>) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description.map(str::to_owned))
                .build(),
        )
        .build()
}

/// A tagged security group in a new VPC with HTTPS from everywhere (IPv4 and IPv6), SSH from 10.0.0.0/8,
/// RDP from one /24 and PostgreSQL from an application group.
pub async fn prepare_security_group(aws: &Clients, name: &str) -> ResourceRef {
    let vpc = aws
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("CreateVpc");
    let vpc_id = vpc.vpc().and_then(|vpc| vpc.vpc_id()).expect("a vpc id");
    let application = aws
        .ec2
        .create_security_group()
        .group_name(format!("{name}-application"))
        .description("application tier")
        .vpc_id(vpc_id)
        .send()
        .await
        .expect("CreateSecurityGroup application");
    let application_id = application.group_id().expect("a group id");
    let group = aws
        .ec2
        .create_security_group()
        .group_name(name)
        .description("conformance web tier")
        .vpc_id(vpc_id)
        .tag_specifications(target_tags(ResourceType::SecurityGroup, name))
        .send()
        .await
        .expect("CreateSecurityGroup");
    let group_id = group.group_id().expect("a group id");
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(tcp_from_cidr(443, "0.0.0.0/0", Some("public https")))
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        )
        .ip_permissions(tcp_from_cidr(22, "10.0.0.0/8", Some("bastion network")))
        .ip_permissions(tcp_from_cidr(3389, "192.168.10.0/24", None))
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(application_id).build())
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    let owner = aws
        .ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .first()
        .and_then(|group| group.owner_id().map(str::to_owned))
        .expect("an owner id");
    ec2_ref(
        "aws.ec2.security-group",
        format!("arn:aws:ec2:{REGION}:{owner}:security-group/{group_id}"),
        group_id,
    )
}

/// The group's ingress rules as sorted lines, one per source: `tcp 22-22 from 10.0.0.0/8 (bastion network)`,
/// `-1 all from ::/0`.
pub async fn ingress_lines(aws: &Clients, group_id: &str) -> Vec<String> {
    let output = aws
        .ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .expect("DescribeSecurityGroups");
    let group = output.security_groups().first().expect("the group");
    let mut lines = Vec::new();
    for permission in group.ip_permissions() {
        let protocol = permission.ip_protocol().unwrap_or("-1");
        let ports = if protocol == "-1" {
            "all".to_owned()
        } else {
            format!(
                "{}-{}",
                permission.from_port().unwrap_or_default(),
                permission.to_port().unwrap_or_default()
            )
        };
        let sources = permission
            .ip_ranges()
            .iter()
            .map(|range| (range.cidr_ip(), range.description()))
            .chain(
                permission
                    .ipv6_ranges()
                    .iter()
                    .map(|range| (range.cidr_ipv6(), range.description())),
            )
            .chain(
                permission
                    .user_id_group_pairs()
                    .iter()
                    .map(|pair| (pair.group_id(), pair.description())),
            )
            .chain(
                permission
                    .prefix_list_ids()
                    .iter()
                    .map(|list| (list.prefix_list_id(), list.description())),
            );
        for (source, description) in sources {
            lines.push(format!(
                "{protocol} {ports} from {} ({})",
                source.unwrap_or_default(),
                description.unwrap_or_default()
            ));
        }
    }
    lines.sort();
    lines
}

/// A security group fault: the independent read must show `exposed_rule` after the injection.
struct SecurityGroupOpenToWorld {
    fault_id: &'static str,
    /// The start of the ingress line the fault adds (see [`ingress_lines`]).
    exposed_rule: &'static str,
}

#[async_trait]
impl AwsCase for SecurityGroupOpenToWorld {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_security_group(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!(ingress_lines(aws, &resource.name).await)
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read.as_array().is_some_and(|lines| {
            lines.iter().any(|line| {
                line.as_str()
                    .is_some_and(|line| line.starts_with(self.exposed_rule))
            })
        })
    }
}

/// Sharing lines of a snapshot or an image: `group all`, `account 111122223333`, sorted.
fn sharing_lines<'a>(
    entries: impl Iterator<Item = (Option<&'a PermissionGroup>, Option<&'a str>)>,
) -> Value {
    let mut lines: Vec<String> = entries
        .flat_map(|(group, user_id)| {
            group
                .map(|group| format!("group {}", group.as_str()))
                .into_iter()
                .chain(user_id.map(|user_id| format!("account {user_id}")))
        })
        .collect();
    lines.sort();
    json!(lines)
}

fn shared_with_everyone(read: &Value) -> bool {
    read.as_array()
        .is_some_and(|lines| lines.iter().any(|line| line == "group all"))
}

/// A tagged snapshot of a new volume, already shared with two accounts.
pub async fn prepare_snapshot(aws: &Clients, name: &str) -> ResourceRef {
    let volume = aws
        .ec2
        .create_volume()
        .availability_zone(format!("{REGION}a"))
        .size(8)
        .send()
        .await
        .expect("CreateVolume");
    let snapshot = aws
        .ec2
        .create_snapshot()
        .volume_id(volume.volume_id().expect("a volume id"))
        .description(format!("{name} nightly backup"))
        .tag_specifications(target_tags(ResourceType::Snapshot, name))
        .send()
        .await
        .expect("CreateSnapshot");
    let snapshot_id = snapshot.snapshot_id().expect("a snapshot id");
    // The flat UserIds form: moto ignores the structured CreateVolumePermission form.
    let mut share = aws
        .ec2
        .modify_snapshot_attribute()
        .snapshot_id(snapshot_id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add);
    for account in SHARED_WITH_ACCOUNTS {
        share = share.user_ids(account);
    }
    share.send().await.expect("ModifySnapshotAttribute");
    ec2_ref(
        "aws.ec2.snapshot",
        format!("arn:aws:ec2:{REGION}::snapshot/{snapshot_id}"),
        snapshot_id,
    )
}

struct SnapshotSharedPublicly;

#[async_trait]
impl AwsCase for SnapshotSharedPublicly {
    fn fault_id(&self) -> &'static str {
        "aws.ec2.snapshot-shared-publicly"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_snapshot(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let output = aws
            .ec2
            .describe_snapshot_attribute()
            .snapshot_id(&resource.name)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .expect("DescribeSnapshotAttribute");
        sharing_lines(
            output
                .create_volume_permissions()
                .iter()
                .map(|permission: &CreateVolumePermission| {
                    (permission.group(), permission.user_id())
                }),
        )
    }

    fn misconfigured(&self, read: &Value) -> bool {
        shared_with_everyone(read)
    }
}

/// A tagged, registered image, already shared with two accounts.
pub async fn prepare_image(aws: &Clients, name: &str) -> ResourceRef {
    let image = aws
        .ec2
        .register_image()
        .name(format!("{name}-golden-image"))
        .description("conformance golden image")
        .send()
        .await
        .expect("RegisterImage");
    let image_id = image.image_id().expect("an image id");
    aws.ec2
        .create_tags()
        .resources(image_id)
        .set_tags(Some(target_tags(ResourceType::Image, name).tags().to_vec()))
        .send()
        .await
        .expect("CreateTags");
    let mut shares = LaunchPermissionModifications::builder();
    for account in SHARED_WITH_ACCOUNTS {
        shares = shares.add(LaunchPermission::builder().user_id(account).build());
    }
    aws.ec2
        .modify_image_attribute()
        .image_id(image_id)
        .launch_permission(shares.build())
        .send()
        .await
        .expect("ModifyImageAttribute");
    ec2_ref(
        "aws.ec2.image",
        format!("arn:aws:ec2:{REGION}::image/{image_id}"),
        image_id,
    )
}

struct ImageMadePublic;

#[async_trait]
impl AwsCase for ImageMadePublic {
    fn fault_id(&self) -> &'static str {
        "aws.ec2.image-made-public"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_image(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let output = aws
            .ec2
            .describe_image_attribute()
            .image_id(&resource.name)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .expect("DescribeImageAttribute");
        sharing_lines(
            output
                .launch_permissions()
                .iter()
                .map(|permission| (permission.group(), permission.user_id())),
        )
    }

    fn misconfigured(&self, read: &Value) -> bool {
        shared_with_everyone(read)
    }
}

#[cfg(test)]
mod tests {
    use rdfi_provider::Provider;
    use rdfi_provider::aws::AwsProvider;

    use super::*;
    use crate::MotoServer;
    use crate::aws::{clients, sdk_config};

    /// rdfi's EC2 discovery finds every prepared security group, snapshot and image under the id and name the
    /// cases give them, with their tags, and a fresh tag read agrees.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn discovery_finds_every_prepared_resource_with_its_tags() {
        let moto = MotoServer::start();
        let aws = clients(&moto.endpoint).await;
        let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
        let prepared = [
            prepare_security_group(&aws, "discovered-group").await,
            prepare_snapshot(&aws, "discovered-snapshot").await,
            prepare_image(&aws, "discovered-image").await,
        ];
        for resource in prepared {
            let discovered = provider
                .discover(&resource.resource_type)
                .await
                .expect("discover");
            let found = discovered
                .iter()
                .find(|candidate| candidate.id == resource.id)
                .unwrap_or_else(|| panic!("{} among {discovered:?}", resource.id));
            assert_eq!(found.name, resource.name);
            assert_eq!(
                found.tags.get("team").map(String::as_str),
                Some("conformance")
            );
            let tags = provider.tags(&resource).await.expect("tags");
            assert_eq!(tags.get("rdfi-target").map(String::as_str), Some("true"));
            assert_eq!(tags.len(), found.tags.len());
        }
    }
}
