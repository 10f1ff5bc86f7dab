use super::acl::grant_headers;
use super::settings::xml_element_text;
use crate::model::s3::{self as model, BucketAcl, Grant};

#[test]
fn the_versioning_status_is_read_from_moto_s_answer() {
    let xml = r#"<?xml version="1.0"?><GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></GetBucketVersioningResponse>"#;
    assert_eq!(xml_element_text(xml, "Status"), Some("Enabled"));
    assert_eq!(xml_element_text(xml, "MfaDelete"), None);
}

#[test]
fn grant_headers_name_every_grantee_of_a_permission() {
    let acl = BucketAcl::new(
        "owner".to_owned(),
        None,
        vec![
            Grant::canonical_user("owner", "FULL_CONTROL"),
            Grant::canonical_user("partner", "READ"),
        ],
    )
    .with_public_read();
    let headers = grant_headers(&acl);
    assert_eq!(headers["FULL_CONTROL"], r#"id="owner""#);
    assert_eq!(
        headers["READ"],
        format!(r#"id="partner", uri="{}""#, model::ALL_USERS_URI)
    );
    assert_eq!(headers.len(), 2);
}
