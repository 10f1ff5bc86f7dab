//! The AWS SDK against moto: clients with test credentials, and the resources tests start from.

use aws_config::BehaviorVersion;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketLocationConstraint, CreateBucketConfiguration, Grant, Grantee,
    Owner, Permission, Tag, Tagging, Type,
};

pub const REGION: &str = "us-east-1";
/// A canonical user id that is not the bucket owner, for non-trivial ACLs.
pub const PARTNER_CANONICAL_ID: &str =
    "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// The SDK configuration for a moto endpoint, with test credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    sdk_config_as(endpoint, "testing", "testing").await
}

/// The SDK configuration for a moto endpoint, as the identity owning this access key.
pub async fn sdk_config_as(
    endpoint: &str,
    access_key_id: &str,
    secret: &str,
) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            access_key_id,
            secret,
            None,
            None,
            "rdfi-tests",
        ))
        .load()
        .await
}

#[derive(Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub kms: aws_sdk_kms::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub rds: aws_sdk_rds::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub guardduty: aws_sdk_guardduty::Client,
    pub config: aws_sdk_config::Client,
}

pub async fn clients(endpoint: &str) -> Clients {
    clients_of(&sdk_config(endpoint).await)
}

/// Clients acting as the identity owning this access key.
pub async fn clients_as(endpoint: &str, access_key_id: &str, secret: &str) -> Clients {
    clients_of(&sdk_config_as(endpoint, access_key_id, secret).await)
}

fn clients_of(config: &aws_config::SdkConfig) -> Clients {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    Clients {
        s3,
        iam: aws_sdk_iam::Client::new(config),
        ec2: aws_sdk_ec2::Client::new(config),
        cloudtrail: aws_sdk_cloudtrail::Client::new(config),
        kms: aws_sdk_kms::Client::new(config),
        sqs: aws_sdk_sqs::Client::new(config),
        sns: aws_sdk_sns::Client::new(config),
        secretsmanager: aws_sdk_secretsmanager::Client::new(config),
        ecr: aws_sdk_ecr::Client::new(config),
        lambda: aws_sdk_lambda::Client::new(config),
        rds: aws_sdk_rds::Client::new(config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        logs: aws_sdk_cloudwatchlogs::Client::new(config),
        guardduty: aws_sdk_guardduty::Client::new(config),
        config: aws_sdk_config::Client::new(config),
    }
}

/// One grant (of an ACL or of access logging) as a `type id uri -> permission` line.
pub fn grant_line(grantee: Option<&Grantee>, permission: Option<&str>) -> String {
    let grantee = grantee.expect("a grantee");
    format!(
        "{} {} {} -> {}",
        grantee.r#type().as_str(),
        grantee.id().unwrap_or_default(),
        grantee.uri().unwrap_or_default(),
        permission.unwrap_or_default()
    )
}

/// An ACL (bucket or object) as sorted (grantee, permission) lines and an owner line.
fn acl_lines_of(owner: Option<&Owner>, grants: &[Grant]) -> Vec<String> {
    let mut lines: Vec<String> = grants
        .iter()
        .map(|grant| grant_line(grant.grantee(), grant.permission().map(|p| p.as_str())))
        .collect();
    lines.push(format!(
        "owner {}",
        owner.and_then(|o| o.id()).unwrap_or_default()
    ));
    lines.sort();
    lines
}

/// Attached policy ARNs and inline policy names (as `inline:name`), sorted.
fn policy_lines(
    attached: &[aws_sdk_iam::types::AttachedPolicy],
    inline_names: &[String],
) -> Vec<String> {
    let mut policies: Vec<String> = attached
        .iter()
        .filter_map(|policy| policy.policy_arn().map(str::to_owned))
        .chain(inline_names.iter().map(|name| format!("inline:{name}")))
        .collect();
    policies.sort();
    policies
}

fn grant(grantee: Grantee, permission: Permission) -> Grant {
    Grant::builder()
        .grantee(grantee)
        .permission(permission)
        .build()
}

impl Clients {
    /// A bucket with tags and a non-trivial ACL: the owner's FULL_CONTROL, READ and READ_ACP for a partner
    /// account, WRITE and READ_ACP for S3 log delivery.
    pub async fn create_bucket(&self, name: &str, tags: &[(&str, &str)]) {
        let mut create = self.s3.create_bucket().bucket(name);
        if REGION != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(REGION))
                    .build(),
            );
        }
        create.send().await.expect("CreateBucket");
        if !tags.is_empty() {
            let tag_set = tags
                .iter()
                .map(|(key, value)| {
                    Tag::builder()
                        .key(*key)
                        .value(*value)
                        .build()
                        .expect("a tag")
                })
                .collect();
            self.s3
                .put_bucket_tagging()
                .bucket(name)
                .tagging(
                    Tagging::builder()
                        .set_tag_set(Some(tag_set))
                        .build()
                        .expect("tagging"),
                )
                .send()
                .await
                .expect("PutBucketTagging");
        }
        let acl = self.bucket_acl(name).await;
        let owner = acl.owner().cloned().expect("an owner");
        let owner_id = owner.id().expect("an owner id").to_owned();
        let canonical = |id: &str| {
            Grantee::builder()
                .r#type(Type::CanonicalUser)
                .id(id)
                .build()
                .expect("a grantee")
        };
        let log_delivery = || {
            Grantee::builder()
                .r#type(Type::Group)
                .uri(LOG_DELIVERY_URI)
                .build()
                .expect("a grantee")
        };
        let policy = AccessControlPolicy::builder()
            .owner(
                Owner::builder()
                    .id(&owner_id)
                    .set_display_name(owner.display_name().map(str::to_owned))
                    .build(),
            )
            .grants(grant(canonical(&owner_id), Permission::FullControl))
            .grants(grant(canonical(PARTNER_CANONICAL_ID), Permission::Read))
            .grants(grant(canonical(PARTNER_CANONICAL_ID), Permission::ReadAcp))
            .grants(grant(log_delivery(), Permission::Write))
            .grants(grant(log_delivery(), Permission::ReadAcp))
            .build();
        self.s3
            .put_bucket_acl()
            .bucket(name)
            .access_control_policy(policy)
            .send()
            .await
            .expect("PutBucketAcl");
    }

    /// The bucket's ACL as S3 answers it.
    pub async fn bucket_acl(
        &self,
        bucket: &str,
    ) -> aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput {
        self.s3
            .get_bucket_acl()
            .bucket(bucket)
            .send()
            .await
            .expect("GetBucketAcl")
    }

    /// The bucket's ACL as sorted (grantee, permission) lines, for comparing grant for grant.
    pub async fn acl_lines(&self, bucket: &str) -> Vec<String> {
        let acl = self.bucket_acl(bucket).await;
        acl_lines_of(acl.owner(), acl.grants())
    }

    /// An object's ACL as sorted (grantee, permission) lines, like [`Clients::acl_lines`].
    pub async fn object_acl_lines(&self, bucket: &str, key: &str) -> Vec<String> {
        let acl = self
            .s3
            .get_object_acl()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("GetObjectAcl");
        acl_lines_of(acl.owner(), acl.grants())
    }

    /// Whether the bucket's ACL grants anything to everyone.
    pub async fn bucket_is_public(&self, bucket: &str) -> bool {
        self.acl_lines(bucket)
            .await
            .iter()
            .any(|line| line.contains("/global/AllUsers"))
    }

    /// Opts the account in to faults on its account-level settings: its marker, the customer managed policy
    /// `rdfi-account-opt-in` tagged `rdfi-target=true` (created if missing, tagged if not). Returns the
    /// account id.
    pub async fn opt_in_account(&self) -> String {
        let opt_in = aws_sdk_iam::types::Tag::builder()
            .key("rdfi-target")
            .value("true")
            .build()
            .expect("a tag");
        let created = self
            .iam
            .create_policy()
            .policy_name(rdfi_provider::aws::account::MARKER_POLICY)
            .description("rdfi may inject faults into this account's account-level settings")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"OptInMarkerOnly","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
            )
            .tags(opt_in.clone())
            .send()
            .await;
        let arn = match created {
            Ok(created) => created
                .policy()
                .and_then(|policy| policy.arn())
                .expect("a policy arn")
                .to_owned(),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_entity_already_exists_exception()) =>
            {
                let listed = self
                    .iam
                    .list_policies()
                    .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                    .send()
                    .await
                    .expect("ListPolicies");
                let arn = listed
                    .policies()
                    .iter()
                    .filter_map(|policy| policy.arn())
                    .find(|arn| arn.ends_with(rdfi_provider::aws::account::MARKER_POLICY))
                    .expect("the marker")
                    .to_owned();
                self.iam
                    .tag_policy()
                    .policy_arn(&arn)
                    .tags(opt_in)
                    .send()
                    .await
                    .expect("TagPolicy");
                arn
            }
            Err(error) => panic!(
                "CreatePolicy {}: {error:?}",
                rdfi_provider::aws::account::MARKER_POLICY
            ),
        };
        arn.split(':')
            .nth(4)
            .expect("an account in the ARN")
            .to_owned()
    }

    /// An IAM user with tags, two managed policies (one AWS, one customer) and an inline policy.
    /// A user whose one inline policy is `policy` (its name, its document), if any, and its access key id and
    /// secret.
    pub async fn user_with_policy(
        &self,
        name: &str,
        policy: Option<(&str, &str)>,
    ) -> (String, String) {
        self.iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .unwrap_or_else(|error| panic!("CreateUser {name}: {error:?}"));
        if let Some((policy_name, document)) = policy {
            self.iam
                .put_user_policy()
                .user_name(name)
                .policy_name(policy_name)
                .policy_document(document)
                .send()
                .await
                .unwrap_or_else(|error| panic!("PutUserPolicy {name}: {error:?}"));
        }
        let key = self
            .iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap_or_else(|error| panic!("CreateAccessKey {name}: {error:?}"));
        let key = key.access_key().expect("an access key");
        (
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
        )
    }

    pub async fn create_user(&self, name: &str, tags: &[(&str, &str)]) -> String {
        let tags: Vec<_> = tags
            .iter()
            .map(|(key, value)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(*key)
                    .value(*value)
                    .build()
                    .expect("a tag")
            })
            .collect();
        let user = self
            .iam
            .create_user()
            .user_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .expect("CreateUser");
        let arn = user.user().expect("a user").arn().to_owned();
        self.iam
            .attach_user_policy()
            .user_name(name)
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await
            .expect("AttachUserPolicy ReadOnlyAccess");
        let custom = self
            .iam
            .create_policy()
            .policy_name(format!("{name}-deploy"))
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::artifacts/*"}]}"#,
            )
            .send()
            .await
            .expect("CreatePolicy");
        self.iam
            .attach_user_policy()
            .user_name(name)
            .policy_arn(custom.policy().and_then(|p| p.arn()).expect("a policy arn"))
            .send()
            .await
            .expect("AttachUserPolicy custom");
        self.iam
            .put_user_policy()
            .user_name(name)
            .policy_name("inline-read-logs")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:Get*","Resource":"*"}]}"#,
            )
            .send()
            .await
            .expect("PutUserPolicy");
        arn
    }

    /// The user's attached policy ARNs and inline policy names, sorted.
    pub async fn user_policies(&self, name: &str) -> Vec<String> {
        let attached = self
            .iam
            .list_attached_user_policies()
            .user_name(name)
            .send()
            .await
            .expect("ListAttachedUserPolicies");
        let inline = self
            .iam
            .list_user_policies()
            .user_name(name)
            .send()
            .await
            .expect("ListUserPolicies");
        policy_lines(attached.attached_policies(), inline.policy_names())
    }

    /// The role's attached policy ARNs and inline policy names, sorted.
    pub async fn role_policies(&self, name: &str) -> Vec<String> {
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .expect("ListAttachedRolePolicies");
        let inline = self
            .iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .expect("ListRolePolicies");
        policy_lines(attached.attached_policies(), inline.policy_names())
    }

    pub async fn user_is_admin(&self, name: &str) -> bool {
        self.user_policies(name)
            .await
            .iter()
            .any(|arn| arn.ends_with("policy/AdministratorAccess"))
    }

    /// What a corrective control does: removes every grant to everyone, keeping the others.
    pub async fn remove_public_grants(&self, bucket: &str) {
        self.remove_grants_to_everyone(bucket, |_| true).await
    }

    /// What a corrective control that misses part of the problem does: removes everyone's `permission` only.
    pub async fn remove_public_grant(&self, bucket: &str, permission: &str) {
        self.remove_grants_to_everyone(bucket, |granted| granted == permission)
            .await
    }

    async fn remove_grants_to_everyone(&self, bucket: &str, permission: impl Fn(&str) -> bool) {
        let acl = self.bucket_acl(bucket).await;
        let grants = acl
            .grants()
            .iter()
            .filter(|grant| {
                let to_everyone = grant
                    .grantee()
                    .and_then(|grantee| grantee.uri())
                    .is_some_and(|uri| uri.ends_with("/global/AllUsers"));
                !(to_everyone && permission(grant.permission().map_or("", |p| p.as_str())))
            })
            .cloned()
            .collect();
        self.put_grants(bucket, acl.owner(), grants).await;
    }

    /// What a person does during a fault: grants an account `permission` on the bucket, keeping every other
    /// grant.
    pub async fn add_grant(&self, bucket: &str, canonical_user_id: &str, permission: &str) {
        let acl = self.bucket_acl(bucket).await;
        let mut grants = acl.grants().to_vec();
        grants.push(
            aws_sdk_s3::types::Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(aws_sdk_s3::types::Type::CanonicalUser)
                        .id(canonical_user_id)
                        .build()
                        .expect("grantee"),
                )
                .permission(aws_sdk_s3::types::Permission::from(permission))
                .build(),
        );
        self.put_grants(bucket, acl.owner(), grants).await;
    }

    /// Writes the bucket's ACL: `grants`, owned by `owner`.
    async fn put_grants(
        &self,
        bucket: &str,
        owner: Option<&aws_sdk_s3::types::Owner>,
        grants: Vec<aws_sdk_s3::types::Grant>,
    ) {
        let policy = AccessControlPolicy::builder()
            .set_owner(owner.cloned())
            .set_grants(Some(grants))
            .build();
        self.s3
            .put_bucket_acl()
            .bucket(bucket)
            .access_control_policy(policy)
            .send()
            .await
            .expect("PutBucketAcl");
    }

    /// What an IAM reconciler does: detaches AdministratorAccess.
    pub async fn detach_admin(&self, user: &str) {
        self.iam
            .detach_user_policy()
            .user_name(user)
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await
            .expect("DetachUserPolicy");
    }
}

/// `rdfi run FILE --format json` against moto at `endpoint` as the identity owning this access key, with its
/// state in `state`.
pub async fn run_as(
    endpoint: &str,
    file: &std::path::Path,
    state: &std::path::Path,
    access_key_id: &str,
    secret: &str,
) -> std::process::Output {
    tokio::process::Command::new(crate::rdfi_binary("rdfi"))
        .args(["run", &file.display().to_string(), "--format", "json"])
        .args(["--aws-endpoint", endpoint])
        .args([
            "--webhook-listen",
            &format!("127.0.0.1:{}", crate::free_port()),
        ])
        .args(["--state-dir", &state.display().to_string()])
        .env("AWS_ACCESS_KEY_ID", access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .expect("rdfi runs")
}
