//! AWS SDK errors as a person reads them: `Code: message` on one line, not the SDK's nested debug structures.

use std::error::Error;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// The error's code and message: from the SDK's error metadata, else from the XML of a body the SDK could not
/// model (an emulator's, or a new shape).
pub(crate) fn code_and_message<E>(
    error: &SdkError<E, HttpResponse>,
) -> (Option<String>, Option<String>)
where
    E: ProvideErrorMetadata,
{
    let body = error
        .raw_response()
        .and_then(|response| response.body().bytes())
        .map(String::from_utf8_lossy);
    let element = |name: &str| body.as_deref().and_then(|body| xml_element(body, name));
    let code = error.code().map(str::to_owned).or_else(|| element("Code"));
    let message = error
        .message()
        .map(str::to_owned)
        .or_else(|| element("Message"));
    (code, message)
}

/// An SDK error on one line: `Code: message` when the cloud answered with a code (`AccessDenied: Access
/// Denied`); else its chain of causes (`dispatch failure: io error: Connection refused`), after the HTTP
/// status when there was an answer.
pub(crate) fn summary<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match code_and_message(error) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        (None, _) => match error.raw_response() {
            Some(response) => format!("HTTP {}: {}", response.status().as_u16(), causes(error)),
            None => causes(error),
        },
    }
}

/// An error and its sources, joined by `: ` on one line; a cause that repeats the one before is said once.
pub(crate) fn causes(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && parts.last().is_none_or(|last| !last.ends_with(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
}

/// The text of the first `<name>` element of an XML body.
pub(crate) fn xml_element(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + body[start..].find(&format!("</{name}>"))?;
    Some(body[start..end].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            status.try_into().expect("a status code"),
            SdkBody::from(body.to_owned()),
        )
    }

    fn one_line_without_debug(text: &str) {
        assert!(!text.contains('\n'), "{text:?}");
        for debug in ["{", "DispatchFailure", "ConnectorError", "Os {", "source:"] {
            assert!(!text.contains(debug), "{debug} in {text:?}");
        }
    }

    #[test]
    fn an_answer_with_a_code_reads_code_and_message() {
        let error = SdkError::service_error(
            GetBucketAclError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("User: arn:aws:iam::123456789012:user/rdfi is not authorized")
                    .build(),
            ),
            answer(403, ""),
        );
        assert_eq!(
            summary(&error),
            "AccessDenied: User: arn:aws:iam::123456789012:user/rdfi is not authorized"
        );
        let code_only = SdkError::service_error(
            GetBucketAclError::generic(ErrorMetadata::builder().code("NoSuchBucket").build()),
            answer(404, ""),
        );
        assert_eq!(summary(&code_only), "NoSuchBucket");
    }

    #[test]
    fn a_body_the_sdk_could_not_model_still_names_its_code() {
        let error = SdkError::service_error(
            GetBucketAclError::generic(ErrorMetadata::builder().build()),
            answer(
                400,
                "<ErrorResponse><Error><Code>MalformedXML</Code>\n<Message>The XML you provided was not \
                 well-formed</Message></Error></ErrorResponse>",
            ),
        );
        assert_eq!(
            summary(&error),
            "MalformedXML: The XML you provided was not well-formed"
        );
    }

    #[test]
    fn an_answer_without_a_code_reads_its_status_and_causes() {
        let error = SdkError::service_error(
            GetBucketAclError::generic(ErrorMetadata::builder().build()),
            answer(502, "<html>bad gateway</html>"),
        );
        let text = summary(&error);
        assert!(text.starts_with("HTTP 502: service error"), "{text}");
        one_line_without_debug(&text);
    }

    #[test]
    fn no_answer_reads_the_chain_of_causes_on_one_line() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error:\n  Connection refused (os error 111)",
        );
        let error: SdkError<GetBucketAclError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let text = summary(&error);
        assert_eq!(
            text,
            "dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
        one_line_without_debug(&text);
        // What the SDK's own rendering says, for comparison: the same chain, then its debug structures.
        let sdk = aws_sdk_s3::error::DisplayErrorContext(&error).to_string();
        assert!(sdk.contains("DispatchFailure"), "{sdk}");

        let timeout: SdkError<GetBucketAclError, HttpResponse> =
            SdkError::timeout_error("operation timed out after 30s");
        assert_eq!(
            summary(&timeout),
            "request has timed out: operation timed out after 30s"
        );
    }

    #[test]
    fn a_cause_that_repeats_the_one_before_is_said_once() {
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(formatter, "credentials: {}", self.0)
            }
        }
        impl Error for Wrapper {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Wrapper(std::io::Error::other("no profile named ci"));
        assert_eq!(causes(&error), "credentials: no profile named ci");
    }

    #[test]
    fn error_codes_are_found_in_bodies_the_sdk_could_not_model() {
        let body = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>not authorized</Message></Error></Errors></ErrorResponse>";
        assert_eq!(xml_element(body, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(
            xml_element(body, "Message").as_deref(),
            Some("not authorized")
        );
        assert_eq!(xml_element(body, "RequestId"), None);
    }
}
