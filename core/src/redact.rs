//! Secrets kept out of logs, errors and reports.

/// `url` without its user and password (`nats://alice:s3cret@bus:4222` is shown as `nats://bus:4222`); a
/// comma-separated list of URLs (as NATS takes) loses each one's.
pub fn url(url: &str) -> String {
    url.split(',')
        .map(without_user_info)
        .collect::<Vec<_>>()
        .join(",")
}

fn without_user_info(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // `user:password@host:4222` without a scheme, as NATS also accepts.
        return match url.rsplit_once('@') {
            Some((_, host)) if !host.contains('/') => host.to_owned(),
            _ => url.to_owned(),
        };
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_owned(),
    }
}

/// A secret given on the command line or in the environment (a bearer token): its `Debug` never shows it, so
/// that logging the arguments it came with does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for where it must go (a request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_shows_only_when_exposed() {
        let secret: Secret = "operate-token-0123456789".parse().unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(redacted)");
        assert_eq!(secret.expose(), "operate-token-0123456789");
    }

    #[test]
    fn urls_lose_their_credentials() {
        for (given, shown) in [
            ("nats://alice:s3cret@alerts:4222", "nats://alerts:4222"),
            ("nats://alerts:4222", "nats://alerts:4222"),
            ("tls://token@10.0.0.1:4222", "tls://10.0.0.1:4222"),
            (
                "nats://a:pw1@n1:4222,nats://a:pw2@n2:4222",
                "nats://n1:4222,nats://n2:4222",
            ),
            ("alice:s3cret@alerts:4222", "alerts:4222"),
            (
                "https://knowledge:50051/path@x",
                "https://knowledge:50051/path@x",
            ),
            (
                "https://user:p%40ss@knowledge:50051/v1",
                "https://knowledge:50051/v1",
            ),
        ] {
            assert_eq!(url(given), shown, "{given}");
        }
    }
}
