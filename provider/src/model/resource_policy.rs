//! Resource policies opened to everyone: one semantics for every service whose resources carry a policy
//! document (SQS queues, SNS topics, Secrets Manager secrets, ECR repositories, Lambda functions, KMS keys).
//! The faults differ only by what they let anyone do ([`PublicGrant`]): the fault adds one unconditioned
//! statement allowing those actions to `Principal: "*"`; it is present when any unconditioned statement allows
//! any of them to everyone, and its remediation removes every such statement.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::iam::{allows_everyone, statements, with_statement, without_statements};
use super::s3::canonical_policy;
use super::{FaultSemantics, FaultState};

/// The policy language version every policy rdfi writes from scratch declares.
const POLICY_VERSION: &str = "2012-10-17";

/// A state that holds one policy document, as the fault reads and writes it.
pub trait PolicyDocument: FaultState {
    /// The document; `None` when the resource has no policy.
    fn document(&self) -> Option<&Value>;

    /// This state with `document` in place of its own (a service that deletes a policy without statements
    /// reads it as none).
    fn with_document(&self, document: Value) -> Self;
}

/// A resource's policy where the service may have none (SQS, Secrets Manager, ECR, Lambda; SNS always has
/// one), with the resource's ARN for statements that name their resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePolicy {
    pub arn: String,
    /// The document with its statements sorted (see [`canonical_policy`]); `None` when the resource has no
    /// policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
}

impl FaultState for ResourcePolicy {
    fn canonical(self) -> Self {
        ResourcePolicy {
            document: self.document.map(canonical_policy),
            ..self
        }
    }
}

impl PolicyDocument for ResourcePolicy {
    fn document(&self) -> Option<&Value> {
        self.document.as_ref()
    }

    /// A document left without statements is no policy: the services delete such a policy (or refuse it), so
    /// that is how they read it back.
    fn with_document(&self, document: Value) -> Self {
        ResourcePolicy {
            arn: self.arn.clone(),
            document: (!statements(&document).is_empty()).then(|| canonical_policy(document)),
        }
    }
}

/// What a fault opening a resource policy to everyone lets anyone do, and on which kind of resource.
pub trait PublicGrant: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    const ASPECT: &'static str;
    /// The `Sid` of the statement the fault adds (the statement id, for services that address statements).
    const SID: &'static str;
    /// The actions the statement allows everyone; a string in the statement when there is one, as services
    /// answer it.
    const ACTIONS: &'static [&'static str];
    /// The call that writes the statement, for descriptions (`SetQueueAttributes`).
    const OPERATION: &'static str;
    type State: PolicyDocument;

    /// The statement's `Resource` element: services differ. `"*"` means the resource itself in KMS and
    /// Secrets Manager policies, SQS, SNS and Lambda name the resource's ARN, ECR refuses the element (`None`).
    fn statement_resource(state: &Self::State) -> Option<Value>;

    /// A secure policy with several statements, none public.
    fn example() -> Self::State;
}

/// A statement allowing [`PublicGrant::ACTIONS`] to `Principal: "*"`, unconditioned, added to the resource's
/// policy (a policy created when the resource had none).
pub struct PolicyOpenedToEveryone<G>(PhantomData<G>);

impl<G: PublicGrant> PolicyOpenedToEveryone<G> {
    fn public(statement: &Value) -> bool {
        G::ACTIONS
            .iter()
            .any(|action| allows_everyone(statement, action))
    }

    /// The statement the fault adds.
    pub fn statement(state: &G::State) -> Value {
        let action = match G::ACTIONS {
            [single] => json!(single),
            several => json!(several),
        };
        let mut statement =
            json!({"Sid": G::SID, "Effect": "Allow", "Principal": "*", "Action": action});
        if let Some(resource) = G::statement_resource(state) {
            statement["Resource"] = resource;
        }
        statement
    }
}

impl<G: PublicGrant> FaultSemantics for PolicyOpenedToEveryone<G> {
    const ID: &'static str = G::ID;
    const PRESENT: &'static str = G::PRESENT;
    const ASPECT: &'static str = G::ASPECT;
    type State = G::State;

    fn is_present(state: &G::State) -> bool {
        state
            .document()
            .is_some_and(|document| statements(document).into_iter().any(Self::public))
    }

    fn inject(state: &G::State) -> G::State {
        let document = state
            .document()
            .cloned()
            .unwrap_or_else(|| json!({"Version": POLICY_VERSION, "Statement": []}));
        state.with_document(with_statement(&document, Self::statement(state)))
    }

    fn remediate(current: &G::State) -> G::State {
        match current.document() {
            Some(document) => current.with_document(without_statements(document, Self::public)),
            None => current.clone(),
        }
    }

    fn describe(state: &G::State) -> String {
        format!(
            "{}: add a statement allowing {} to Principal * beside {} statement(s)",
            G::OPERATION,
            G::ACTIONS.join(", "),
            state
                .document()
                .map_or(0, |document| statements(document).len())
        )
    }

    fn example() -> G::State {
        G::example().canonical()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PublicSend;
    impl PublicGrant for PublicSend {
        const ID: &'static str = "test.queue-public";
        const PRESENT: &'static str = "anyone may send";
        const ASPECT: &'static str = "test.policy";
        const SID: &'static str = "RdfiFaultPublicSend";
        const ACTIONS: &'static [&'static str] = &["sqs:SendMessage", "sqs:ReceiveMessage"];
        const OPERATION: &'static str = "SetQueueAttributes";
        type State = ResourcePolicy;

        fn statement_resource(state: &ResourcePolicy) -> Option<Value> {
            Some(json!(state.arn))
        }

        fn example() -> ResourcePolicy {
            ResourcePolicy {
                arn: "arn:aws:sqs:us-east-1:123456789012:orders".to_owned(),
                document: Some(json!({"Version": POLICY_VERSION, "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"}, "Action": "sqs:*", "Resource": "*"},
                ]})),
            }
        }
    }
    type Fault = PolicyOpenedToEveryone<PublicSend>;

    #[test]
    fn a_resource_without_a_policy_gets_one_and_the_revert_removes_it_again() {
        let before = ResourcePolicy {
            arn: "arn:aws:sqs:us-east-1:123456789012:orders".to_owned(),
            document: None,
        };
        let injected = Fault::inject(&before);
        assert!(Fault::is_present(&injected));
        let statement = &injected.document.as_ref().unwrap()["Statement"][0];
        assert_eq!(
            statement["Action"],
            json!(["sqs:SendMessage", "sqs:ReceiveMessage"])
        );
        assert_eq!(statement["Resource"], json!(before.arn));
        assert_eq!(Fault::revert(&injected, &before), before);
        assert_eq!(Fault::remediate(&injected), before);
    }

    #[test]
    fn a_statement_added_meanwhile_stays_and_a_conditioned_public_one_is_not_the_fault() {
        let before = PublicSend::example();
        let mut current = Fault::inject(&before);
        let partner = json!({"Sid": "Partner", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}});
        current =
            current.with_document(with_statement(current.document().unwrap(), partner.clone()));
        let reverted = Fault::revert(&current, &before);
        assert!(!Fault::is_present(&reverted));
        assert!(statements(reverted.document().unwrap()).contains(&&partner));
        assert_eq!(statements(reverted.document().unwrap()).len(), 2);
        assert!(Fault::is_reverted(&reverted, &before));
    }
}
