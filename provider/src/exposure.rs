//! Proof of exposure: for a fault that makes stored data public, the executor places a canary object (never
//! real data) in the faulted bucket after the injection, reads it as an outsider would — an anonymous,
//! unsigned request, the read the fault's grant allows ([`OutsiderRead`], chosen per fault by the catalogue)
//! — and records whether the data was `exposed` or the grant `neutralized` by a control that made it
//! ineffective (S3 Block Public Access's IgnorePublicAcls or RestrictPublicBuckets, GCS public access
//! prevention). The canary's key is journalled with the fault's intent, before anything is written, and the
//! canary is removed with the revert (verified gone), whether or not the fault's own revert succeeded.
//!
//! [`judge`] decides from the anonymous answer, purely; the providers only place, read and remove.

pub use rdfi_core::catalogue::{OutsiderRead, outsider_read};
use rdfi_proto::v1::ExposureOutcome;

/// The key prefix of the canaries rdfi places to prove an exposure. Not `rdfi-canary/`, the prefix of the
/// canary objects operators place for `aws.s3.object-public-acl`: rdfi never touches those.
pub const CANARY_PREFIX: &str = "rdfi-exposure/";

/// A canary object: its key in the faulted bucket and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canary {
    pub key: String,
    pub content: String,
}

impl Canary {
    /// The canary of one fault instance: its key and content follow from the instance id alone, so a
    /// restarted executor knows what to remove from the key in its journal.
    pub fn for_fault(fault_instance_id: &str) -> Canary {
        Canary::with_key(format!("{CANARY_PREFIX}{fault_instance_id}.txt"))
    }

    /// The canary with this key, as [`Canary::for_fault`] wrote it.
    pub fn with_key(key: String) -> Canary {
        let content = format!(
            "rdfi exposure canary {key}: placed by rdfi to prove that a fault made this bucket public; not \
             real data, removed with the fault's revert\n"
        );
        Canary { key, content }
    }
}

/// What an anonymous request for the canary got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnonymousAnswer {
    /// An object's content (a GET answered with success).
    Object(Vec<u8>),
    /// The keys a listing named (a list answered with success).
    Listing(Vec<String>),
    /// An HTTP error answer: its status and the cloud's error code or message.
    Status { status: u16, code: String },
    /// No answer (a transport failure, a timeout).
    Unreachable(String),
}

/// The proof as judged from the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub outcome: ExposureOutcome,
    /// What the anonymous request got, for people.
    pub answer: String,
}

/// Whether the outsider's `read` answered with `answer` proves the exposure of `canary`: exposed when it got
/// the canary itself (its content, or its key in the listing), neutralized when the cloud refused it (401,
/// 403), unproven otherwise (another error, no answer, an answer without the canary).
pub fn judge(read: OutsiderRead, canary: &Canary, answer: &AnonymousAnswer) -> Judgement {
    let (outcome, answer) = match (read, answer) {
        (OutsiderRead::GetObject, AnonymousAnswer::Object(content))
            if content == canary.content.as_bytes() =>
        {
            (
                ExposureOutcome::Exposed,
                "HTTP 200 with the canary's content".to_owned(),
            )
        }
        (OutsiderRead::ListObjects, AnonymousAnswer::Listing(keys))
            if keys.contains(&canary.key) =>
        {
            (
                ExposureOutcome::Exposed,
                format!(
                    "HTTP 200, a listing of {} key(s) naming the canary",
                    keys.len()
                ),
            )
        }
        (_, AnonymousAnswer::Object(content)) => (
            ExposureOutcome::Unproven,
            format!(
                "HTTP 200 with {} byte(s) that are not the canary's content",
                content.len()
            ),
        ),
        (_, AnonymousAnswer::Listing(keys)) => (
            ExposureOutcome::Unproven,
            format!(
                "HTTP 200, a listing of {} key(s) not naming the canary",
                keys.len()
            ),
        ),
        (_, AnonymousAnswer::Status { status, code }) if matches!(status, 401 | 403) => (
            ExposureOutcome::Neutralized,
            format!("HTTP {status} {code}").trim_end().to_owned(),
        ),
        (_, AnonymousAnswer::Status { status, code }) => (
            ExposureOutcome::Unproven,
            format!("HTTP {status} {code}").trim_end().to_owned(),
        ),
        (_, AnonymousAnswer::Unreachable(reason)) => {
            (ExposureOutcome::Unproven, format!("no answer: {reason}"))
        }
    };
    Judgement { outcome, answer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read() -> impl Strategy<Value = OutsiderRead> {
        prop_oneof![
            Just(OutsiderRead::GetObject),
            Just(OutsiderRead::ListObjects)
        ]
    }

    fn answer(canary: Canary) -> impl Strategy<Value = AnonymousAnswer> {
        let keys =
            proptest::collection::vec(prop_oneof![Just(canary.key.clone()), "[a-z/]{0,12}"], 0..4);
        prop_oneof![
            Just(AnonymousAnswer::Object(canary.content.into_bytes())),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(AnonymousAnswer::Object),
            keys.prop_map(AnonymousAnswer::Listing),
            (100u16..600, "[A-Za-z]{0,12}")
                .prop_map(|(status, code)| AnonymousAnswer::Status { status, code }),
            "[a-z ]{0,20}".prop_map(AnonymousAnswer::Unreachable),
        ]
    }

    #[test]
    fn canaries_are_named_after_the_fault_instance_outside_the_operators_prefix() {
        let canary = Canary::for_fault("f-1");
        assert_eq!(canary.key, "rdfi-exposure/f-1.txt");
        assert_eq!(Canary::with_key(canary.key.clone()), canary);
        assert!(!canary.key.starts_with(crate::model::s3::CANARY_PREFIX));
    }

    #[test]
    fn examples() {
        let canary = Canary::for_fault("f-1");
        let get = OutsiderRead::GetObject;
        let exposed = judge(
            get,
            &canary,
            &AnonymousAnswer::Object(canary.content.clone().into_bytes()),
        );
        assert_eq!(exposed.outcome, ExposureOutcome::Exposed);
        let denied = AnonymousAnswer::Status {
            status: 403,
            code: "AccessDenied".to_owned(),
        };
        assert_eq!(
            judge(get, &canary, &denied),
            Judgement {
                outcome: ExposureOutcome::Neutralized,
                answer: "HTTP 403 AccessDenied".to_owned()
            }
        );
        let listing = AnonymousAnswer::Listing(vec!["data.csv".to_owned(), canary.key.clone()]);
        assert_eq!(
            judge(OutsiderRead::ListObjects, &canary, &listing).outcome,
            ExposureOutcome::Exposed
        );
        // A listing proves nothing about a GET, and a GET's content proves nothing about a listing.
        assert_eq!(
            judge(get, &canary, &listing).outcome,
            ExposureOutcome::Unproven
        );
        let content = AnonymousAnswer::Object(canary.content.clone().into_bytes());
        assert_eq!(
            judge(OutsiderRead::ListObjects, &canary, &content).outcome,
            ExposureOutcome::Unproven
        );
    }

    proptest! {
        #[test]
        fn exposed_only_by_the_canary_itself_and_neutralized_only_by_a_refusal(
            (read, canary, answer) in (read(), "[a-z0-9-]{1,12}")
                .prop_flat_map(|(read, id)| {
                    let canary = Canary::for_fault(&id);
                    (Just(read), Just(canary.clone()), answer(canary))
                })
        ) {
            let judged = judge(read, &canary, &answer);
            let got_the_canary = match (&answer, read) {
                (AnonymousAnswer::Object(content), OutsiderRead::GetObject) => {
                    *content == canary.content.as_bytes()
                }
                (AnonymousAnswer::Listing(keys), OutsiderRead::ListObjects) => keys.contains(&canary.key),
                _ => false,
            };
            let refused = matches!(answer, AnonymousAnswer::Status { status: 401 | 403, .. });
            prop_assert_eq!(judged.outcome == ExposureOutcome::Exposed, got_the_canary);
            prop_assert_eq!(judged.outcome == ExposureOutcome::Neutralized, refused);
            prop_assert!(judged.outcome != ExposureOutcome::Unspecified);
            prop_assert!(!judged.answer.is_empty());
        }
    }
}
