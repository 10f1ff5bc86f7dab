//! EC2 faults: security groups opened to the internet, EBS snapshots and AMIs made public.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

/// What refuses a security group change that opens it to the internet.
const FIREWALL_PREVENTIVE: ExpectedControl = ExpectedControl {
    kind: ControlKind::Preventive,
    example: "an SCP denying ec2:AuthorizeSecurityGroupIngress with a 0.0.0.0/0 or ::/0 source, AWS Firewall Manager security group policies",
    default_deadline: Duration::ZERO,
};

/// What revokes an internet-wide ingress rule.
const FIREWALL_CORRECTIVE: ExpectedControl = ExpectedControl {
    kind: ControlKind::Corrective,
    example: "Config remediation AWS-DisablePublicAccessForSecurityGroup, Cloud Custodian remove-permissions (ingress: matched), Firewall Manager auto-remediation",
    default_deadline: Duration::from_secs(10 * 60),
};

/// How to fix a security group opened to the internet.
const FIREWALL_REMEDIATION: &str = "Revoke the internet-wide ingress rule (aws ec2 revoke-security-group-ingress with the exact protocol, ports and CIDR), reach instances through Systems Manager Session Manager or a bastion restricted to known CIDRs, and deny world-open ingress with an SCP or Firewall Manager policy.";

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "aws.ec2.security-group-ssh-open-to-world",
        title: "Security group admits SSH (tcp/22) from 0.0.0.0/0",
        resource_type: "aws.ec2.security-group",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562.007",
        cis_control: Some("CIS AWS Foundations 5.2"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "the security group admits no TCP port 22 from 0.0.0.0/0 yet (no such rule, no all-traffic rule)",
        destructive: false,
        expected_controls: &[
            FIREWALL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config restricted-ssh, Security Hub EC2.13 and EC2.53, Prowler ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
                default_deadline: Duration::from_secs(5 * 60),
            },
            FIREWALL_CORRECTIVE,
        ],
        intents: &["network-exposure"],
        remediation: FIREWALL_REMEDIATION,
    },
    FaultModel {
        id: "aws.ec2.security-group-rdp-open-to-world",
        title: "Security group admits RDP (tcp/3389) from 0.0.0.0/0",
        resource_type: "aws.ec2.security-group",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562.007",
        cis_control: Some("CIS AWS Foundations 5.2"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "the security group admits no TCP port 3389 from 0.0.0.0/0 yet (no such rule, no all-traffic rule)",
        destructive: false,
        expected_controls: &[
            FIREWALL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config restricted-common-ports, Security Hub EC2.14 and EC2.53, Prowler ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
                default_deadline: Duration::from_secs(5 * 60),
            },
            FIREWALL_CORRECTIVE,
        ],
        intents: &["network-exposure"],
        remediation: FIREWALL_REMEDIATION,
    },
    FaultModel {
        id: "aws.ec2.security-group-all-ports-open-to-world",
        title: "Security group admits all traffic (every protocol and port) from 0.0.0.0/0",
        resource_type: "aws.ec2.security-group",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562.007",
        cis_control: Some("CIS AWS Foundations 5.2"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "the security group has no all-protocols (-1) ingress rule from 0.0.0.0/0 yet",
        destructive: false,
        expected_controls: &[
            FIREWALL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config vpc-sg-open-only-to-authorized-ports, Security Hub EC2.18 and EC2.19, Prowler ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
                default_deadline: Duration::from_secs(5 * 60),
            },
            FIREWALL_CORRECTIVE,
        ],
        intents: &["network-exposure"],
        remediation: FIREWALL_REMEDIATION,
    },
    FaultModel {
        id: "aws.ec2.security-group-open-to-world-ipv6",
        title: "Security group admits all traffic from ::/0 (the whole IPv6 internet)",
        resource_type: "aws.ec2.security-group",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562.007",
        cis_control: Some("CIS AWS Foundations 5.3"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "the security group has no all-protocols (-1) ingress rule from ::/0 yet",
        destructive: false,
        expected_controls: &[
            FIREWALL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "Security Hub EC2.54 and EC2.19, AWS Config vpc-sg-open-only-to-authorized-ports, Prowler ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
                default_deadline: Duration::from_secs(5 * 60),
            },
            FIREWALL_CORRECTIVE,
        ],
        intents: &["network-exposure"],
        remediation: FIREWALL_REMEDIATION,
    },
    FaultModel {
        id: "aws.ec2.snapshot-shared-publicly",
        title: "EBS snapshot shared publicly (createVolumePermission for group all)",
        resource_type: "aws.ec2.snapshot",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1537",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        preconditions: "the snapshot is owned by the account, unencrypted or encrypted with a shareable key, and not public yet",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "EBS snapshot Block Public Access (block-all-sharing), an SCP denying ec2:ModifySnapshotAttribute",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config ebs-snapshot-public-restorable-check, Security Hub EC2.1, Prowler ec2_ebs_public_snapshot",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "Config remediation AWS-ModifySnapshotAttribute (remove group all), Cloud Custodian set-permissions on ebs-snapshot",
                default_deadline: Duration::from_secs(15 * 60),
            },
        ],
        intents: &["public-storage-read"],
        remediation: "Remove the public permission (aws ec2 modify-snapshot-attribute --attribute createVolumePermission --operation-type remove --group-names all), keep explicit account shares only, and turn on EBS snapshot Block Public Access in every region.",
    },
    FaultModel {
        id: "aws.ec2.image-made-public",
        title: "AMI made public (launchPermission for group all)",
        resource_type: "aws.ec2.image",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1537",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        preconditions: "the image is owned by the account and not public yet",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "AMI Block Public Access (EnableImageBlockPublicAccess), an SCP denying ec2:ModifyImageAttribute",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "Prowler ec2_ami_public, an EventBridge rule on ModifyImageAttribute with group all, Cloud Custodian ami cross-account filter",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "Cloud Custodian remove-launch-permissions on ami, a Lambda that removes launchPermission group all",
                default_deadline: Duration::from_secs(15 * 60),
            },
        ],
        intents: &["public-storage-read"],
        remediation: "Remove the public launch permission (aws ec2 modify-image-attribute --launch-permission \"Remove=[{Group=all}]\"), share images with named accounts or the organization only, and enable AMI Block Public Access in every region.",
    },
    FaultModel {
        id: "aws.ec2.instance-imdsv1-enabled",
        title: "Instance metadata service accepts IMDSv1 (session tokens optional)",
        resource_type: "aws.ec2.instance",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1552.005",
        cis_control: Some("CIS AWS Foundations 5.6"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:L/A:N",
        preconditions: "the instance is not terminated, its metadata service is on and requires session tokens (IMDSv2 only)",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying ec2:ModifyInstanceMetadataOptions unless ec2:MetadataHttpTokens is required, the account default ec2:ModifyInstanceMetadataDefaults with HttpTokens required",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config ec2-imdsv2-check, Security Hub EC2.8, Prowler ec2_instance_imdsv2_enabled, EventBridge rule on ModifyInstanceMetadataOptions",
                default_deadline: Duration::from_secs(15 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an AWS Config remediation (AWSSupport-ConfigureEC2Metadata) or Cloud Custodian set-metadata-access with tokens required",
                default_deadline: Duration::from_secs(10 * 60),
            },
        ],
        intents: &["authentication-weakened"],
        remediation: "Require session tokens on the instance (aws ec2 modify-instance-metadata-options --http-tokens required), set the account's instance metadata defaults to IMDSv2, and deny launching or changing instances without it by SCP.",
    },
    FaultModel {
        id: "aws.ec2.subnet-public-ip-on-launch-enabled",
        title: "Subnet assigns a public IPv4 address to every instance launched in it",
        resource_type: "aws.ec2.subnet",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1133",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N",
        preconditions: "the subnet does not map public IPv4 addresses on launch",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying ec2:ModifySubnetAttribute outside the network team's pipeline",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config subnet-auto-assign-public-ip-disabled, Security Hub EC2.15, EventBridge rule on ModifySubnetAttribute",
                default_deadline: Duration::from_secs(15 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an AWS Config remediation or Cloud Custodian subnet policy that turns MapPublicIpOnLaunch off",
                default_deadline: Duration::from_secs(10 * 60),
            },
        ],
        intents: &["network-exposure"],
        remediation: "Turn off automatic public addresses (aws ec2 modify-subnet-attribute --no-map-public-ip-on-launch), reach the internet from private subnets through NAT, and check the instances launched while it was on.",
    },
];
