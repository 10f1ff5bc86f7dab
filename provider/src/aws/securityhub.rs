//! Security Hub, read (never written) as a detection source the monitor polls: the active, not passed
//! findings about the faulted resources updated since a time (GetFindings, newest first), each as ASFF JSON with the fields rdfi reads, so
//! that polled findings and findings EventBridge delivers are parsed by one function (the monitor's ASFF shape).

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, DateFilter, SortCriterion, SortOrder,
    StringFilter, StringFilterComparison,
};
use serde_json::{Map, Value, json};

use super::{AwsClients, sdk_error};
use crate::Result;

/// Security Hub takes at most this many values per filter field.
const VALUES_PER_FILTER: usize = 20;
/// At most this many findings per page.
const PAGE_SIZE: i32 = 100;
/// The pages one poll reads, for each group of resources, newest findings first: beyond them a poll sees only
/// the most recently updated 1000.
const MAX_PAGES: usize = 10;

/// The active findings about `resources` (ARNs) updated at or after `since` (RFC 3339), as ASFF.
pub(crate) async fn findings(
    clients: &AwsClients,
    resources: &[String],
    since: &str,
) -> Result<Vec<Value>> {
    let mut found = Vec::new();
    for group in resources.chunks(VALUES_PER_FILTER) {
        let mut filters = AwsSecurityFindingFilters::builder()
            .updated_at(DateFilter::builder().start(since).build())
            .record_state(compare("ACTIVE", StringFilterComparison::Equals))
            .compliance_status(compare("PASSED", StringFilterComparison::NotEquals));
        for resource in group {
            filters = filters.resource_id(compare(resource, StringFilterComparison::Equals));
        }
        let mut pages = clients
            .securityhub
            .get_findings()
            .filters(filters.build())
            .sort_criteria(
                SortCriterion::builder()
                    .field("UpdatedAt")
                    .sort_order(SortOrder::Descending)
                    .build(),
            )
            .max_results(PAGE_SIZE)
            .into_paginator()
            .page_size(PAGE_SIZE)
            .send();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|error| sdk_error("GetFindings", "Security Hub", error))?;
            found.extend(page.findings().iter().map(asff));
        }
    }
    Ok(found)
}

fn compare(value: &str, comparison: StringFilterComparison) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(comparison)
        .build()
}

/// The finding in ASFF JSON, with the fields the monitor reads (docs/signals.md).
fn asff(finding: &AwsSecurityFinding) -> Value {
    let mut object = Map::new();
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            object.insert(key.to_owned(), Value::from(value));
        }
    };
    put("Id", finding.id());
    put("ProductName", finding.product_name());
    put("GeneratorId", finding.generator_id());
    put("Title", finding.title());
    put("FirstObservedAt", finding.first_observed_at());
    put("LastObservedAt", finding.last_observed_at());
    put("UpdatedAt", finding.updated_at());
    put(
        "RecordState",
        finding.record_state().map(|state| state.as_str()),
    );
    if let Some(label) = finding.severity().and_then(|severity| severity.label()) {
        object.insert("Severity".to_owned(), json!({ "Label": label.as_str() }));
    }
    if let Some(status) = finding.workflow().and_then(|workflow| workflow.status()) {
        object.insert("Workflow".to_owned(), json!({ "Status": status.as_str() }));
    }
    if let Some(status) = finding
        .compliance()
        .and_then(|compliance| compliance.status())
    {
        object.insert(
            "Compliance".to_owned(),
            json!({ "Status": status.as_str() }),
        );
    }
    for (key, fields) in [
        ("ProductFields", finding.product_fields()),
        ("UserDefinedFields", finding.user_defined_fields()),
    ] {
        if let Some(fields) = fields {
            object.insert(key.to_owned(), json!(fields));
        }
    }
    object.insert(
        "Resources".to_owned(),
        finding
            .resources()
            .iter()
            .map(|resource| json!({ "Id": resource.id(), "Type": resource.r#type() }))
            .collect(),
    );
    Value::Object(object)
}
