//! Bucket ACLs and default object ACLs, and the faults making them public.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::ACL_ALL_USERS;
use crate::model::{FaultSemantics, FaultState};

const EXAMPLE_PROJECT_NUMBER: &str = "123456789012";

/// One ACL entry (bucket ACL or default object ACL).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclEntry {
    /// `allUsers`, `user-EMAIL`, `group-EMAIL`, `project-owners-NUMBER`, ...
    pub entity: String,
    /// `OWNER`, `WRITER` or `READER`.
    pub role: String,
}

/// An access control list, sorted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessControlList {
    pub entries: Vec<AclEntry>,
}

impl AccessControlList {
    pub fn new(mut entries: Vec<AclEntry>) -> Self {
        entries.sort();
        entries.dedup();
        AccessControlList { entries }
    }

    /// Whether everyone on the internet may read (any role implies READER).
    pub fn grants_public_access(&self) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.entity == ACL_ALL_USERS)
    }

    /// This list with READER for allUsers added.
    pub fn with_public_read(&self) -> Self {
        let mut entries = self.entries.clone();
        entries.push(AclEntry {
            entity: ACL_ALL_USERS.to_owned(),
            role: "READER".to_owned(),
        });
        Self::new(entries)
    }

    /// This list without any entry for allUsers.
    pub fn without_public_access(&self) -> Self {
        Self::new(
            self.entries
                .iter()
                .filter(|entry| entry.entity != ACL_ALL_USERS)
                .cloned()
                .collect(),
        )
    }

    /// The project's owners, editors and viewers as the JSON API's predefined private ACL lists them, plus a
    /// partner group with read access.
    pub fn example() -> Self {
        let entry = |entity: String, role: &str| AclEntry {
            entity,
            role: role.to_owned(),
        };
        Self::new(vec![
            entry(format!("project-owners-{EXAMPLE_PROJECT_NUMBER}"), "OWNER"),
            entry(format!("project-editors-{EXAMPLE_PROJECT_NUMBER}"), "OWNER"),
            entry(
                format!("project-viewers-{EXAMPLE_PROJECT_NUMBER}"),
                "READER",
            ),
            entry("group-partner-analytics@example.org".to_owned(), "READER"),
        ])
    }
}

impl FaultState for AccessControlList {
    fn canonical(self) -> Self {
        AccessControlList::new(self.entries)
    }
}

/// One of a bucket's access control lists, as a public-read fault targets it.
pub trait AclField: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    const ASPECT: &'static str;
    /// The bucket field holding the list (`acl`, `defaultObjectAcl`).
    const FIELD: &'static str;
}

/// A fault that adds READER for allUsers to one of a bucket's ACLs.
pub struct AclPublicRead<L>(PhantomData<L>);

impl<L: AclField> FaultSemantics for AclPublicRead<L> {
    const ID: &'static str = L::ID;
    const PRESENT: &'static str = L::PRESENT;
    const ASPECT: &'static str = L::ASPECT;
    type State = AccessControlList;

    fn is_present(acl: &AccessControlList) -> bool {
        acl.grants_public_access()
    }

    fn inject(acl: &AccessControlList) -> AccessControlList {
        acl.with_public_read()
    }

    fn remediate(acl: &AccessControlList) -> AccessControlList {
        acl.without_public_access()
    }

    fn describe(acl: &AccessControlList) -> String {
        format!(
            "buckets.patch: set {} to the {} existing entries plus allUsers READER",
            L::FIELD,
            acl.entries.len()
        )
    }

    fn example() -> AccessControlList {
        AccessControlList::example()
    }
}

/// The bucket ACL (everyone may list the bucket once it is public).
pub struct BucketAclField;
impl AclField for BucketAclField {
    const ID: &'static str = "gcp.storage.bucket-acl-public-read";
    const PRESENT: &'static str = "the bucket ACL grants access to allUsers";
    const ASPECT: &'static str = "gcs.bucket-acl";
    const FIELD: &'static str = "acl";
}
/// `gcp.storage.bucket-acl-public-read`: READER for allUsers added to the bucket ACL (everyone may list it).
pub type BucketAclPublicRead = AclPublicRead<BucketAclField>;

/// The default object ACL (every object written from now on gets it).
pub struct DefaultObjectAclField;
impl AclField for DefaultObjectAclField {
    const ID: &'static str = "gcp.storage.bucket-default-object-acl-public-read";
    const PRESENT: &'static str = "the default object ACL grants access to allUsers";
    const ASPECT: &'static str = "gcs.bucket-default-object-acl";
    const FIELD: &'static str = "defaultObjectAcl";
}
/// `gcp.storage.bucket-default-object-acl-public-read`: READER for allUsers added to the default object ACL,
/// so every object written from now on is public.
pub type BucketDefaultObjectAclPublicRead = AclPublicRead<DefaultObjectAclField>;
