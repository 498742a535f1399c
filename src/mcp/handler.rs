//! `UpstreamHandler`: our client-side rmcp handler. Routes an upstream's notifications and
//! requests (progress, logging, list changes, sampling, elicitation) to the calls that caused them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequest, CreateMessageRequestParams,
    CreateMessageResult, ElicitRequest, ElicitRequestParams, ElicitResult, Implementation,
    InputRequest, InputRequests, ListRootsRequest, ListRootsResult,
    LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken,
    ResourceUpdatedNotificationParam,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ClientHandler, ErrorData, RoleClient};
use tokio::sync::mpsc;

use crate::workbench::CallObserver;

/// A list an upstream told us changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamNotice {
    /// `notifications/tools/list_changed`.
    Tools,
    /// `notifications/resources/list_changed`.
    Resources,
    /// `notifications/prompts/list_changed`.
    Prompts,
    /// `notifications/resources/updated`.
    ResourceUpdated(String),
}

struct Route {
    id: u64,
    token: ProgressToken,
    observer: Arc<dyn CallObserver>,
}

/// The in-flight calls on one upstream, so that its progress and requests reach their caller.
#[derive(Default)]
pub struct Routes {
    next: AtomicU64,
    calls: Mutex<Vec<Route>>,
}

/// Removes a call's route when the call ends.
pub struct RouteGuard {
    routes: Arc<Routes>,
    id: u64,
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.routes.calls.lock() {
            calls.retain(|r| r.id != self.id);
        }
    }
}

impl Routes {
    /// Register an in-flight call whose upstream progress token is `token`.
    pub fn register(
        self: &Arc<Self>,
        token: ProgressToken,
        observer: Arc<dyn CallObserver>,
    ) -> RouteGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Route {
                id,
                token,
                observer,
            });
        }
        RouteGuard {
            routes: Arc::clone(self),
            id,
        }
    }

    fn by_token(&self, token: &ProgressToken) -> Option<Arc<dyn CallObserver>> {
        let calls = self.calls.lock().ok()?;
        calls
            .iter()
            .find(|r| &r.token == token)
            .map(|r| Arc::clone(&r.observer))
    }

    /// The most recently started call still in flight. MCP puts no call id on server→client
    /// requests over stdio, so sampling, elicitation and logging go to the newest caller.
    fn latest(&self) -> Option<Arc<dyn CallObserver>> {
        let calls = self.calls.lock().ok()?;
        calls.last().map(|r| Arc::clone(&r.observer))
    }
}

/// Our rmcp client handler for one upstream connection.
#[derive(Clone)]
pub struct UpstreamHandler {
    /// The upstream's name (for logs).
    pub server: Arc<str>,
    /// In-flight calls.
    pub routes: Arc<Routes>,
    /// Where list-change notices go.
    pub notices: mpsc::UnboundedSender<UpstreamNotice>,
}

impl ClientHandler for UpstreamHandler {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        capabilities.sampling = Some(Default::default());
        capabilities.elicitation = Some(Default::default());
        capabilities.roots = Some(Default::default());
        let mut info = Implementation::default();
        info.name = "toolyard".into();
        info.version = env!("CARGO_PKG_VERSION").into();
        ClientConfig::new(capabilities, info)
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if let Some(observer) = self.routes.by_token(&params.progress_token) {
            observer
                .progress(params.progress, params.total, params.message)
                .await;
        }
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        match self.routes.latest() {
            Some(observer) => observer.log(params).await,
            None => tracing::info!(
                target: "toolyard::upstream::log",
                server = %self.server,
                level = ?params.level,
                data = %params.data,
                "upstream log message"
            ),
        }
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.notices.send(UpstreamNotice::Tools);
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.notices.send(UpstreamNotice::Resources);
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.notices.send(UpstreamNotice::Prompts);
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self
            .notices
            .send(UpstreamNotice::ResourceUpdated(params.uri));
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let request = InputRequest::CreateMessage(CreateMessageRequest::new(params));
        self.ask_caller(request, "sampling", &context).await
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let request = InputRequest::Elicitation(ElicitRequest::new(params));
        self.ask_caller(request, "elicitation", &context).await
    }

    async fn list_roots(
        &self,
        context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        let request = InputRequest::ListRoots(ListRootsRequest {
            method: Default::default(),
            extensions: Default::default(),
        });
        self.ask_caller(request, "roots", &context).await
    }
}

impl UpstreamHandler {
    /// Relay one server→client request to the newest caller; the upstream's own cancellation
    /// of its request (`notifications/cancelled`) withdraws it from the caller too.
    async fn ask_caller<T: serde::de::DeserializeOwned>(
        &self,
        request: InputRequest,
        what: &str,
        context: &RequestContext<RoleClient>,
    ) -> Result<T, ErrorData> {
        let Some(observer) = self.routes.latest() else {
            return Err(ErrorData::invalid_request(
                format!("{}: {what} requested outside of any call", self.server),
                None,
            ));
        };
        let mut requests = InputRequests::new();
        requests.insert(what.to_string(), request);
        let mut answers = observer.input(requests, context.ct.clone()).await?;
        let answer = answers.remove(what).ok_or_else(|| {
            ErrorData::internal_error(format!("the caller gave no {what} answer"), None)
        })?;
        serde_json::from_value(answer).map_err(|e| {
            ErrorData::internal_error(format!("the caller's {what} answer: {e}"), None)
        })
    }
}
