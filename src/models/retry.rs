//! Retry policy: exponential backoff with jitter on 429/5xx/connection errors, honouring Retry-After.

use std::time::Duration;

use http::HeaderMap;

use super::error::ModelError;
use crate::net::Backoff;

/// The longest `Retry-After` we are willing to honour.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how long to retry failed requests.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Backoff before the first retry.
    pub initial_backoff: Duration,
    /// Backoff ceiling.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// A policy with `max_retries` and the default backoff.
    pub fn with_max_retries(max_retries: u32) -> Self {
        Self {
            max_retries,
            ..Self::default()
        }
    }

    /// The wait before retry number `attempt` (0-based) after `error`, or `None` to give up.
    pub fn delay_for(&self, attempt: u32, error: &ModelError) -> Option<Duration> {
        if attempt >= self.max_retries || !error.is_retryable() {
            return None;
        }
        if let ModelError::Status {
            retry_after: Some(wait),
            ..
        } = error
        {
            return Some((*wait).min(MAX_RETRY_AFTER));
        }
        Some(Backoff::new(self.initial_backoff, self.max_backoff).jittered(attempt))
    }
}

/// Reads `retry-after-ms` or `Retry-After` (seconds or an HTTP date) from response headers.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = header_str(headers, "retry-after")?;
    if let Ok(secs) = value.trim().parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let date = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, retry_after: Option<Duration>) -> ModelError {
        ModelError::Status {
            provider: "p".into(),
            status: code,
            message: String::new(),
            retry_after,
        }
    }

    #[test]
    fn retry_after_wins_over_backoff_and_is_capped() {
        let policy = RetryPolicy::default();
        let e = status(429, Some(Duration::from_secs(3)));
        assert_eq!(policy.delay_for(0, &e), Some(Duration::from_secs(3)));
        let e = status(503, Some(Duration::from_secs(3600)));
        assert_eq!(policy.delay_for(0, &e), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn backoff_grows_and_stops_after_max_retries() {
        let policy = RetryPolicy::with_max_retries(3);
        let e = status(500, None);
        let first = policy.delay_for(0, &e).unwrap_or_default();
        let third = policy.delay_for(2, &e).unwrap_or_default();
        assert!(first <= Duration::from_millis(500) && third >= Duration::from_millis(1500));
        assert_eq!(policy.delay_for(3, &e), None);
        assert_eq!(policy.delay_for(0, &status(400, None)), None);
        assert_eq!(policy.delay_for(0, &status(401, None)), None);
    }

    #[test]
    fn parses_seconds_milliseconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", http::HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", http::HeaderValue::from_static("250"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            http::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", http::HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
        for bad in ["inf", "NaN", "-1"] {
            h.insert("retry-after", http::HeaderValue::from_static(bad));
            assert_eq!(parse_retry_after(&h), None, "{bad}");
        }
    }
}
