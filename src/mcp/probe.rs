//! `ProbeGuard`: a transport wrapper for `protocol = "auto"`. rmcp probes with `server/discover`
//! and falls back to `initialize` when the probe gets no answer within its own 10 seconds; a
//! server that is merely slow to start then answers the abandoned probe first, and rmcp would
//! take that reply as a conflicting `initialize` reply. Once `initialize` is sent, replies to
//! earlier `server/discover` requests are dropped here, so the start-up timeout stays the only
//! limit.

use std::borrow::Cow;

use rmcp::RoleClient;
use rmcp::model::{ClientJsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;

/// Drops late replies to abandoned `server/discover` probes (see the module docs).
pub struct ProbeGuard<T> {
    inner: T,
    probes: Vec<RequestId>,
    abandoned: bool,
}

impl<T> ProbeGuard<T> {
    /// Guard `inner`.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            probes: Vec::new(),
            abandoned: false,
        }
    }

    fn observe_outgoing(&mut self, message: &ClientJsonRpcMessage) {
        if let ClientJsonRpcMessage::Request(request) = message {
            match request.request.method() {
                "server/discover" => self.probes.push(request.id.clone()),
                "initialize" => self.abandoned = !self.probes.is_empty(),
                _ => {}
            }
        }
    }

    fn is_late_probe_reply(&self, message: &ServerJsonRpcMessage) -> bool {
        if !self.abandoned {
            return false;
        }
        let id = match message {
            ServerJsonRpcMessage::Response(response) => Some(&response.id),
            ServerJsonRpcMessage::Error(error) => error.id.as_ref(),
            _ => None,
        };
        id.is_some_and(|id| self.probes.contains(id))
    }
}

impl<T> Transport<RoleClient> for ProbeGuard<T>
where
    T: Transport<RoleClient>,
{
    type Error = T::Error;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.observe_outgoing(&item);
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let message = self.inner.receive().await?;
            if self.is_late_probe_reply(&message) {
                tracing::debug!("dropped a late reply to an abandoned server/discover probe");
                continue;
            }
            return Some(message);
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
