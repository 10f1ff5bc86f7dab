//! Compute Engine network faults: VPC firewall rules opening instances to the internet, and firewall rule
//! logging turned off. CIS controls are those of the CIS Google Cloud Platform Foundation Benchmark (v3.0).

use super::gcp_storage::{corrective, detective, preventive};
use super::{ExpectedControl, FaultModel, SecurityAttribute};

const FIREWALL: &str = "gcp.compute.firewall";

/// What refuses a firewall rule open to the internet.
const WORLD_OPEN_PREVENTIVE: ExpectedControl = preventive(
    "hierarchical firewall policy denying 0.0.0.0/0 ingress above the VPC rules, a custom Organization Policy constraint on compute.firewalls.create with sourceRanges 0.0.0.0/0, IAM: compute.firewalls.create only for the network team",
);

/// What deletes a firewall rule open to the internet.
const WORLD_OPEN_CORRECTIVE: ExpectedControl = corrective(
    "Cloud Custodian gcp.firewall delete (filter sourceRanges 0.0.0.0/0), Forseti/Config Connector firewall reconciliation",
    10,
);

/// How to fix a firewall rule open to the internet.
const WORLD_OPEN_REMEDIATION: &str = "Delete the internet-wide ingress rule (gcloud compute firewall-rules delete RULE) or narrow its source ranges to known CIDRs, reach instances through Identity-Aware Proxy TCP forwarding (35.235.240.0/20) instead, and deny 0.0.0.0/0 ingress with a hierarchical firewall policy.";

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "gcp.compute.firewall-ssh-open-to-world",
        title: "VPC firewall admits SSH (tcp/22) from 0.0.0.0/0 to the instances a rule targets",
        resource_type: FIREWALL,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562.007",
        cis_control: Some("CIS GCP Foundation 3.6"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "the opted-in rule is an ingress rule and neither it nor a rule the fault created admits tcp/22 from 0.0.0.0/0",
        destructive: false,
        expected_controls: &[
            WORLD_OPEN_PREVENTIVE,
            detective(
                "Security Command Center Security Health Analytics OPEN_SSH_PORT, Prowler compute_firewall_ssh_access_from_the_internet_allowed, log-based alert on firewalls.insert",
                5,
            ),
            WORLD_OPEN_CORRECTIVE,
        ],
        intents: &["network-exposure"],
        remediation: WORLD_OPEN_REMEDIATION,
    },
    FaultModel {
        id: "gcp.compute.firewall-rdp-open-to-world",
        title: "VPC firewall admits RDP (tcp/3389) from 0.0.0.0/0 to the instances a rule targets",
        resource_type: FIREWALL,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562.007",
        cis_control: Some("CIS GCP Foundation 3.7"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "the opted-in rule is an ingress rule and neither it nor a rule the fault created admits tcp/3389 from 0.0.0.0/0",
        destructive: false,
        expected_controls: &[
            WORLD_OPEN_PREVENTIVE,
            detective(
                "Security Command Center Security Health Analytics OPEN_RDP_PORT, Prowler compute_firewall_rdp_access_from_the_internet_allowed, log-based alert on firewalls.insert",
                5,
            ),
            WORLD_OPEN_CORRECTIVE,
        ],
        intents: &["network-exposure"],
        remediation: WORLD_OPEN_REMEDIATION,
    },
    FaultModel {
        id: "gcp.compute.firewall-all-ports-open-to-world",
        title: "VPC firewall admits every protocol and port from 0.0.0.0/0 to the instances a rule targets",
        resource_type: FIREWALL,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562.007",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "the opted-in rule is an ingress rule and neither it nor a rule the fault created admits every port from 0.0.0.0/0",
        destructive: false,
        expected_controls: &[
            WORLD_OPEN_PREVENTIVE,
            detective(
                "Security Command Center Security Health Analytics OPEN_FIREWALL, Prowler compute_firewall_rule_allows_all_ports_from_the_internet, log-based alert on firewalls.insert",
                5,
            ),
            WORLD_OPEN_CORRECTIVE,
        ],
        intents: &["network-exposure"],
        remediation: WORLD_OPEN_REMEDIATION,
    },
    FaultModel {
        id: "gcp.compute.firewall-logging-disabled",
        title: "VPC firewall rule logging turned off",
        resource_type: FIREWALL,
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1562.008",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:L/A:N",
        preconditions: "the rule logs its connections (logConfig.enable true)",
        destructive: false,
        expected_controls: &[
            preventive("IAM: compute.firewalls.update only for the network team's deploy identity"),
            detective(
                "Security Command Center Security Health Analytics FIREWALL_RULE_LOGGING_DISABLED, log-based alert on firewalls.patch",
                15,
            ),
            corrective(
                "Cloud Custodian gcp.firewall set-logging, Terraform/Config Connector log_config reconciliation",
                30,
            ),
        ],
        intents: &["audit-logging-disabled"],
        remediation: "Turn rule logging on again (gcloud compute firewall-rules update RULE --enable-logging --logging-metadata=include-all) and keep logging on for every rule that admits traffic from outside the VPC.",
    },
];
