//! Detective controls and audit logs on moto_server, beyond the conformance round trip: discovery of alarms
//! and log groups across pages with their tags, the revert of a log group that never expired, and the
//! account-level settings (GuardDuty detector, Config recorder) that exist for rdfi only once the account has
//! opted in with its marker.

use std::collections::BTreeMap;

use rdfi_provider::Provider;
use rdfi_provider::aws::AwsProvider;
use rdfi_tests::MotoServer;
use rdfi_tests::aws::{clients, sdk_config};

/// More than one page of DescribeLogGroups (at most 50 per page).
const LOG_GROUPS: usize = 60;

/// The names discovered of a resource type, each with its `rdfi-target` tag (empty when it has none).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_groups_and_alarms_are_discovered_across_pages_with_their_tags() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let mut expected_groups = BTreeMap::new();
    for index in 0..LOG_GROUPS {
        let name = format!("/audit/group-{index:03}");
        let mut create = aws.logs.create_log_group().log_group_name(&name);
        let opted_in = index % 2 == 0;
        if opted_in {
            create = create.tags("rdfi-target", "true");
        }
        create.send().await.expect("CreateLogGroup");
        expected_groups.insert(name, if opted_in { "true" } else { "" }.to_owned());
    }
    let first_page = aws
        .logs
        .describe_log_groups()
        .send()
        .await
        .expect("DescribeLogGroups");
    assert!(
        first_page.next_token().is_some(),
        "the listing must span pages for this test to mean anything"
    );
    assert_eq!(
        discovered(&provider, "aws.logs.log-group").await,
        expected_groups
    );

    let mut expected_alarms = BTreeMap::new();
    for (name, opted_in) in [("root-usage", true), ("console-sign-in-failures", false)] {
        let mut put = aws
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("CISBenchmark")
            .metric_name(name)
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(300)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            );
        if opted_in {
            put = put.tags(
                aws_sdk_cloudwatch::types::Tag::builder()
                    .key("rdfi-target")
                    .value("true")
                    .build(),
            );
        }
        put.send().await.expect("PutMetricAlarm");
        expected_alarms.insert(
            name.to_owned(),
            if opted_in { "true" } else { "" }.to_owned(),
        );
    }
    assert_eq!(
        discovered(&provider, "aws.cloudwatch.alarm").await,
        expected_alarms
    );
}

/// A log group without a retention policy keeps its events forever: the revert deletes the fault's policy
/// rather than put any number of days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_group_that_never_expired_never_expires_again_after_the_revert() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let faults = provider.faults();
    aws.logs
        .create_log_group()
        .log_group_name("/audit/forever")
        .tags("rdfi-target", "true")
        .send()
        .await
        .expect("CreateLogGroup");
    let resource = provider
        .discover("aws.logs.log-group")
        .await
        .expect("discover")
        .into_iter()
        .find(|resource| resource.name == "/audit/forever")
        .expect("the log group");
    let retention = async || {
        aws.logs
            .describe_log_groups()
            .log_group_name_prefix("/audit/forever")
            .send()
            .await
            .expect("DescribeLogGroups")
            .log_groups()[0]
            .retention_in_days()
    };
    let fault_id = "aws.logs.audit-log-retention-one-day";
    let snapshot = faults.snapshot(fault_id, &resource).await.unwrap();
    faults.inject(fault_id, &resource, &snapshot).await.unwrap();
    assert_eq!(retention().await, Some(1));
    faults.revert(fault_id, &resource, &snapshot).await.unwrap();
    assert_eq!(retention().await, None);
    let check = faults
        .check_revert(fault_id, &resource, &snapshot)
        .await
        .unwrap();
    assert!(check.reverted && !check.changed_by_others, "{check:?}");
}

/// An account without the marker has no account-level resource to rdfi, whatever it runs; with the marker its
/// detector and recorder carry the marker's tags, and a marker without the opt-in tag is seen and not opted in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_level_settings_exist_for_rdfi_only_once_the_account_has_its_marker() {
    use aws_sdk_config::types::{ConfigurationRecorder, RecordingGroup};
    use rdfi_provider::aws::account::MARKER_POLICY;

    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let detector_id = aws
        .guardduty
        .create_detector()
        .enable(true)
        .send()
        .await
        .expect("CreateDetector")
        .detector_id()
        .expect("a detector id")
        .to_owned();
    aws.config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn("arn:aws:iam::123456789012:role/aws-config-recorder")
                .recording_group(RecordingGroup::builder().all_supported(true).build())
                .build(),
        )
        .send()
        .await
        .expect("PutConfigurationRecorder");
    let types = ["aws.guardduty.detector", "aws.config.recorder"];

    for resource_type in types {
        assert!(
            provider.discover(resource_type).await.unwrap().is_empty(),
            "{resource_type} without the marker"
        );
    }

    let account = aws.opt_in_account().await;
    let detectors = provider.discover("aws.guardduty.detector").await.unwrap();
    assert_eq!(detectors.len(), 1, "{detectors:?}");
    assert_eq!(detectors[0].name, detector_id);
    assert_eq!(
        detectors[0].id,
        format!("arn:aws:guardduty:us-east-1:{account}:detector/{detector_id}")
    );
    let recorders = provider.discover("aws.config.recorder").await.unwrap();
    assert_eq!(recorders.len(), 1, "{recorders:?}");
    assert_eq!(recorders[0].name, "default");
    for resource in detectors.iter().chain(&recorders) {
        assert_eq!(
            resource.tags.get("rdfi-target").map(String::as_str),
            Some("true")
        );
        assert_eq!(resource.region, "us-east-1");
        let tags = provider.tags(resource).await.unwrap();
        assert_eq!(tags.get("rdfi-target").map(String::as_str), Some("true"));
    }

    // The marker without the opt-in tag: the settings are seen, and left alone.
    aws.iam
        .untag_policy()
        .policy_arn(format!("arn:aws:iam::{account}:policy/{MARKER_POLICY}"))
        .tag_keys("rdfi-target")
        .send()
        .await
        .expect("UntagPolicy");
    for resource_type in types {
        let found = provider.discover(resource_type).await.unwrap();
        assert_eq!(found.len(), 1, "{resource_type}");
        assert!(!found[0].tags.contains_key("rdfi-target"), "{found:?}");
        assert!(provider.tags(&found[0]).await.unwrap().is_empty());
    }
}
