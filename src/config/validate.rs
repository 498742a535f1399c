//! From the raw serde shape to the typed [`Config`]: the checks serde cannot express, `${VAR}`
//! interpolation, paths resolved against the config's folder, and errors that keep the line,
//! column, server and key of whatever is wrong.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use url::Url;

use super::locate::{At, Location};
use super::policy::{self, RawAudit, RawPolicy};
use super::raw::{RawFile, RawGateway, RawServer, RawTools, TransportKind};
use super::store::{RawStore, StoreConfig, StoreUrl};
use super::telemetry::{RawTelemetry, TelemetryConfig};
use super::upstream_auth::{ClientSecret, RawUpstreamAuth, UpstreamAuth, UpstreamGrant};
use super::{
    AuditConfig, CallerSessions, Config, ConfigError, DEFAULT_STARTUP_TIMEOUT, DEFAULT_TIMEOUT,
    Effect, GatewaySettings, MissingVar, PolicyConfig, RateLimitConfig, RuleSource, ServerConfig,
    SessionMode, ToolFilter, TransportConfig, interpolate,
};

/// Checks one file's raw tables and builds the typed config.
pub(super) struct Checker<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    /// The config file's folder (absolute): relative paths resolve against it.
    pub base: &'a Path,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    pub(super) fn at(&self, span: Range<usize>) -> At {
        At(Some(Location::of(self.text, span.start)))
    }

    fn server_err(
        &self,
        server: &str,
        key: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Server {
            path: self.path.to_path_buf(),
            at: self.at(span),
            server: server.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// The value of a string key after `${VAR}` interpolation.
    fn interp(
        &self,
        server: &str,
        key: &str,
        value: &Spanned<String>,
    ) -> Result<String, ConfigError> {
        interpolate(value.get_ref(), self.env).map_err(|MissingVar(var)| {
            let message = format!("environment variable `{var}` is not set");
            self.server_err(server, key, value.span(), message)
        })
    }

    fn interp_map(
        &self,
        server: &str,
        key: &str,
        map: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        map.map(Spanned::into_inner)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| Ok((k.clone(), self.interp(server, &format!("{key}.{k}"), &v)?)))
            .collect()
    }

    /// The typed config of a file whose raw tables serde accepted.
    pub fn config(&self, raw: RawFile) -> Result<Config, ConfigError> {
        let gateway = self.gateway(raw.gateway)?;
        let auth = self.auth(raw.auth)?;
        let servers = raw
            .servers
            .0
            .into_iter()
            .map(|(name, server)| self.server(name, server))
            .collect::<Result<_, _>>()?;
        Ok(Config {
            path: self.path.to_path_buf(),
            dir: self.base.to_path_buf(),
            gateway,
            auth,
            servers,
            models: raw.models.unwrap_or_default(),
            policy: raw.policy.map(|p| self.policy(p)).transpose()?,
            audit: raw.audit.map(|a| self.audit(a)),
            store: raw
                .store
                .map(|s| self.store(s))
                .transpose()?
                .unwrap_or_default(),
            telemetry: raw
                .telemetry
                .map(|t| self.telemetry(t))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    fn section_err(
        &self,
        section: &str,
        key: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Section {
            path: self.path.to_path_buf(),
            at: self.at(span),
            section: section.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn policy(&self, raw: RawPolicy) -> Result<PolicyConfig, ConfigError> {
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, rule) in raw.rules.into_iter().enumerate() {
            let span = rule.span();
            let rule = rule.into_inner();
            let section = format!("policy.rules[{i}]");
            let (effect, expression) = match (rule.allow, rule.deny) {
                (Some(allow), None) => (Effect::Allow, allow),
                (None, Some(deny)) => (Effect::Deny, deny),
                (Some(_), Some(deny)) => {
                    let message = "a rule has either `allow` or `deny`, not both";
                    return Err(self.section_err(&section, "deny", deny.span(), message));
                }
                (None, None) => {
                    let message = "a rule needs `allow = '<CEL>'` or `deny = '<CEL>'`";
                    return Err(self.section_err(&section, "", span, message));
                }
            };
            let start = expression.span().start;
            let start = start + policy::opener_len(self.text, start);
            rules.push(RuleSource {
                effect,
                expression: expression.into_inner(),
                at: Location::of(self.text, start),
            });
        }
        let rate_limit = raw
            .rate_limit
            .map(|r| RateLimitConfig {
                per_minute: r.per_minute.map(policy::per_minute),
                tools: r
                    .tools
                    .into_iter()
                    .map(|(tool, n)| (tool, policy::per_minute(n)))
                    .collect(),
            })
            .unwrap_or_default();
        Ok(PolicyConfig {
            default: raw.default.unwrap_or_default(),
            rules,
            rate_limit,
        })
    }

    fn store(&self, raw: RawStore) -> Result<StoreConfig, ConfigError> {
        let mut store = StoreConfig::default();
        if let Some(url) = raw.url {
            let parsed = StoreUrl::parse(url.get_ref(), self.base)
                .map_err(|message| self.section_err("store", "url", url.span(), message))?;
            store.url = Some(parsed);
        }
        if let Some(ttl) = raw.conversation_ttl_secs {
            store.conversation_ttl = ttl.0;
        }
        Ok(store)
    }

    fn audit(&self, raw: RawAudit) -> AuditConfig {
        let path = raw
            .path
            .map(Spanned::into_inner)
            .filter(|p| p != "-")
            .map(|p| self.base.join(p));
        AuditConfig {
            path,
            include_arguments: raw.include_arguments,
        }
    }

    fn telemetry(&self, raw: RawTelemetry) -> Result<TelemetryConfig, ConfigError> {
        if let Some(ratio) = &raw.sample_ratio
            && !(0.0..=1.0).contains(ratio.get_ref())
        {
            let message = "must be between 0.0 and 1.0";
            return Err(self.section_err("telemetry", "sample_ratio", ratio.span(), message));
        }
        if let Some(endpoint) = &raw.endpoint
            && Url::parse(endpoint.get_ref()).is_err()
        {
            let message = "must be a URL such as http://127.0.0.1:4318";
            return Err(self.section_err("telemetry", "endpoint", endpoint.span(), message));
        }
        Ok(TelemetryConfig {
            endpoint: raw.endpoint.map(Spanned::into_inner),
            protocol: raw.protocol,
            service_name: raw.service_name,
            sample_ratio: raw.sample_ratio.map(Spanned::into_inner),
            capture_content: raw.capture_content,
        })
    }

    fn gateway(&self, raw: Option<RawGateway>) -> Result<GatewaySettings, ConfigError> {
        let mut settings = GatewaySettings::default();
        let Some(raw) = raw else {
            return Ok(settings);
        };
        if let Some(separator) = raw.separator {
            if separator.get_ref().is_empty() {
                return Err(ConfigError::Section {
                    path: self.path.to_path_buf(),
                    at: self.at(separator.span()),
                    section: "gateway".into(),
                    key: "separator".into(),
                    message: "must not be empty".into(),
                });
            }
            settings.separator = separator.into_inner();
        }
        if let Some(prefix) = raw.prefix {
            settings.prefix = prefix;
        }
        if let Some(name) = raw.name {
            settings.name = name;
        }
        if let Some(idle) = raw.session_idle_secs {
            settings.session_idle = idle.0;
        }
        if let Some(max) = raw.max_sessions {
            settings.max_sessions = max.0;
        }
        Ok(settings)
    }

    fn server(&self, name: String, raw: Spanned<RawServer>) -> Result<ServerConfig, ConfigError> {
        let table_span = raw.span();
        let mut raw = raw.into_inner();
        let transport = match (raw.command.take(), raw.url.take()) {
            (Some(_), Some(url)) => {
                let message = "a server has either `command` or `url`, not both";
                return Err(self.server_err(&name, "url", url.span(), message));
            }
            (None, None) => {
                let message = "a server needs `command` (stdio) or `url` (HTTP)";
                return Err(self.server_err(&name, "command", table_span, message));
            }
            (Some(command), None) => self.stdio(&name, command, &mut raw)?,
            (None, Some(url)) => self.http(&name, url, &mut raw)?,
        };
        let (session, caller_sessions) = self.sessions(&name, &raw)?;
        let auth = match raw.auth.take() {
            Some(auth) => {
                let span = auth.span();
                let auth = self.upstream_auth(&name, auth, &transport)?;
                if auth.grant == UpstreamGrant::TokenExchange && session != SessionMode::PerCaller {
                    let message = "grant = \"token_exchange\" needs session = \"per_caller\": a \
                                   server binds its session to the caller whose token opened it";
                    return Err(self.server_err(&name, "auth", span, message));
                }
                Some(auth)
            }
            None => None,
        };
        Ok(ServerConfig {
            auth,
            tools: self.tools(&name, raw.tools)?,
            timeout: raw.timeout_secs.map_or(DEFAULT_TIMEOUT, |s| s.0),
            startup_timeout: raw
                .startup_timeout_secs
                .map_or(DEFAULT_STARTUP_TIMEOUT, |s| s.0),
            protocol: raw.protocol.unwrap_or_default(),
            session,
            caller_sessions,
            transport,
            name,
        })
    }

    fn stdio(
        &self,
        name: &str,
        command: Spanned<String>,
        raw: &mut RawServer,
    ) -> Result<TransportConfig, ConfigError> {
        if let Some(kind) = raw
            .transport
            .as_ref()
            .filter(|k| *k.get_ref() != TransportKind::Stdio)
        {
            let message = format!("`{}` needs `url`, not `command`", kind.get_ref().name());
            return Err(self.server_err(name, "transport", kind.span(), message));
        }
        if let Some(headers) = &raw.headers {
            let message = "only HTTP servers (with `url`) take this key";
            return Err(self.server_err(name, "headers", headers.span(), message));
        }
        let args = raw
            .args
            .take()
            .map(|a| a.into_inner().0)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, a)| self.interp(name, &format!("args[{i}]"), a))
            .collect::<Result<_, _>>()?;
        let env = self.interp_map(name, "env", raw.env.take())?;
        let cwd = match raw.cwd.take() {
            Some(cwd) => Some(self.base.join(self.interp(name, "cwd", &cwd)?)),
            None => None,
        };
        let inherit_env = raw.inherit_env.take().is_some_and(Spanned::into_inner);
        let command = self.interp(name, "command", &command)?;
        let command = if command.contains('/') && Path::new(&command).is_relative() {
            self.base.join(&command).to_string_lossy().into_owned()
        } else {
            command
        };
        Ok(TransportConfig::Stdio {
            command,
            args,
            env,
            cwd,
            inherit_env,
        })
    }

    fn http(
        &self,
        name: &str,
        url: Spanned<String>,
        raw: &mut RawServer,
    ) -> Result<TransportConfig, ConfigError> {
        let stdio_only = [
            ("args", raw.args.as_ref().map(Spanned::span)),
            ("env", raw.env.as_ref().map(Spanned::span)),
            ("cwd", raw.cwd.as_ref().map(Spanned::span)),
            ("inherit_env", raw.inherit_env.as_ref().map(Spanned::span)),
        ];
        if let Some((key, Some(span))) = stdio_only.into_iter().find(|(_, s)| s.is_some()) {
            let message = "only stdio servers (with `command`) take this key";
            return Err(self.server_err(name, key, span, message));
        }
        let text = self.interp(name, "url", &url)?;
        let parsed = Url::parse(&text).map_err(|e| {
            let message = format!("`{text}` is not a valid URL: {e}");
            self.server_err(name, "url", url.span(), message)
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            let message = format!("`{parsed}` must be http or https");
            return Err(self.server_err(name, "url", url.span(), message));
        }
        let headers = self.interp_map(name, "headers", raw.headers.take())?;
        match raw.transport.as_ref().map(|k| (*k.get_ref(), k.span())) {
            None | Some((TransportKind::StreamableHttp, _)) => {
                Ok(TransportConfig::StreamableHttp {
                    url: parsed,
                    headers,
                })
            }
            Some((TransportKind::Sse, _)) => Ok(TransportConfig::Sse {
                url: parsed,
                headers,
            }),
            Some((TransportKind::Stdio, span)) => {
                let message = "`stdio` needs `command`, not `url`";
                Err(self.server_err(name, "transport", span, message))
            }
        }
    }

    fn upstream_auth(
        &self,
        name: &str,
        raw: Spanned<RawUpstreamAuth>,
        transport: &TransportConfig,
    ) -> Result<UpstreamAuth, ConfigError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let TransportConfig::StreamableHttp { url, headers } = transport else {
            let message = "only streamable HTTP servers (with `url`) take an `auth` table";
            return Err(self.server_err(name, "auth", span, message));
        };
        if headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("authorization"))
        {
            let message = "`auth` gives the server its token: drop `headers.Authorization`";
            return Err(self.server_err(name, "auth", span, message));
        }
        let client_id = self.interp(name, "auth.client_id", &raw.client_id)?;
        let client_secret = match &raw.client_secret_env {
            Some(var) => match (self.env)(var.get_ref()) {
                Some(secret) if !secret.is_empty() => Some(ClientSecret::new(secret)),
                _ => {
                    let message = format!(
                        "environment variable `{}` (the client secret) is not set",
                        var.get_ref()
                    );
                    return Err(self.server_err(
                        name,
                        "auth.client_secret_env",
                        var.span(),
                        message,
                    ));
                }
            },
            None => None,
        };
        let text = self.interp(name, "auth.token_url", &raw.token_url)?;
        let token_url = Url::parse(&text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                let message = format!("`{text}` is not an http(s) URL");
                self.server_err(name, "auth.token_url", raw.token_url.span(), message)
            })?;
        let resource = match &raw.resource {
            Some(r) => self.interp(name, "auth.resource", r)?,
            None => url.to_string(),
        };
        Ok(UpstreamAuth {
            grant: raw.grant.unwrap_or_default(),
            client_id,
            client_secret,
            token_url,
            scopes: raw.scopes.unwrap_or_default(),
            resource,
        })
    }

    fn sessions(
        &self,
        name: &str,
        raw: &RawServer,
    ) -> Result<(SessionMode, CallerSessions), ConfigError> {
        let session = raw.session.unwrap_or_default();
        let mut limits = CallerSessions::default();
        if session != SessionMode::PerCaller {
            let only = "only allowed with session = \"per_caller\"";
            if let Some(max) = &raw.max_callers {
                return Err(self.server_err(name, "max_callers", max.span(), only));
            }
            if let Some(idle) = &raw.caller_idle_secs {
                return Err(self.server_err(name, "caller_idle_secs", idle.span(), only));
            }
        }
        if let Some(max) = &raw.max_callers {
            limits.max = max.get_ref().0;
        }
        if let Some(idle) = &raw.caller_idle_secs {
            limits.idle = idle.get_ref().0;
        }
        Ok((session, limits))
    }

    fn tools(&self, name: &str, raw: Option<RawTools>) -> Result<ToolFilter, ConfigError> {
        let Some(raw) = raw else {
            return Ok(ToolFilter::default());
        };
        let deny = raw.deny.filter(|d| !d.get_ref().0.is_empty());
        if let (Some(_), Some(deny)) = (&raw.allow, &deny) {
            let message = "use either tools.allow or tools.deny, not both";
            return Err(self.server_err(name, "tools.deny", deny.span(), message));
        }
        Ok(ToolFilter {
            allow: raw.allow.map(|a| a.0),
            deny: deny.map(|d| d.into_inner().0).unwrap_or_default(),
            overrides: raw.overrides,
        })
    }
}
