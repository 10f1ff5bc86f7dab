//! Attributing an AWS refusal from what AWS says in it.
//!
//! AWS names the kind of policy behind an explicit deny in its message ("... with an explicit deny in a service
//! control policy: arn:aws:organizations::...") and S3 names the Block Public Access setting that blocked a
//! public grant. A message that says only that no policy allows the action is rdfi's own missing permission.
//! moto says neither ("Access Denied"): those refusals are left unattributed here.

use crate::refusal::{Attribution, ControlType, NamedControl};

/// The kinds of explicit deny AWS names in its messages, and what each is.
const EXPLICIT_DENIES: &[(&str, ControlType)] = &[
    (
        "explicit deny in a service control policy",
        ControlType::Scp,
    ),
    (
        "explicit deny in an identity-based policy",
        ControlType::IdentityPolicy,
    ),
    (
        "explicit deny in a resource-based policy",
        ControlType::ResourcePolicy,
    ),
    (
        "explicit deny in a permissions boundary",
        ControlType::PermissionsBoundary,
    ),
    (
        "explicit deny in a session policy",
        ControlType::IdentityPolicy,
    ),
];

/// The S3 Block Public Access settings, as S3 names them when one blocks a change.
const BLOCK_PUBLIC_ACCESS: &[&str] = &[
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
];

/// Attributes a refusal of `operation` on `resource` from AWS's message; `None` for the control when the message
/// does not name one. The refused action is read from "not authorized to perform: ACTION" when AWS says it.
pub fn from_message(resource: &str, message: &str) -> Attribution {
    let denied_action = refused_action(message);
    let lower = message.to_lowercase();
    for (phrase, control_type) in EXPLICIT_DENIES {
        if let Some(at) = lower.find(phrase) {
            let rest = &message[at + phrase.len()..];
            let name = rest
                .trim_start_matches([':', ' '])
                .split_whitespace()
                .next()
                .map(|name| name.trim_end_matches(['.', ',']))
                .filter(|name| name.starts_with("arn:"))
                .unwrap_or("(not named by AWS)");
            let location = caller(message).unwrap_or_else(|| resource.to_owned());
            return Attribution::to(
                NamedControl {
                    name: name.to_owned(),
                    location,
                    control_type: *control_type,
                },
                denied_action,
            );
        }
    }
    if let Some(setting) = BLOCK_PUBLIC_ACCESS
        .iter()
        .find(|setting| message.contains(*setting))
    {
        return Attribution::to(
            NamedControl {
                name: (*setting).to_owned(),
                location: resource.to_owned(),
                control_type: ControlType::S3BlockPublicAccess,
            },
            denied_action,
        );
    }
    Attribution::unattributed(denied_action)
}

/// `s3:PutBucketAcl` from "... is not authorized to perform: s3:PutBucketAcl on resource ...".
fn refused_action(message: &str) -> Option<String> {
    let at = message.find("to perform: ")? + "to perform: ".len();
    let action = message[at..].split_whitespace().next()?;
    let action = action.trim_end_matches(['.', ',']);
    action.contains(':').then(|| action.to_owned())
}

/// The caller's ARN from "User: arn:aws:iam::1:user/rdfi is not authorized ...".
fn caller(message: &str) -> Option<String> {
    let at = message.find("User: ")? + "User: ".len();
    let arn = message[at..].split_whitespace().next()?;
    arn.starts_with("arn:").then(|| arn.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_deny_named_by_aws_is_attributed_to_its_policy() {
        let message = "User: arn:aws:iam::123456789012:user/rdfi is not authorized to perform: s3:PutBucketAcl on resource: \"arn:aws:s3:::logs\" with an explicit deny in a service control policy: arn:aws:organizations::123456789012:policy/o-1/service_control_policy/p-deny";
        let attribution = from_message("arn:aws:s3:::logs", message);
        let control = attribution.control.expect("attributed");
        assert_eq!(control.control_type, ControlType::Scp);
        assert_eq!(
            control.name,
            "arn:aws:organizations::123456789012:policy/o-1/service_control_policy/p-deny"
        );
        assert_eq!(control.location, "arn:aws:iam::123456789012:user/rdfi");
        assert_eq!(
            attribution.denied_action.as_deref(),
            Some("s3:PutBucketAcl")
        );
    }

    #[test]
    fn each_kind_of_explicit_deny_has_its_type() {
        for (phrase, control_type) in EXPLICIT_DENIES {
            let message = format!(
                "User: arn:aws:iam::1:role/r is not authorized to perform: iam:CreateAccessKey on resource: u with an {phrase}"
            );
            let control = from_message("u", &message).control.expect("attributed");
            assert_eq!(control.control_type, *control_type, "{phrase}");
            assert_eq!(control.name, "(not named by AWS)");
        }
    }

    #[test]
    fn block_public_access_is_named_by_its_setting() {
        let message = "AccessDenied: User: arn:aws:iam::1:user/rdfi is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::b\" because public policies are blocked by the BlockPublicPolicy block public access setting.";
        let control = from_message("arn:aws:s3:::b", message)
            .control
            .expect("attributed");
        assert_eq!(control.control_type, ControlType::S3BlockPublicAccess);
        assert_eq!(control.name, "BlockPublicPolicy");
        assert_eq!(control.location, "arn:aws:s3:::b");
    }

    #[test]
    fn a_missing_permission_or_a_bare_access_denied_is_not_attributed() {
        let missing = "User: arn:aws:iam::1:user/rdfi is not authorized to perform: iam:CreateAccessKey on resource: user u because no identity-based policy allows the iam:CreateAccessKey action";
        let attribution = from_message("u", missing);
        assert_eq!(attribution.control, None);
        assert_eq!(
            attribution.denied_action.as_deref(),
            Some("iam:CreateAccessKey")
        );
        let bare = from_message("arn:aws:s3:::b", "AccessDenied: Access Denied");
        assert_eq!(bare, Attribution::unattributed(None));
    }
}
