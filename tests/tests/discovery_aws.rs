//! AWS discovery and IAM credential preconditions against moto_server: discovery returns every resource of a
//! type across all pages of the listing, with its tags; the credential faults refuse, without changing
//! anything, a user AWS would not let them change.

use std::collections::BTreeMap;

use rdfi_provider::aws::AwsProvider;
use rdfi_provider::{Provider, ProviderError};
use rdfi_tests::MotoServer;
use rdfi_tests::aws::{Clients, clients, sdk_config};
use rdfi_tests::conformance::aws_iam::prepare_user;
use rdfi_tests::conformance::aws_kms::prepare_key;

/// More than IAM's default page size (100), so that a discovery reading only the first page misses some.
/// moto 5.2.5 pages ListRoles at 100 (the test checks that the first page is truncated) but answers
/// ListUsers in one page, so on moto the roles are what exercises the paging.
const MORE_THAN_ONE_PAGE: usize = 130;

fn opted_in_iam_tag() -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key("rdfi-target")
        .value("true")
        .build()
        .expect("a tag")
}

/// The names discovered of a resource type, each with its `rdfi-target` tag.
async fn discovered(provider: &AwsProvider, resource_type: &str) -> BTreeMap<String, String> {
    provider
        .discover(resource_type)
        .await
        .unwrap_or_else(|error| panic!("discover {resource_type}: {error}"))
        .into_iter()
        .map(|resource| {
            assert_eq!(resource.resource_type, resource_type);
            let opted_in = resource
                .tags
                .get("rdfi-target")
                .cloned()
                .unwrap_or_default();
            (resource.name, opted_in)
        })
        .collect()
}

async fn create_opted_in_users_and_roles(aws: &Clients) {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    for index in 0..MORE_THAN_ONE_PAGE {
        aws.iam
            .create_user()
            .user_name(format!("paged-user-{index:03}"))
            .tags(opted_in_iam_tag())
            .send()
            .await
            .expect("CreateUser");
        aws.iam
            .create_role()
            .role_name(format!("paged-role-{index:03}"))
            .assume_role_policy_document(trust)
            .tags(opted_in_iam_tag())
            .send()
            .await
            .expect("CreateRole");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_discovery_returns_every_user_and_role_across_pages() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    create_opted_in_users_and_roles(&aws).await;

    let first_role_page = aws.iam.list_roles().send().await.expect("ListRoles");
    assert!(
        first_role_page.is_truncated(),
        "the listing must span pages for this test to mean anything"
    );

    for (resource_type, prefix) in [
        ("aws.iam.user", "paged-user-"),
        ("aws.iam.role", "paged-role-"),
    ] {
        let found = discovered(&provider, resource_type).await;
        for index in 0..MORE_THAN_ONE_PAGE {
            let name = format!("{prefix}{index:03}");
            assert_eq!(
                found.get(&name).map(String::as_str),
                Some("true"),
                "{resource_type} {name} discovered with its opt-in tag"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_discovery_returns_customer_keys_with_their_tags() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let first = prepare_key(&aws, "discovered-first").await;
    let second = prepare_key(&aws, "discovered-second").await;

    let keys = provider
        .discover("aws.kms.key")
        .await
        .expect("discover keys");
    for prepared in [&first, &second] {
        let found = keys
            .iter()
            .find(|key| key.name == prepared.name)
            .unwrap_or_else(|| panic!("key {} discovered", prepared.name));
        assert_eq!(found.id, prepared.id, "identified by ARN");
        assert_eq!(
            found.tags.get("rdfi-target").map(String::as_str),
            Some("true")
        );
        let fresh = provider.tags(found).await.expect("tags");
        assert_eq!(fresh.get("rdfi-target").map(String::as_str), Some("true"));
    }
}

/// Settings of the account are discovered only once the account opted in through its marker, carry the
/// marker's tags (so `rdfi-protected` on it protects them all), and the guard's fresh tag read follows the
/// marker: an account that removes it is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_settings_are_found_only_in_an_account_that_opted_in_with_its_marker() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let account_types = [
        "aws.iam.account-password-policy",
        "aws.ec2.ebs-encryption-default",
    ];
    for resource_type in account_types {
        assert!(
            discovered(&provider, resource_type).await.is_empty(),
            "{resource_type} found in an account without the marker"
        );
    }
    aws.opt_in_account().await;
    let mut found = Vec::new();
    for resource_type in account_types {
        let settings = provider.discover(resource_type).await.expect("discover");
        assert_eq!(settings.len(), 1, "{settings:?}");
        assert!(settings[0].id.contains("123456789012"), "{settings:?}");
        assert_eq!(
            settings[0].tags.get("rdfi-target").map(String::as_str),
            Some("true")
        );
        found.extend(settings);
    }
    assert_eq!(
        found[1].region,
        rdfi_tests::aws::REGION,
        "EBS defaults are regional"
    );
    assert_eq!(found[0].region, "", "the password policy is the account's");

    let marker = format!(
        "arn:aws:iam::123456789012:policy/{}",
        rdfi_provider::aws::account::MARKER_POLICY
    );
    aws.iam
        .tag_policy()
        .policy_arn(&marker)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("rdfi-protected")
                .value("true")
                .build()
                .expect("a tag"),
        )
        .send()
        .await
        .expect("TagPolicy");
    let fresh = provider.tags(&found[0]).await.expect("tags");
    assert_eq!(
        fresh.get("rdfi-protected").map(String::as_str),
        Some("true")
    );
    aws.iam
        .delete_policy()
        .policy_arn(&marker)
        .send()
        .await
        .expect("DeletePolicy");
    assert!(provider.tags(&found[1]).await.expect("tags").is_empty());
    assert!(discovered(&provider, account_types[0]).await.is_empty());
}

/// A user with two access keys (the AWS limit) cannot get a third: the fault fails with a precondition
/// error and creates nothing; a user that already has a console password is not given another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_faults_refuse_users_at_their_limits() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let faults = provider.faults();

    let user = prepare_user(&aws, "two-keys").await;
    for _ in 0..2 {
        aws.iam
            .create_access_key()
            .user_name(&user.name)
            .send()
            .await
            .expect("CreateAccessKey");
    }
    let fault = "aws.iam.user-access-key-created";
    let snapshot = faults.snapshot(fault, &user).await.expect("snapshot");
    let refused = faults.inject(fault, &user, &snapshot).await;
    assert!(
        matches!(&refused, Err(ProviderError::Precondition { reason, .. }) if reason.contains("2 access keys")),
        "{refused:?}"
    );
    assert_eq!(
        faults.snapshot(fault, &user).await.expect("re-read"),
        snapshot,
        "nothing changed"
    );

    let user = prepare_user(&aws, "has-password").await;
    aws.iam
        .create_login_profile()
        .user_name(&user.name)
        .password("Pre-existing-Passw0rd!")
        .send()
        .await
        .expect("CreateLoginProfile");
    let fault = "aws.iam.user-login-profile-created";
    let snapshot = faults.snapshot(fault, &user).await.expect("snapshot");
    let refused = faults.inject(fault, &user, &snapshot).await;
    assert!(
        matches!(refused, Err(ProviderError::Precondition { .. })),
        "{refused:?}"
    );
}
