//! The HTTP listener's accept loop: `TCP_NODELAY` on every accepted socket, a cap on the
//! connections one client address may hold open, hyper's header read timeout, and a two-step
//! stop (stop accepting; later, close the open connections after their current response).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What a refused connection is told before it is closed.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
content-length: 51\r\n\
connection: close\r\n\
\r\n\
{\"error\":\"too many connections from this address\"}\n";

/// How long to wait before accepting again after the listener failed (e.g. out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ListenConfig {
    /// How long a client may take to send a request's headers (also the idle time allowed
    /// between requests on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// Connections one client address may hold open at once; more are refused with 503.
    pub max_connections_per_client: usize,
    /// How long the open connections get to finish their current response once asked to
    /// close; then they are dropped.
    pub close_timeout: Duration,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections_per_client: 64,
            close_timeout: Duration::from_secs(5),
        }
    }
}

/// Serve `app` on `listener`. Accepts until `stop_accepting` is cancelled (the listening socket
/// is closed then, so new connections are refused) and keeps serving the open connections until
/// `close` is cancelled; then each closes after its current response (at most
/// `close_timeout`), and this returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ListenConfig,
    stop_accepting: CancellationToken,
    close: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let builder = Arc::new(builder);
    let clients = Arc::new(Clients::default());
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop_accepting.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(slot) = clients.admit(peer.ip(), config.max_connections_per_client) else {
            refuse(stream, peer);
            continue;
        };
        prepare(&stream);
        let connection = Connection {
            builder: Arc::clone(&builder),
            app: app.clone(),
            close: close.clone(),
            _slot: slot,
        };
        connections.spawn(connection.serve(stream, peer));
    }
    drop(listener);
    tracing::info!("no longer accepting connections");
    close.cancelled().await;
    let closed = tokio::time::timeout(config.close_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if closed.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the close timeout; dropping them"
        );
        connections.shutdown().await;
    }
}

/// Settings every accepted socket gets: no Nagle delay, so a small response written in two
/// parts does not wait for the client's delayed ACK.
fn prepare(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
}

/// Answer a connection over its address's cap with 503 (best effort) and close it.
fn refuse(stream: TcpStream, peer: SocketAddr) {
    tracing::debug!(%peer, "refusing a connection: too many from this address");
    let _ = stream.try_write(TOO_MANY);
}

/// One accepted connection, served until it ends or is asked to close.
struct Connection {
    builder: Arc<http1::Builder>,
    app: Router,
    close: CancellationToken,
    _slot: Slot,
}

impl Connection {
    async fn serve(self, stream: TcpStream, peer: SocketAddr) {
        let service = TowerToHyperService::new(self.app);
        let connection = self.builder.serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = self.close.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = result {
            // Timeouts, resets and malformed requests end up here; the client has gone.
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct Clients {
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl Clients {
    /// A slot for one more connection from `ip`, or `None` when it already holds `max`.
    fn admit(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            clients: Arc::clone(self),
            ip,
        })
    }
}

/// One admitted connection; dropping it frees the slot.
struct Slot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .clients
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_at_most_its_cap_and_a_closed_slot_is_reused() {
        let clients = Arc::new(Clients::default());
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let first = clients.admit(a, 2).expect("first");
        let _second = clients.admit(a, 2).expect("second");
        assert!(clients.admit(a, 2).is_none(), "third over the cap");
        assert!(
            clients.admit(b, 2).is_some(),
            "another address has its own cap"
        );
        drop(first);
        assert!(clients.admit(a, 2).is_some(), "a freed slot is reused");
    }

    #[test]
    fn the_refusal_is_one_complete_response() {
        let text = std::str::from_utf8(TOO_MANY).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{text}"
        );
        serde_json::from_str::<serde_json::Value>(body).expect("a JSON body");
    }

    #[tokio::test]
    async fn accepted_sockets_do_not_wait_for_nagle() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        prepare(&accepted);
        assert!(accepted.nodelay().expect("read TCP_NODELAY"));
    }
}
