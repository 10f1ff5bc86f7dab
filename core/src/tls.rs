//! One TLS crypto provider for the process. rustls is built here with two (ring, through tonic and
//! async-nats, and aws-lc-rs, through the AWS SDK, which names its own), and then must be told which one the
//! others use, or it refuses to choose.

/// Makes ring the process's default provider, unless one is set already. Cheap, and safe to call often.
pub fn use_ring() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one in between: either way a provider is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
