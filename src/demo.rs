//! toolyard's small everyday example MCP server (rmcp): what `toolyard demo-server` and
//! `examples/demo_server` serve, over stdio or streamable HTTP at `/mcp`.
//!
//! Tools:
//! - `echo {message}`: returns the message;
//! - `add {a, b}`: returns a + b;
//! - `sleep {ms}`: waits, then returns `slept <ms> ms` (cancellable);
//! - `crash`: the process exits abruptly mid-call, without answering (for restart tests);
//! - `hang`: never answers (for timeout tests);
//! - `touch_tools`: enables the hidden tool `touched` and sends `notifications/tools/list_changed`
//!   (for list-changed tests).
//!
//! Also one resource (`demo://readme`) and one prompt (`greet {name}`). It logs to stderr only,
//! so stdout stays a clean stdio transport. It depends on rmcp alone (no other toolyard layer).

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    Implementation, ListResourcesResult, PaginatedRequestParams, PromptMessage,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, Role, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{
    ErrorData, RoleServer, ServerHandler, ServiceExt, prompt, prompt_handler, prompt_router,
    schemars, tool, tool_handler, tool_router,
};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// Why the demo server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The MCP handshake over stdio failed.
    #[error("demo server: MCP initialization failed")]
    Initialize(#[source] Box<rmcp::service::ServerInitializeError>),
    /// The stdio session task failed.
    #[error("demo server: the session task failed")]
    Session(#[source] tokio::task::JoinError),
    /// The HTTP listener could not be bound or failed.
    #[error("demo server: HTTP listener on {addr} failed")]
    Http {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// URI of the demo server's one resource.
const README_URI: &str = "demo://readme";
/// Text of the demo server's one resource.
const README_TEXT: &str =
    "demo_server: toolyard's example MCP server (echo, add, sleep, crash, hang, touch_tools).";
/// Name of the tool that `touch_tools` makes visible.
const TOUCHED_TOOL: &str = "touched";

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The message to send back.
    message: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// Left operand.
    a: f64,
    /// Right operand.
    b: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SleepArgs {
    /// How long to sleep, in milliseconds.
    ms: u64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct GreetArgs {
    /// Who to greet.
    name: String,
}

/// The demo server; one instance per MCP session.
#[derive(Clone)]
pub struct DemoServer {
    /// Tool routes; behind a lock because `touch_tools` changes the visible set at run time.
    tools: Arc<RwLock<ToolRouter<Self>>>,
    prompt_router: PromptRouter<Self>,
}

impl Default for DemoServer {
    fn default() -> Self {
        Self::new()
    }
}

impl DemoServer {
    /// A fresh server (the `touched` tool hidden until `touch_tools`).
    pub fn new() -> Self {
        Self {
            tools: Arc::new(RwLock::new(Self::tool_router().with_disabled(TOUCHED_TOOL))),
            prompt_router: Self::prompt_router(),
        }
    }

    /// A snapshot of the current tool routes (the lock is not held across an await).
    fn router(&self) -> ToolRouter<Self> {
        self.tools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[tool_router]
impl DemoServer {
    #[tool(description = "Echo a message back")]
    fn echo(&self, Parameters(EchoArgs { message }): Parameters<EchoArgs>) -> String {
        message
    }

    #[tool(description = "Add two numbers")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }

    #[tool(description = "Sleep for `ms` milliseconds, then answer")]
    async fn sleep(
        &self,
        Parameters(SleepArgs { ms }): Parameters<SleepArgs>,
        context: RequestContext<RoleServer>,
    ) -> String {
        report_start(&context, "sleeping").await;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        format!("slept {ms} ms")
    }

    #[tool(description = "Exit the server process abruptly, without answering (for restart tests)")]
    fn crash(&self) -> String {
        tracing::warn!("crash tool called: exiting without answering");
        std::process::exit(70)
    }

    #[tool(description = "Never answer (for timeout tests)")]
    async fn hang(&self, context: RequestContext<RoleServer>) -> String {
        report_start(&context, "hanging").await;
        std::future::pending::<String>().await
    }

    #[tool(
        description = "Make the tool `touched` appear and send notifications/tools/list_changed"
    )]
    async fn touch_tools(&self, context: RequestContext<RoleServer>) -> Result<String, ErrorData> {
        let newly_enabled = self
            .tools
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .enable_route(TOUCHED_TOOL);
        context
            .peer
            .notify_tool_list_changed()
            .await
            .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
        Ok(if newly_enabled {
            format!("added tool {TOUCHED_TOOL}")
        } else {
            format!("tool {TOUCHED_TOOL} was already there")
        })
    }

    #[tool(description = "A tool that appears only after touch_tools was called")]
    fn touched(&self) -> String {
        "touched".to_string()
    }
}

#[prompt_router]
impl DemoServer {
    #[prompt(name = "greet", description = "Ask the assistant to greet someone")]
    async fn greet(
        &self,
        Parameters(GreetArgs { name }): Parameters<GreetArgs>,
    ) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!("Please greet {name} warmly."),
        )]
    }
}

#[tool_handler(router = self.router())]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for DemoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new(
            "toolyard-demo",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions("toolyard's example server: echo, add, sleep, crash, hang, touch_tools")
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let readme = Resource::new(README_URI, "readme")
            .with_description("What this server is")
            .with_mime_type("text/plain");
        Ok(ListResourcesResult::with_all_items(vec![readme]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != README_URI {
            return Err(ErrorData::resource_not_found(
                format!("no resource {}", request.uri),
                None,
            ));
        }
        let contents = ResourceContents::text(README_TEXT, README_URI);
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// Serves one MCP session on stdin/stdout until the client leaves.
pub async fn serve_stdio() -> Result<(), DemoError> {
    let service = DemoServer::new()
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| DemoError::Initialize(Box::new(e)))?;
    service.waiting().await.map_err(DemoError::Session)?;
    Ok(())
}

/// Serves streamable HTTP at `/mcp` on `addr` until Ctrl-C; logs the bound address to stderr
/// as `listening on ADDR` (so `127.0.0.1:0` can be used).
pub async fn serve_http(addr: SocketAddr) -> Result<(), DemoError> {
    let http = |source| DemoError::Http { addr, source };
    let shutdown = CancellationToken::new();
    let config =
        StreamableHttpServerConfig::default().with_cancellation_token(shutdown.child_token());
    let service = StreamableHttpService::new(
        || Ok(DemoServer::new()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(http)?;
    tracing::info!("listening on {}", listener.local_addr().map_err(http)?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            // Ctrl-C ends the server; open sessions are cancelled with it.
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
        })
        .await
        .map_err(http)
}

/// Progress 0 with `message`, when the caller asked for progress (so a test can wait for the
/// call to be running instead of guessing).
async fn report_start(context: &RequestContext<RoleServer>, message: &str) {
    if let Some(token) = context.meta.get_progress_token() {
        let mut progress = rmcp::model::ProgressNotificationParam::new(token, 0.0);
        progress.message = Some(message.to_string());
        let _ = context.peer.notify_progress(progress).await;
    }
}
