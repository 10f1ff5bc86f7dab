//! Any bytes given to the experiment and campaign parser and validator: it answers with a document, or with
//! errors that each name the file, a line of it (or none) and what is wrong, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdfi_core::experiment;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = experiment::parse_document(source, "fuzz.yaml") {
        assert!(!errors.0.is_empty(), "a refusal says why");
        // YAML's line breaks: LF, CRLF, and a lone CR.
        let lines = source.matches('\n').count() + source.matches('\r').count()
            - source.matches("\r\n").count()
            + 1;
        for error in &errors.0 {
            assert_eq!(error.file, "fuzz.yaml");
            assert!(!error.message.trim().is_empty(), "an error without words");
            assert!(
                error.line <= lines,
                "line {} of {lines}: {error}",
                error.line
            );
        }
    }
});
