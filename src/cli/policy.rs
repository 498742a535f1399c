//! `toolyard policy test`: decide one request with the `[policy]` rules of a config, for given
//! claims, and print the decision and the rule that made it (no upstream is started).

use std::process::ExitCode;

use anyhow::Context;
use rmcp::model::JsonObject;
use toolyard::config::{Config, Effect};
use toolyard::policy::{Claims, DecidedBy, Request, RuleSet};

use super::ConfigArgs;

/// `toolyard policy …`.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Decide one request for given claims; print the decision and the rule that made it.
    /// Exits 0 when it is allowed, 1 when it is refused.
    Test(TestArgs),
}

/// Options of `toolyard policy test`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["tool", "prompt", "resource"])))]
pub struct TestArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The caller's claims as a JSON object (`jwt` in rules), e.g. '{"sub":"bob"}'.
    #[arg(long, default_value = "{}")]
    claims: String,
    /// A `tools/call` of this served tool name (e.g. `everything__echo`).
    #[arg(long)]
    tool: Option<String>,
    /// A `prompts/get` of this served prompt name.
    #[arg(long)]
    prompt: Option<String>,
    /// A `resources/read` of this URI.
    #[arg(long)]
    resource: Option<String>,
    /// The server of `--tool` (`mcp.tool.server`); default: the configured server whose name
    /// and separator start the tool name.
    #[arg(long, requires = "tool")]
    server: Option<String>,
}

/// Run a `policy` subcommand.
pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Test(args) => test(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config.config)?;
    let claims: JsonObject = serde_json::from_str(&args.claims)
        .with_context(|| format!("--claims is not a JSON object: {}", args.claims))?;
    let Some(policy) = &config.policy else {
        println!(
            "allow: {} has no [policy]: every call is allowed",
            config.path.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let rules = RuleSet::compile(policy, &config.path)?;
    let server = match (&args.tool, args.server) {
        (Some(tool), None) => server_of(&config, tool),
        (_, server) => server.unwrap_or_default(),
    };
    let request = match (&args.tool, &args.prompt, &args.resource) {
        (Some(tool), _, _) => Request::tool(tool, &server),
        (_, Some(prompt), _) => Request::prompt(prompt),
        (_, _, Some(uri)) => Request::resource(uri),
        _ => anyhow::bail!("name one of --tool, --prompt or --resource"),
    };
    let decision = rules.decide(&Claims::new(Some(&claims)), request);
    let verdict = if decision.allowed { "allow" } else { "deny" };
    let what = match request.server() {
        Some(server) => format!(
            "{} `{}` (server `{server}`)",
            request.kind(),
            request.name()
        ),
        None => format!("{} `{}`", request.kind(), request.name()),
    };
    match &decision.by {
        DecidedBy::Rule {
            index,
            effect,
            error,
        } => {
            let source = rules
                .rules
                .get(*index)
                .map(|r| r.source.as_str())
                .unwrap_or_default();
            let how = match error {
                None => "holds".to_string(),
                Some(e) => format!("failed to evaluate ({e}); a failing deny rule refuses"),
            };
            println!("{verdict}: {what}");
            println!("  by rule {index} ({}), which {how}:", effect.name());
            println!("    {}", source.trim());
        }
        DecidedBy::Default => {
            println!("{verdict}: {what}");
            let default = if rules.default == Effect::Allow {
                "allow"
            } else {
                "deny"
            };
            println!("  no rule matched: default = \"{default}\"");
        }
    }
    Ok(if decision.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The configured server whose name plus the separator starts `tool` (the longest such name).
fn server_of(config: &Config, tool: &str) -> String {
    let separator = &config.gateway.separator;
    config
        .servers
        .iter()
        .map(|s| s.name.as_str())
        .filter(|name| {
            tool.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(separator.as_str()))
        })
        .max_by_key(|name| name.len())
        .unwrap_or_default()
        .to_string()
}
