//! A certificate authority for tests of TLS: a CA, a certificate for the services on 127.0.0.1 (valid as
//! server and as client, as one certificate is under mTLS) and a client certificate, as PEM files.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use tempfile::TempDir;

/// The files: `ca.pem`; `service.pem` and `service.key`; `client.pem` and `client.key`.
pub struct TestPki {
    pub dir: TempDir,
}

impl TestPki {
    pub fn new() -> TestPki {
        let dir = tempfile::tempdir().expect("a directory for the certificates");
        let write = |name: &str, text: String| {
            std::fs::write(dir.path().join(name), text).expect("a certificate file")
        };
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "rdfi test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
        write("ca.pem", ca.pem());
        let issuer = Issuer::new(ca_params, ca_key);
        for (name, names, usages) in [
            (
                "service",
                vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
                vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ],
            ),
            (
                "client",
                vec!["ci-pipeline".to_owned()],
                vec![ExtendedKeyUsagePurpose::ClientAuth],
            ),
        ] {
            let key = KeyPair::generate().expect("a key");
            let mut params = CertificateParams::new(names).expect("certificate parameters");
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = usages;
            let cert = params
                .signed_by(&key, &issuer)
                .expect("a signed certificate");
            write(&format!("{name}.pem"), cert.pem());
            write(&format!("{name}.key"), key.serialize_pem());
        }
        TestPki { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// [`TestPki::path`] as a command-line argument.
    pub fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

impl Default for TestPki {
    fn default() -> TestPki {
        TestPki::new()
    }
}
