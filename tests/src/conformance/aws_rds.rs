//! RDS conformance case: a tagged manual DB snapshot shared with two accounts, read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_rds::types::Tag;
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(SnapshotSharedPublicly)]
}

/// The account a person shares the snapshot with while the fault is on.
const SHARED_MEANWHILE: &str = "777788889999";

/// The snapshot's `restore` values, sorted.
async fn restore_values(aws: &Clients, identifier: &str) -> Value {
    let output = aws
        .rds
        .describe_db_snapshot_attributes()
        .db_snapshot_identifier(identifier)
        .send()
        .await
        .expect("DescribeDBSnapshotAttributes");
    let mut values: Vec<String> = output
        .db_snapshot_attributes_result()
        .map(|result| result.db_snapshot_attributes())
        .unwrap_or_default()
        .iter()
        .filter(|attribute| attribute.attribute_name() == Some("restore"))
        .flat_map(|attribute| attribute.attribute_values().to_vec())
        .collect();
    values.sort();
    json!(values)
}

async fn share(aws: &Clients, identifier: &str, accounts: &[&str]) {
    aws.rds
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier(identifier)
        .attribute_name("restore")
        .set_values_to_add(Some(accounts.iter().map(|id| (*id).to_owned()).collect()))
        .send()
        .await
        .expect("ModifyDBSnapshotAttribute");
}

struct SnapshotSharedPublicly;

#[async_trait]
impl AwsCase for SnapshotSharedPublicly {
    fn fault_id(&self) -> &'static str {
        "aws.rds.snapshot-shared-publicly"
    }

    /// A manual snapshot of a PostgreSQL instance, tagged opted-in and shared with a backup and a disaster
    /// recovery account.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let instance = format!("{name}-db");
        aws.rds
            .create_db_instance()
            .db_instance_identifier(&instance)
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("orders")
            .master_user_password("conformance-only")
            .send()
            .await
            .expect("CreateDBInstance");
        let tags = [("rdfi-target", "true"), ("name", name)]
            .map(|(key, value)| Tag::builder().key(key).value(value).build());
        let created = aws
            .rds
            .create_db_snapshot()
            .db_snapshot_identifier(name)
            .db_instance_identifier(&instance)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await
            .expect("CreateDBSnapshot");
        let arn = created
            .db_snapshot()
            .and_then(|snapshot| snapshot.db_snapshot_arn())
            .expect("a snapshot arn")
            .to_owned();
        share(aws, name, &["111122223333", "444455556666"]).await;
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.rds.snapshot".to_owned(),
            id: arn,
            name: name.to_owned(),
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({"restore": restore_values(aws, &resource.name).await})
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["restore"]
            .as_array()
            .is_some_and(|values| values.contains(&json!("all")))
    }

    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        share(aws, &resource.name, &[SHARED_MEANWHILE]).await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["restore"]
            .as_array()
            .is_some_and(|values| values.contains(&json!(SHARED_MEANWHILE)))
    }
}
