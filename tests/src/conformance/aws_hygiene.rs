//! Hygiene and resilience cases: the account's password policy and EBS encryption default (settings of the
//! account, opted in through its marker), an instance's metadata service, a subnet's public addresses, a
//! bucket's Object Lock retention and a key's state, each read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, HttpTokensState, InstanceMetadataEndpointState,
    InstanceMetadataOptionsRequest, InstanceMetadataTagsState, ResourceType,
};
use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule,
};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use super::aws_ec2::{ec2_ref, target_tags};
use super::aws_kms::prepare_key;
use crate::aws::{Clients, REGION};

/// moto's account.
const ACCOUNT: &str = "123456789012";

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![
        Box::new(PasswordPolicyWeakened),
        Box::new(EbsEncryptionByDefaultDisabled),
        Box::new(InstanceImdsv1Enabled),
        Box::new(SubnetPublicIpOnLaunch),
        Box::new(ObjectLockRetentionShortened),
        Box::new(KeyStateCase {
            fault_id: "aws.kms.key-disabled",
            misconfigured_state: "Disabled",
        }),
        Box::new(KeyStateCase {
            fault_id: "aws.kms.key-scheduled-for-deletion",
            misconfigured_state: "PendingDeletion",
        }),
    ]
}

/// An account-level setting as rdfi's discovery names it, carrying the marker's opt-in tag.
fn account_setting(resource_type: &str, name: &str, id: String, region: &str) -> ResourceRef {
    ResourceRef {
        provider: "aws".to_owned(),
        resource_type: resource_type.to_owned(),
        id,
        name: name.to_owned(),
        region: region.to_owned(),
        tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
        exposure: String::new(),
    }
}

struct PasswordPolicyWeakened;

#[async_trait]
impl AwsCase for PasswordPolicyWeakened {
    fn fault_id(&self) -> &'static str {
        "aws.iam.account-password-policy-weakened"
    }

    /// 16 characters, every class, 24 remembered passwords, yearly expiry users may change themselves.
    async fn prepare(&self, aws: &Clients, _name: &str) -> ResourceRef {
        aws.opt_in_account().await;
        aws.iam
            .update_account_password_policy()
            .minimum_password_length(16)
            .require_symbols(true)
            .require_numbers(true)
            .require_uppercase_characters(true)
            .require_lowercase_characters(true)
            .allow_users_to_change_password(true)
            .max_password_age(365)
            .password_reuse_prevention(24)
            .hard_expiry(false)
            .send()
            .await
            .expect("UpdateAccountPasswordPolicy");
        account_setting(
            "aws.iam.account-password-policy",
            "account-password-policy",
            format!("arn:aws:iam::{ACCOUNT}:account-password-policy"),
            "",
        )
    }

    async fn read(&self, aws: &Clients, _resource: &ResourceRef) -> Value {
        let answer = aws
            .iam
            .get_account_password_policy()
            .send()
            .await
            .expect("GetAccountPasswordPolicy");
        let policy = answer.password_policy().expect("a password policy");
        json!({
            "minimum_length": policy.minimum_password_length(),
            "symbols": policy.require_symbols(),
            "numbers": policy.require_numbers(),
            "uppercase": policy.require_uppercase_characters(),
            "lowercase": policy.require_lowercase_characters(),
            "users_change": policy.allow_users_to_change_password(),
            "max_age": policy.max_password_age(),
            "reuse_prevention": policy.password_reuse_prevention(),
            "hard_expiry": policy.hard_expiry(),
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["minimum_length"]
            .as_i64()
            .is_some_and(|length| length <= 6)
            && ["symbols", "numbers", "uppercase", "lowercase"]
                .iter()
                .all(|class| read[class] == false)
    }

    /// Someone shortens the expiry to 90 days, writing every other rule as they read it.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let now = self.read(aws, resource).await;
        let flag = |key: &str| now[key].as_bool().unwrap_or(false);
        let number = |key: &str| now[key].as_i64().map(|value| value as i32);
        aws.iam
            .update_account_password_policy()
            .set_minimum_password_length(number("minimum_length"))
            .require_symbols(flag("symbols"))
            .require_numbers(flag("numbers"))
            .require_uppercase_characters(flag("uppercase"))
            .require_lowercase_characters(flag("lowercase"))
            .allow_users_to_change_password(flag("users_change"))
            .max_password_age(90)
            .set_password_reuse_prevention(number("reuse_prevention"))
            .hard_expiry(flag("hard_expiry"))
            .send()
            .await
            .expect("UpdateAccountPasswordPolicy meanwhile");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["max_age"] == 90 && read["minimum_length"] == 16
    }
}

struct EbsEncryptionByDefaultDisabled;

#[async_trait]
impl AwsCase for EbsEncryptionByDefaultDisabled {
    fn fault_id(&self) -> &'static str {
        "aws.ec2.ebs-encryption-by-default-disabled"
    }

    async fn prepare(&self, aws: &Clients, _name: &str) -> ResourceRef {
        aws.opt_in_account().await;
        aws.ec2
            .enable_ebs_encryption_by_default()
            .send()
            .await
            .expect("EnableEbsEncryptionByDefault");
        account_setting(
            "aws.ec2.ebs-encryption-default",
            "ebs-encryption-by-default",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:ebs-encryption-by-default"),
            REGION,
        )
    }

    async fn read(&self, aws: &Clients, _resource: &ResourceRef) -> Value {
        let answer = aws
            .ec2
            .get_ebs_encryption_by_default()
            .send()
            .await
            .expect("GetEbsEncryptionByDefault");
        json!({ "encrypted_by_default": answer.ebs_encryption_by_default() })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["encrypted_by_default"] == false
    }
}

struct InstanceImdsv1Enabled;

#[async_trait]
impl AwsCase for InstanceImdsv1Enabled {
    fn fault_id(&self) -> &'static str {
        "aws.ec2.instance-imdsv1-enabled"
    }

    /// A tagged instance requiring IMDSv2, with a hop limit of 2 and its tags readable from the metadata
    /// service.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let image = aws
            .ec2
            .register_image()
            .name(format!("{name}-base"))
            .send()
            .await
            .expect("RegisterImage");
        let launched = aws
            .ec2
            .run_instances()
            .image_id(image.image_id().expect("an image id"))
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .metadata_options(
                InstanceMetadataOptionsRequest::builder()
                    .http_tokens(HttpTokensState::Required)
                    .http_endpoint(InstanceMetadataEndpointState::Enabled)
                    .http_put_response_hop_limit(2)
                    .instance_metadata_tags(InstanceMetadataTagsState::Enabled)
                    .build(),
            )
            .tag_specifications(target_tags(ResourceType::Instance, name))
            .send()
            .await
            .expect("RunInstances");
        let instance = launched.instances().first().expect("an instance");
        let instance_id = instance.instance_id().expect("an instance id");
        ec2_ref(
            "aws.ec2.instance",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"),
            instance_id,
        )
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let answer = aws
            .ec2
            .describe_instances()
            .instance_ids(&resource.name)
            .send()
            .await
            .expect("DescribeInstances");
        let options = answer
            .reservations()
            .iter()
            .flat_map(|reservation| reservation.instances())
            .find_map(|instance| instance.metadata_options())
            .expect("metadata options");
        json!({
            "tokens": options.http_tokens().map(HttpTokensState::as_str),
            "endpoint": options.http_endpoint().map(InstanceMetadataEndpointState::as_str),
            "hop_limit": options.http_put_response_hop_limit(),
            "tags": options.instance_metadata_tags().map(InstanceMetadataTagsState::as_str),
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["tokens"] == "optional" && read["endpoint"] == "enabled"
    }

    /// Someone raises the hop limit to 3 for a container runtime. Every other option is sent as read: moto
    /// resets the options a ModifyInstanceMetadataOptions leaves out (AWS keeps them).
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let now = self.read(aws, resource).await;
        let option = |key: &str| now[key].as_str().unwrap_or_default().to_owned();
        aws.ec2
            .modify_instance_metadata_options()
            .instance_id(&resource.name)
            .http_tokens(HttpTokensState::from(option("tokens").as_str()))
            .http_endpoint(InstanceMetadataEndpointState::from(
                option("endpoint").as_str(),
            ))
            .instance_metadata_tags(InstanceMetadataTagsState::from(option("tags").as_str()))
            .http_put_response_hop_limit(3)
            .send()
            .await
            .expect("ModifyInstanceMetadataOptions meanwhile");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["hop_limit"] == 3 && read["tags"] == "enabled"
    }
}

struct SubnetPublicIpOnLaunch;

#[async_trait]
impl AwsCase for SubnetPublicIpOnLaunch {
    fn fault_id(&self) -> &'static str {
        "aws.ec2.subnet-public-ip-on-launch-enabled"
    }

    /// A tagged private subnet of a new VPC that assigns IPv6 addresses on creation (a setting beside the
    /// fault's).
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let vpc = aws
            .ec2
            .create_vpc()
            .cidr_block("10.1.0.0/16")
            .send()
            .await
            .expect("CreateVpc");
        let vpc_id = vpc.vpc().and_then(|vpc| vpc.vpc_id()).expect("a vpc id");
        let subnet = aws
            .ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block("10.1.1.0/24")
            .tag_specifications(target_tags(ResourceType::Subnet, name))
            .send()
            .await
            .expect("CreateSubnet");
        let subnet_id = subnet
            .subnet()
            .and_then(|subnet| subnet.subnet_id())
            .expect("a subnet id");
        ec2_ref(
            "aws.ec2.subnet",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{subnet_id}"),
            subnet_id,
        )
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let answer = aws
            .ec2
            .describe_subnets()
            .subnet_ids(&resource.name)
            .send()
            .await
            .expect("DescribeSubnets");
        let subnet = answer.subnets().first().expect("the subnet");
        json!({
            "public_ip_on_launch": subnet.map_public_ip_on_launch(),
            "ipv6_on_creation": subnet.assign_ipv6_address_on_creation(),
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["public_ip_on_launch"] == true
    }

    /// Someone turns on IPv6 addresses on creation.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        aws.ec2
            .modify_subnet_attribute()
            .subnet_id(&resource.name)
            .assign_ipv6_address_on_creation(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .expect("ModifySubnetAttribute meanwhile");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["ipv6_on_creation"] == true
    }
}

struct ObjectLockRetentionShortened;

/// A default retention, in the form the case reads and writes.
fn retention(mode: ObjectLockRetentionMode, years: i32) -> ObjectLockConfiguration {
    ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .rule(
            ObjectLockRule::builder()
                .default_retention(DefaultRetention::builder().mode(mode).years(years).build())
                .build(),
        )
        .build()
}

#[async_trait]
impl AwsCase for ObjectLockRetentionShortened {
    fn fault_id(&self) -> &'static str {
        "aws.s3.bucket-object-lock-retention-shortened"
    }

    /// A tagged bucket created with Object Lock, keeping every object version for a year in compliance mode.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let bucket = format!("{name}-locked");
        aws.s3
            .create_bucket()
            .bucket(&bucket)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .expect("CreateBucket with Object Lock");
        aws.s3
            .put_bucket_tagging()
            .bucket(&bucket)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(
                        aws_sdk_s3::types::Tag::builder()
                            .key("rdfi-target")
                            .value("true")
                            .build()
                            .expect("a tag"),
                    )
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await
            .expect("PutBucketTagging");
        aws.s3
            .put_object_lock_configuration()
            .bucket(&bucket)
            .object_lock_configuration(retention(ObjectLockRetentionMode::Compliance, 1))
            .send()
            .await
            .expect("PutObjectLockConfiguration");
        rdfi_provider::aws::bucket_ref(
            "aws",
            &bucket,
            REGION,
            [("rdfi-target".to_owned(), "true".to_owned())].into(),
        )
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let answer = aws
            .s3
            .get_object_lock_configuration()
            .bucket(&resource.name)
            .send()
            .await
            .expect("GetObjectLockConfiguration");
        let retention = answer
            .object_lock_configuration()
            .and_then(|configuration| configuration.rule())
            .and_then(|rule| rule.default_retention());
        json!({
            "mode": retention.and_then(|r| r.mode()).map(ObjectLockRetentionMode::as_str),
            // moto answers 0 for the period not set; S3 sends only the one set.
            "days": retention.and_then(|r| r.days()).filter(|days| *days > 0),
            "years": retention.and_then(|r| r.years()).filter(|years| *years > 0),
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["days"].as_i64().is_some_and(|days| days < 7) && read["years"].is_null()
    }

    /// Someone moves the bucket to governance mode (keeping the fault's one day).
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        aws.s3
            .put_object_lock_configuration()
            .bucket(&resource.name)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::Governance)
                                    .days(1)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("PutObjectLockConfiguration meanwhile");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["mode"] == "GOVERNANCE" && read["years"] == 1
    }
}

/// A key's state faults: misconfigured while the key is in `misconfigured_state`.
struct KeyStateCase {
    fault_id: &'static str,
    misconfigured_state: &'static str,
}

#[async_trait]
impl AwsCase for KeyStateCase {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_key(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let described = aws
            .kms
            .describe_key()
            .key_id(&resource.name)
            .send()
            .await
            .expect("DescribeKey");
        let metadata = described.key_metadata().expect("key metadata");
        json!({
            "state": metadata.key_state().map(|state| state.as_str().to_owned()),
            "description": metadata.description(),
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["state"] == self.misconfigured_state
    }

    /// Someone notes on the key why it is off (KMS takes a description change of a disabled key or one pending
    /// deletion).
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        aws.kms
            .update_key_description()
            .key_id(&resource.name)
            .description("disabled pending incident review")
            .send()
            .await
            .expect("UpdateKeyDescription meanwhile");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["description"] == "disabled pending incident review"
    }
}
