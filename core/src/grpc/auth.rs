//! Who may call what: the bearer tokens of `--auth-tokens FILE` and the role each gRPC method needs.
//!
//! The decision is pure ([`authorize`]); the server's layer only reads the request's path and its
//! `authorization` header and answers with the status this module chooses.

use std::fmt;
use std::path::Path;

use subtle::ConstantTimeEq;

/// What a token may do. `Operate` may do everything `Read` may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Queries: runs, findings, controls, assets, campaigns, the active faults.
    Read,
    /// Everything that changes something: submitting experiments and campaigns, pausing, resuming or
    /// cancelling campaigns, aborting or resuming the executor.
    Operate,
}

impl Role {
    fn parse(word: &str) -> Option<Role> {
        match word {
            "read" => Some(Role::Read),
            "operate" => Some(Role::Operate),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Read => "read",
            Role::Operate => "operate",
        })
    }
}

/// The shortest token a tokens file may hold: shorter ones are guessable.
pub const MIN_TOKEN_LEN: usize = 16;

/// The tokens a server accepts, each with its role.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(Vec<u8>, Role)>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens themselves.
        write!(f, "Tokens({} entries)", self.entries.len())
    }
}

/// A tokens file that cannot be used, with the place of the mistake.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}{}: {reason}", line.map(|line| format!(":{line}")).unwrap_or_default())]
pub struct TokensError {
    pub source_name: String,
    pub line: Option<usize>,
    pub reason: String,
}

impl Tokens {
    /// Reads a tokens file: one `TOKEN ROLE` per line (roles `read` and `operate`); blank lines and lines
    /// starting with `#` are skipped.
    pub fn load(path: &Path) -> Result<Tokens, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|error| TokensError {
            source_name: path.display().to_string(),
            line: None,
            reason: format!("cannot read the tokens file: {error}"),
        })?;
        Tokens::parse(&text, &path.display().to_string())
    }

    /// Parses the text of a tokens file; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Tokens, TokensError> {
        let fail = |line: Option<usize>, reason: String| TokensError {
            source_name: source_name.to_owned(),
            line,
            reason,
        };
        let mut entries: Vec<(Vec<u8>, Role)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = Some(index + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [token, role] = fields[..] else {
                return Err(fail(
                    number,
                    format!(
                        "expected `TOKEN ROLE` (two fields), found {} fields",
                        fields.len()
                    ),
                ));
            };
            let role = Role::parse(role).ok_or_else(|| {
                fail(
                    number,
                    format!("unknown role {role:?}: the roles are read and operate"),
                )
            })?;
            if token.len() < MIN_TOKEN_LEN {
                return Err(fail(
                    number,
                    format!(
                        "the token is {} characters; at least {MIN_TOKEN_LEN} are needed",
                        token.len()
                    ),
                ));
            }
            if entries.iter().any(|(known, _)| known == token.as_bytes()) {
                return Err(fail(
                    number,
                    "this token is already listed on an earlier line".to_owned(),
                ));
            }
            entries.push((token.as_bytes().to_vec(), role));
        }
        if entries.is_empty() {
            return Err(fail(
                None,
                "no token: every call would be refused (lines are `TOKEN ROLE`)".to_owned(),
            ));
        }
        Ok(Tokens { entries })
    }

    /// The role of `presented`, comparing it with every known token in constant time.
    fn role_of(&self, presented: &[u8]) -> Option<Role> {
        let mut found = None;
        for (token, role) in &self.entries {
            if bool::from(token.as_slice().ct_eq(presented)) {
                found = Some(*role);
            }
        }
        found
    }
}

/// The gRPC methods a `read` token may call. Every other method of rdfi's services needs `operate`; a test
/// checks that each method is in exactly one of these lists.
pub const READ_METHODS: &[&str] = &[
    "/rdfi.v1.KnowledgeService/ListRuns",
    "/rdfi.v1.KnowledgeService/GetRun",
    "/rdfi.v1.KnowledgeService/ListFindings",
    "/rdfi.v1.KnowledgeService/ListControls",
    "/rdfi.v1.KnowledgeService/GetAssetHistory",
    "/rdfi.v1.KnowledgeService/ListPairTrials",
    "/rdfi.v1.KnowledgeService/ListAssets",
    "/rdfi.v1.KnowledgeService/ListAudit",
    "/rdfi.v1.PlannerService/ListCampaigns",
    "/rdfi.v1.PlannerService/GetCampaign",
    "/rdfi.v1.ExecutorService/ListActive",
];

/// The gRPC methods that change something and need an `operate` token.
pub const OPERATE_METHODS: &[&str] = &[
    "/rdfi.v1.PlannerService/SubmitExperiment",
    "/rdfi.v1.PlannerService/SubmitCampaign",
    "/rdfi.v1.PlannerService/PauseCampaign",
    "/rdfi.v1.PlannerService/ResumeCampaign",
    "/rdfi.v1.PlannerService/CancelCampaign",
    "/rdfi.v1.ExecutorService/Abort",
    "/rdfi.v1.ExecutorService/Resume",
];

/// The health service answers without a token: Kubernetes probes cannot send one, and it tells nothing.
const OPEN_PREFIX: &str = "/grpc.health.v1.Health/";

/// What a call to `path` needs: nothing (`None`), or a token of at least the role returned. A path no list
/// names (a method added later, or a probe) needs `operate`.
pub fn needed(path: &str) -> Option<Role> {
    if path.starts_with(OPEN_PREFIX) {
        None
    } else if READ_METHODS.contains(&path) {
        Some(Role::Read)
    } else {
        Some(Role::Operate)
    }
}

/// Why a call is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No usable token: gRPC `UNAUTHENTICATED`.
    Unauthenticated(String),
    /// A known token whose role is too weak: gRPC `PERMISSION_DENIED`.
    PermissionDenied(String),
}

impl Denied {
    pub fn status(&self) -> tonic::Status {
        match self {
            Denied::Unauthenticated(message) => tonic::Status::unauthenticated(message.clone()),
            Denied::PermissionDenied(message) => tonic::Status::permission_denied(message.clone()),
        }
    }
}

/// Decides a call to `path` carrying the `authorization` header `authorization` (if any).
pub fn authorize(
    tokens: &Tokens,
    path: &str,
    authorization: Option<&[u8]>,
) -> Result<Option<Role>, Denied> {
    let Some(required) = needed(path) else {
        return Ok(None);
    };
    let Some(header) = authorization else {
        return Err(Denied::Unauthenticated(
            "this server needs `authorization: Bearer TOKEN` (rdfi clients: --token or RDFI_TOKEN)"
                .to_owned(),
        ));
    };
    let presented = bearer(header).ok_or_else(|| {
        Denied::Unauthenticated("the authorization header is not `Bearer TOKEN`".to_owned())
    })?;
    let role = tokens.role_of(presented).ok_or_else(|| {
        Denied::Unauthenticated("the token is not one this server knows".to_owned())
    })?;
    if role < required {
        return Err(Denied::PermissionDenied(format!(
            "{path} needs a token with the {required} role; this one has {role}"
        )));
    }
    Ok(Some(role))
}

/// The token of an `authorization: Bearer TOKEN` header (the scheme in any case, RFC 6750).
fn bearer(header: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    if header.len() <= SCHEME.len() || !header[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let token = header[SCHEME.len()..].trim_ascii();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    const READER: &str = "reader-token-0123456789";
    const OPERATOR: &str = "operator-token-0123456789";

    fn tokens() -> Tokens {
        Tokens::parse(
            &format!("# who may call\n{READER} read\n\n  {OPERATOR}   operate  \n"),
            "tokens",
        )
        .unwrap()
    }

    fn call(path: &str, header: Option<&str>) -> Result<Option<Role>, Denied> {
        authorize(&tokens(), path, header.map(str::as_bytes))
    }

    #[test]
    fn every_method_of_every_service_is_classified_once() {
        let all: BTreeSet<&str> = rdfi_proto::methods::METHODS.iter().copied().collect();
        let read: BTreeSet<&str> = READ_METHODS.iter().copied().collect();
        let operate: BTreeSet<&str> = OPERATE_METHODS.iter().copied().collect();
        assert_eq!(read.len(), READ_METHODS.len());
        assert_eq!(operate.len(), OPERATE_METHODS.len());
        assert!(read.is_disjoint(&operate));
        let classified: BTreeSet<&str> = read.union(&operate).copied().collect();
        assert_eq!(classified, all);
    }

    #[test]
    fn reads_need_a_read_token_and_changes_an_operate_token() {
        let submit = "/rdfi.v1.PlannerService/SubmitExperiment";
        let list = "/rdfi.v1.KnowledgeService/ListRuns";
        let reader = format!("Bearer {READER}");
        let operator = format!("bearer {OPERATOR}");
        assert_eq!(call(list, Some(&reader)), Ok(Some(Role::Read)));
        assert_eq!(call(list, Some(&operator)), Ok(Some(Role::Operate)));
        assert_eq!(call(submit, Some(&operator)), Ok(Some(Role::Operate)));
        assert_eq!(
            call(submit, Some(&reader)),
            Err(Denied::PermissionDenied(format!(
                "{submit} needs a token with the operate role; this one has read"
            )))
        );
        for path in OPERATE_METHODS {
            assert!(matches!(
                call(path, Some(&reader)),
                Err(Denied::PermissionDenied(_))
            ));
            assert_eq!(call(path, Some(&operator)), Ok(Some(Role::Operate)));
        }
        for path in READ_METHODS {
            assert_eq!(call(path, Some(&reader)), Ok(Some(Role::Read)));
        }
    }

    #[test]
    fn calls_without_a_known_bearer_token_are_unauthenticated() {
        let list = "/rdfi.v1.KnowledgeService/ListRuns";
        for header in [
            None,
            Some("Basic cmVhZGVyOnRva2Vu"),
            Some("Bearer"),
            Some("Bearer "),
            Some("Bearer   "),
            Some("Bearer reader-token-012345678"),
            Some("Bearer reader-token-01234567890"),
            Some(READER),
        ] {
            assert!(
                matches!(call(list, header), Err(Denied::Unauthenticated(_))),
                "{header:?}"
            );
        }
        let status = call(list, None).unwrap_err().status();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert!(status.message().contains("--token or RDFI_TOKEN"));
    }

    #[test]
    fn health_answers_without_a_token_and_unknown_methods_need_operate() {
        assert_eq!(call("/grpc.health.v1.Health/Check", None), Ok(None));
        assert_eq!(call("/grpc.health.v1.Health/Watch", None), Ok(None));
        assert_eq!(needed("/rdfi.v1.PlannerService/Nope"), Some(Role::Operate));
        assert_eq!(needed("/grpc.health.v1.HealthCheck"), Some(Role::Operate));
        assert_eq!(
            needed("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Some(Role::Operate)
        );
    }

    #[test]
    fn a_bad_tokens_file_says_which_line_and_why() {
        let error = |text: &str| Tokens::parse(text, "auth.tokens").unwrap_err().to_string();
        assert_eq!(
            error("# only\n\n"),
            "auth.tokens: no token: every call would be refused (lines are `TOKEN ROLE`)"
        );
        assert_eq!(
            error(&format!("{READER} read\n{OPERATOR}\n")),
            "auth.tokens:2: expected `TOKEN ROLE` (two fields), found 1 fields"
        );
        assert_eq!(
            error(&format!("{READER} admin\n")),
            "auth.tokens:1: unknown role \"admin\": the roles are read and operate"
        );
        assert_eq!(
            error("short read\n"),
            "auth.tokens:1: the token is 5 characters; at least 16 are needed"
        );
        assert_eq!(
            error("fifteen-chars-x read\n"),
            "auth.tokens:1: the token is 15 characters; at least 16 are needed"
        );
        assert!(Tokens::parse("sixteen-chars-xx read\n", "auth.tokens").is_ok());
        assert_eq!(
            error(&format!("{READER} read\n{READER} operate\n")),
            "auth.tokens:2: this token is already listed on an earlier line"
        );
        assert_eq!(
            error(&format!("{READER} read extra\n")),
            "auth.tokens:1: expected `TOKEN ROLE` (two fields), found 3 fields"
        );
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        assert_eq!(format!("{:?}", tokens()), "Tokens(2 entries)");
    }

    proptest! {
        /// Only a listed token is accepted, and with exactly its own role.
        #[test]
        fn only_listed_tokens_are_accepted(
            presented in prop_oneof![
                Just(READER.to_owned()),
                Just(OPERATOR.to_owned()),
                "[ -~]{0,40}",
                "(reader|operator)-token-[0-9]{8,12} ?",
            ],
            path_index in 0usize..17,
        ) {
            let path = READ_METHODS.iter().chain(OPERATE_METHODS).nth(path_index).unwrap();
            let answer = call(path, Some(&format!("Bearer {presented}")));
            match presented.trim() {
                READER => prop_assert_eq!(
                    answer.is_ok(),
                    READ_METHODS.contains(path),
                ),
                OPERATOR => prop_assert_eq!(answer, Ok(Some(Role::Operate))),
                _ => prop_assert!(matches!(answer, Err(Denied::Unauthenticated(_)))),
            }
        }
    }
}
