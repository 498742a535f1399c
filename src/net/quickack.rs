//! Connections that acknowledge at once. Many MCP servers write a response in two small writes
//! (the SSE priming event, then the result) without `TCP_NODELAY`: Nagle's algorithm then holds
//! the second write until the first is acknowledged, and Linux delays that acknowledgement by up
//! to 40 ms. Re-arming `TCP_QUICKACK` after every read (it does not stay set) makes our side
//! acknowledge at once: a loopback call to such a server takes a fraction of a millisecond
//! instead of ~44 ms.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

/// A TCP connection that re-arms `TCP_QUICKACK` after every read.
pub struct QuickAck {
    inner: TokioIo<TcpStream>,
}

impl QuickAck {
    fn rearm(&self) {
        // Best effort: a socket that refuses it is merely slower.
        let _ = socket2::SockRef::from(self.inner.inner()).set_tcp_quickack(true);
    }
}

impl Read for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) {
            self.rearm();
        }
        polled
    }
}

impl Write for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

impl Connection for QuickAck {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

/// hyper-util's HTTP connector (`TCP_NODELAY` on) whose connections are [`QuickAck`].
#[derive(Clone)]
pub struct QuickAckConnector {
    http: HttpConnector,
}

impl Default for QuickAckConnector {
    fn default() -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        Self { http }
    }
}

impl tower::Service<Uri> for QuickAckConnector {
    type Response = QuickAck;
    type Error = <HttpConnector as tower::Service<Uri>>::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        Box::pin(async move {
            let inner = connecting.await?;
            let stream = QuickAck { inner };
            stream.rearm();
            Ok(stream)
        })
    }
}

/// The process's one plain-HTTP client for upstream servers (its connection pool is shared by
/// every upstream and reconnect).
pub fn http_client() -> Client<QuickAckConnector, Full<Bytes>> {
    static CLIENT: std::sync::OnceLock<Client<QuickAckConnector, Full<Bytes>>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| Client::builder(TokioExecutor::new()).build(QuickAckConnector::default()))
        .clone()
}
