//! Host and Origin header validation for the HTTP server faces (DNS-rebinding and CSRF guard).

use http::{HeaderMap, StatusCode, header};

/// Which `Host` and `Origin` values an HTTP face accepts.
///
/// The default accepts only loopback names (`localhost`, `127.0.0.1`, `[::1]`) on any port, both
/// as the `Host` header and as the host of an `Origin` header. Requests without an `Origin` header
/// (non-browser clients) are always allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Accepted host names, optionally with a port (`example.com`, `example.com:8080`); an entry
    /// without a port matches any port. An empty list accepts every host.
    pub allowed_hosts: Vec<String>,
    /// Extra accepted origins (`https://app.example.com`, `http://tool.local:*`, `null`), checked
    /// when the origin's host is not in `allowed_hosts`. A port of `*` or no port matches any port.
    pub allowed_origins: Vec<String>,
}

impl Default for OriginPolicy {
    fn default() -> Self {
        Self::localhost()
    }
}

impl OriginPolicy {
    /// Loopback names on any port (the default).
    pub fn localhost() -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
        }
    }

    /// Accept every host and origin (for deployments behind a trusted proxy).
    pub fn permissive() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
        }
    }

    /// Add accepted hosts (builder style).
    pub fn with_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_hosts.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// Add accepted origins (builder style).
    pub fn with_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_origins
            .extend(origins.into_iter().map(Into::into));
        self
    }
}

/// Check the `Host` and `Origin` headers against `policy`.
///
/// Returns `Err(403)` for a disallowed or unparsable `Origin` or a disallowed `Host`, and
/// `Err(400)` for an unparsable `Host`. A missing header passes.
pub fn check_origin(headers: &HeaderMap, policy: &OriginPolicy) -> Result<(), StatusCode> {
    check_host(headers, policy)?;
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let allowed = origin
        .to_str()
        .ok()
        .and_then(Origin::parse)
        .is_some_and(|origin| origin_allowed(&origin, policy));
    if allowed {
        Ok(())
    } else {
        tracing::warn!(?origin, "rejected request with a disallowed Origin header");
        Err(StatusCode::FORBIDDEN)
    }
}

fn check_host(headers: &HeaderMap, policy: &OriginPolicy) -> Result<(), StatusCode> {
    if policy.allowed_hosts.is_empty() {
        return Ok(());
    }
    let Some(host) = headers.get(header::HOST) else {
        return Ok(());
    };
    let authority = host
        .to_str()
        .ok()
        .and_then(|value| http::uri::Authority::try_from(value.trim()).ok())
        .ok_or(StatusCode::BAD_REQUEST)?;
    let host_name = normalize_host(authority.host());
    if host_allowed(&host_name, authority.port_u16(), &policy.allowed_hosts) {
        Ok(())
    } else {
        tracing::warn!(?host, "rejected request with a disallowed Host header");
        Err(StatusCode::FORBIDDEN)
    }
}

/// A parsed `Origin` header value.
#[derive(Debug, PartialEq, Eq)]
enum Origin {
    Null,
    Tuple {
        scheme: String,
        host: String,
        port: Option<u16>,
    },
}

impl Origin {
    fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("null") {
            return Some(Self::Null);
        }
        let uri = http::Uri::try_from(value).ok()?;
        let authority = uri.authority()?;
        Some(Self::Tuple {
            scheme: uri.scheme_str()?.to_ascii_lowercase(),
            host: normalize_host(authority.host()),
            port: authority.port_u16(),
        })
    }
}

fn origin_allowed(origin: &Origin, policy: &OriginPolicy) -> bool {
    if let Origin::Tuple { host, port, .. } = origin
        && (policy.allowed_hosts.is_empty() || host_allowed(host, *port, &policy.allowed_hosts))
    {
        return true;
    }
    policy
        .allowed_origins
        .iter()
        .any(|allowed| allowed_origin_matches(allowed, origin))
}

fn allowed_origin_matches(allowed: &str, origin: &Origin) -> bool {
    let allowed = allowed.trim();
    let (base, any_port) = match allowed.strip_suffix(":*") {
        Some(base) => (base, true),
        None => (allowed, false),
    };
    match (Origin::parse(base), origin) {
        (Some(Origin::Null), Origin::Null) => true,
        (
            Some(Origin::Tuple {
                scheme: a_scheme,
                host: a_host,
                port: a_port,
            }),
            Origin::Tuple { scheme, host, port },
        ) => {
            a_scheme == *scheme
                && a_host == *host
                && (any_port || a_port.is_none() || a_port == *port)
        }
        _ => false,
    }
}

fn host_allowed(host: &str, port: Option<u16>, allowed_hosts: &[String]) -> bool {
    allowed_hosts.iter().any(|entry| {
        let entry = entry.trim();
        match http::uri::Authority::try_from(entry) {
            Ok(authority) if authority.port_u16().is_some() => {
                normalize_host(authority.host()) == host && authority.port_u16() == port
            }
            _ => normalize_host(entry) == host,
        }
    })
}

fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn no_headers_pass() {
        assert_eq!(
            check_origin(&HeaderMap::new(), &OriginPolicy::default()),
            Ok(())
        );
    }

    #[test]
    fn loopback_origins_pass_on_any_port() {
        let policy = OriginPolicy::default();
        for origin in [
            "http://localhost:3000",
            "http://127.0.0.1:9",
            "https://[::1]:8443",
            "http://LOCALHOST",
        ] {
            let map = headers(&[("host", "127.0.0.1:8080"), ("origin", origin)]);
            assert_eq!(check_origin(&map, &policy), Ok(()), "{origin}");
        }
    }

    #[test]
    fn foreign_origin_is_forbidden() {
        let map = headers(&[
            ("host", "localhost:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(
            check_origin(&map, &OriginPolicy::default()),
            Err(StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn null_and_garbage_origins_are_forbidden_by_default() {
        for origin in ["null", "not a url"] {
            let map = headers(&[("origin", origin)]);
            assert_eq!(
                check_origin(&map, &OriginPolicy::default()),
                Err(StatusCode::FORBIDDEN),
                "{origin}"
            );
        }
    }

    #[test]
    fn foreign_host_is_forbidden() {
        let map = headers(&[("host", "evil.example:8080")]);
        assert_eq!(
            check_origin(&map, &OriginPolicy::default()),
            Err(StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn ipv6_loopback_host_passes() {
        let map = headers(&[("host", "[::1]:8080")]);
        assert_eq!(check_origin(&map, &OriginPolicy::default()), Ok(()));
    }

    #[test]
    fn extra_origin_entries_match_scheme_host_and_port() {
        let policy = OriginPolicy::default().with_origins([
            "https://app.example:8443",
            "http://tool.example:*",
            "null",
        ]);
        let ok = [
            "https://app.example:8443",
            "http://tool.example:1234",
            "null",
        ];
        let bad = ["https://app.example:9000", "http://app.example:8443"];
        for origin in ok {
            assert_eq!(
                check_origin(&headers(&[("origin", origin)]), &policy),
                Ok(())
            );
        }
        for origin in bad {
            assert_eq!(
                check_origin(&headers(&[("origin", origin)]), &policy),
                Err(StatusCode::FORBIDDEN)
            );
        }
    }

    #[test]
    fn host_entry_with_port_matches_only_that_port() {
        let policy = OriginPolicy::permissive().with_hosts(["gw.example:8080"]);
        assert_eq!(
            check_origin(&headers(&[("host", "gw.example:8080")]), &policy),
            Ok(())
        );
        assert_eq!(
            check_origin(&headers(&[("host", "gw.example:9090")]), &policy),
            Err(StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn permissive_accepts_anything_parsable() {
        let map = headers(&[("host", "evil.example"), ("origin", "https://evil.example")]);
        assert_eq!(check_origin(&map, &OriginPolicy::permissive()), Ok(()));
    }
}
