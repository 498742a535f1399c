//! `UpstreamHandler`: our client-side rmcp handler for one upstream session, and `Routes`, the
//! calls in flight on it (tasks at the upstream included). An upstream's requests (sampling,
//! elicitation, roots), its progress and log messages and its task status notifications
//! (delivered in order by [`super::inbound`]) reach the one call they belong to — by the task
//! they name (`_meta["io.modelcontextprotocol/related-task"]`), by progress token, or by the
//! request whose HTTP response stream carried them — and nobody when that cannot be known for
//! certain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequest, CreateMessageRequestParams,
    CreateMessageResult, ElicitRequest, ElicitRequestParams, ElicitResult, Implementation,
    InputRequest, InputRequests, ListRootsRequest, ListRootsResult, NotificationMetaObject,
    ProgressToken, RequestId, ResourceUpdatedNotificationParam,
};
use rmcp::service::{InboundStreamOrigin, NotificationContext, RequestContext};
use rmcp::{ClientHandler, ErrorData, RoleClient};
use tokio::sync::{mpsc, watch};

use crate::workbench::CallObserver;

/// The `_meta` key that ties a message to a task (2025-11-25 tasks).
pub const RELATED_TASK_META: &str = "io.modelcontextprotocol/related-task";

/// The `_meta` key our HTTP client puts on a notification that arrived on the response stream
/// of one of our requests: the id of that request (see [`super::http_client`]).
pub const RELATED_REQUEST_META: &str = "dev.toolyard/relatedRequestId";

/// How long a message that names a call waits for that call's route to be registered (the
/// upstream may answer before the sending task has registered what it sent).
const REGISTER_GRACE: Duration = Duration::from_millis(250);

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

/// Whom an upstream session serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Every caller: a message that names no call goes to nobody.
    Shared,
    /// One caller (`session = "per_caller"`): a message that names no call goes to that
    /// caller's most recent call, since every call on the session is theirs.
    Dedicated,
}

/// What an upstream message says about the call it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribution {
    /// It arrived on the response stream of this upstream request.
    Request(RequestId),
    /// It carries this progress token.
    Token(ProgressToken),
    /// It names this task at the upstream.
    Task(String),
    /// It names no call (stdio, legacy SSE, or an HTTP stream not tied to a request).
    Unknown,
}

struct Route {
    id: u64,
    request: Option<RequestId>,
    token: ProgressToken,
    task: Option<String>,
    observer: Arc<dyn CallObserver>,
}

/// The in-flight calls on one upstream session, so that its progress and requests reach their
/// caller and no one else.
pub struct Routes {
    next: AtomicU64,
    calls: Mutex<Vec<Route>>,
    registered: watch::Sender<u64>,
    ownership: Ownership,
    /// Ordered delivery (see [`super::inbound`]): notifications queued so far, the last one
    /// delivered, and for each response the queue position it arrived at.
    queued: AtomicU64,
    delivered: watch::Sender<u64>,
    responses: Mutex<std::collections::HashMap<RequestId, u64>>,
}

/// How long a finished call waits for the notifications that arrived before its response.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

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
    /// An empty table for a session with this ownership.
    pub fn new(ownership: Ownership) -> Self {
        Self {
            next: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
            registered: watch::channel(0).0,
            ownership,
            queued: AtomicU64::new(0),
            delivered: watch::channel(0).0,
            responses: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// A notification was queued for ordered delivery: its position (1, 2, ...).
    pub fn queued(&self) -> u64 {
        self.queued.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The notification at `seq` (and every one before it) has been delivered.
    pub fn delivered(&self, seq: u64) {
        self.delivered.send_replace(seq);
    }

    /// The response to `request` arrived: remember how many notifications came before it.
    pub fn responded(&self, request: &RequestId) {
        let at = self.queued.load(Ordering::Acquire);
        let awaited = self
            .calls
            .lock()
            .is_ok_and(|calls| calls.iter().any(|r| r.request.as_ref() == Some(request)));
        if awaited && let Ok(mut responses) = self.responses.lock() {
            responses.insert(request.clone(), at);
        }
    }

    /// Wait until every notification that arrived before the response to `request` has been
    /// delivered to its call (bounded: a stuck observer never holds a result back for long).
    pub async fn drain(&self, request: &RequestId) {
        let at = self
            .responses
            .lock()
            .ok()
            .and_then(|mut r| r.remove(request))
            .unwrap_or(0);
        let mut delivered = self.delivered.subscribe();
        let _ = tokio::time::timeout(DRAIN_LIMIT, delivered.wait_for(|d| *d >= at)).await;
    }

    /// Whom the session serves.
    pub fn ownership(&self) -> Ownership {
        self.ownership
    }

    /// Register an in-flight call: the upstream request `request`, whose progress token is
    /// `token`, made for the caller behind `observer`.
    pub fn register(
        self: &Arc<Self>,
        request: RequestId,
        token: ProgressToken,
        observer: Arc<dyn CallObserver>,
    ) -> RouteGuard {
        self.add(Some(request), token, None, observer)
    }

    /// Register a task at the upstream, created by a request whose progress token was `token`
    /// (which stays valid for the task's life), for the caller behind `observer`.
    pub fn register_task(
        self: &Arc<Self>,
        task: String,
        token: ProgressToken,
        observer: Arc<dyn CallObserver>,
    ) -> RouteGuard {
        self.add(None, token, Some(task), observer)
    }

    fn add(
        self: &Arc<Self>,
        request: Option<RequestId>,
        token: ProgressToken,
        task: Option<String>,
        observer: Arc<dyn CallObserver>,
    ) -> RouteGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Route {
                id,
                request,
                token,
                task,
                observer,
            });
        }
        self.registered.send_modify(|n| *n += 1);
        RouteGuard {
            routes: Arc::clone(self),
            id,
        }
    }

    /// How many calls are in flight.
    pub fn in_flight(&self) -> usize {
        self.calls.lock().map(|c| c.len()).unwrap_or_default()
    }

    fn lookup(&self, attribution: &Attribution) -> Option<Arc<dyn CallObserver>> {
        let calls = self.calls.lock().ok()?;
        let found = match attribution {
            Attribution::Request(id) => calls.iter().find(|r| r.request.as_ref() == Some(id)),
            Attribution::Token(token) => calls.iter().find(|r| &r.token == token),
            Attribution::Task(task) => calls.iter().find(|r| r.task.as_ref() == Some(task)),
            Attribution::Unknown => match self.ownership {
                Ownership::Dedicated => calls.last(),
                Ownership::Shared => None,
            },
        };
        found.map(|r| Arc::clone(&r.observer))
    }

    /// The observer of the call a message belongs to, or `None` when no call can be named for
    /// certain. A message that names a call not registered yet (or, on a dedicated session,
    /// any message while no call is registered yet) waits briefly for it.
    pub async fn find(&self, attribution: &Attribution) -> Option<Arc<dyn CallObserver>> {
        let mut changes = self.registered.subscribe();
        if let Some(found) = self.lookup(attribution) {
            return Some(found);
        }
        // On a shared session an unnamed message belongs to nobody; on a dedicated one it
        // belongs to the caller's call, which may not have registered yet.
        if *attribution == Attribution::Unknown && self.ownership == Ownership::Shared {
            return None;
        }
        let deadline = tokio::time::Instant::now() + REGISTER_GRACE;
        loop {
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {
                    if let Some(found) = self.lookup(attribution) {
                        return Some(found);
                    }
                }
                _ => return None,
            }
        }
    }
}

/// The upstream task a message's `_meta` names, if any.
pub fn related_task(meta: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    meta.get(RELATED_TASK_META)?
        .get("taskId")?
        .as_str()
        .map(str::to_string)
}

/// Where a server→client request came from: the task it names, the response stream of one of
/// our requests (streamable HTTP marks it), or nothing we can tell.
pub fn request_attribution(context: &RequestContext<RoleClient>) -> Attribution {
    if let Some(task) = related_task(&context.meta) {
        return Attribution::Task(task);
    }
    match context.extensions.get::<InboundStreamOrigin>() {
        Some(InboundStreamOrigin::OutboundRequest(id)) => Attribution::Request(id.clone()),
        _ => Attribution::Unknown,
    }
}

/// Where a notification came from: the task it names, or our HTTP client's related-request
/// mark, if any.
pub fn notification_attribution(meta: &NotificationMetaObject) -> Attribution {
    if let Some(task) = related_task(meta) {
        return Attribution::Task(task);
    }
    meta.get(RELATED_REQUEST_META)
        .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok())
        .map_or(Attribution::Unknown, Attribution::Request)
}

/// The client capabilities a shared upstream session declares: sampling and elicitation (an
/// HTTP upstream's requests can be attributed to their call; a stdio one's are refused with a
/// pointer to `per_caller`), never roots (servers ask for them outside any call).
pub fn shared_capabilities() -> ClientCapabilities {
    let mut capabilities = ClientCapabilities::default();
    capabilities.sampling = Some(Default::default());
    capabilities.elicitation = Some(Default::default());
    capabilities
}

/// Our rmcp client handler for one upstream connection.
#[derive(Clone)]
pub struct UpstreamHandler {
    /// The upstream's name (for logs and errors).
    pub server: Arc<str>,
    /// In-flight calls.
    pub routes: Arc<Routes>,
    /// Where list-change notices go.
    pub notices: mpsc::UnboundedSender<UpstreamNotice>,
    /// What this session tells the upstream it can answer.
    pub capabilities: ClientCapabilities,
}

impl ClientHandler for UpstreamHandler {
    fn get_info(&self) -> ClientConfig {
        let mut info = Implementation::default();
        info.name = "toolyard".into();
        info.version = env!("CARGO_PKG_VERSION").into();
        ClientConfig::new(self.capabilities.clone(), info)
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
    /// Relay one server→client request to the caller of the call it belongs to; the upstream's
    /// own cancellation of its request (`notifications/cancelled`) withdraws it from the caller
    /// too. A request that cannot be attributed for certain is refused, never guessed.
    async fn ask_caller<T: serde::de::DeserializeOwned>(
        &self,
        request: InputRequest,
        what: &str,
        context: &RequestContext<RoleClient>,
    ) -> Result<T, ErrorData> {
        let attribution = request_attribution(context);
        let Some(observer) = self.routes.find(&attribution).await else {
            tracing::warn!(
                server = %self.server,
                request = what,
                "upstream asked the client outside of any call it can be attributed to; refused"
            );
            return Err(unattributed(
                &self.server,
                what,
                &attribution,
                self.routes.ownership(),
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

fn unattributed(
    server: &str,
    what: &str,
    attribution: &Attribution,
    ownership: Ownership,
) -> ErrorData {
    let message = match (attribution, ownership) {
        (Attribution::Unknown, Ownership::Dedicated) => format!(
            "toolyard refused this {what} request: server `{server}` sent it while none of \
             this caller's calls was running"
        ),
        (Attribution::Unknown, Ownership::Shared) => format!(
            "toolyard cannot tell which of its callers this {what} request is for: server \
             `{server}` shares one session among callers and sent it outside of any request \
             stream; set `session = \"per_caller\"` for `{server}` in servers.toml"
        ),
        _ => format!(
            "toolyard refused this {what} request: the call it belongs to on server `{server}` \
             has already ended"
        ),
    };
    ErrorData::invalid_request(message, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workbench::NoObserver;

    fn observer() -> Arc<dyn CallObserver> {
        Arc::new(NoObserver)
    }

    fn token(n: i64) -> ProgressToken {
        ProgressToken(rmcp::model::NumberOrString::Number(n))
    }

    #[tokio::test]
    async fn a_shared_session_routes_only_what_names_a_call() {
        let routes = Arc::new(Routes::new(Ownership::Shared));
        let a = observer();
        let _a = routes.register(RequestId::Number(1), token(10), Arc::clone(&a));
        let _b = routes.register(RequestId::Number(2), token(20), observer());
        let found = routes
            .find(&Attribution::Request(RequestId::Number(1)))
            .await;
        assert!(found.is_some_and(|f| Arc::ptr_eq(&f, &a)));
        let found = routes.find(&Attribution::Token(token(10))).await;
        assert!(found.is_some_and(|f| Arc::ptr_eq(&f, &a)));
        assert!(routes.find(&Attribution::Unknown).await.is_none());
        let gone = Attribution::Request(RequestId::Number(3));
        assert!(routes.find(&gone).await.is_none());
    }

    #[tokio::test]
    async fn a_dedicated_session_gives_unnamed_messages_to_its_latest_call() {
        let routes = Arc::new(Routes::new(Ownership::Dedicated));
        let latest = observer();
        let _a = routes.register(RequestId::Number(1), token(1), observer());
        let _b = routes.register(RequestId::Number(2), token(2), Arc::clone(&latest));
        let found = routes.find(&Attribution::Unknown).await;
        assert!(found.is_some_and(|f| Arc::ptr_eq(&f, &latest)));
    }

    #[tokio::test]
    async fn a_dedicated_session_waits_for_the_call_a_question_came_before() {
        // A stdio upstream can ask before the sending task has registered its call.
        let routes = Arc::new(Routes::new(Ownership::Dedicated));
        let late = Arc::clone(&routes);
        let register = tokio::spawn(async move {
            tokio::task::yield_now().await;
            late.register(RequestId::Number(1), token(1), observer())
        });
        assert!(routes.find(&Attribution::Unknown).await.is_some());
        drop(register.await);
    }

    #[tokio::test]
    async fn a_message_that_names_a_call_waits_for_its_registration() {
        let routes = Arc::new(Routes::new(Ownership::Shared));
        let late = Arc::clone(&routes);
        let register = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            late.register(RequestId::Number(7), token(7), observer())
        });
        let found = routes
            .find(&Attribution::Request(RequestId::Number(7)))
            .await;
        assert!(found.is_some());
        drop(register.await);
    }
}
