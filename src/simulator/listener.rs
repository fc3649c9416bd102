//! The simulator's TCP listener. Its connections can leave out the `Date`
//! header (`PUT /__sim/clock {"date_header": false}`): the HTTP server
//! writes a `Date` only when the response has none, so a response that
//! must have none carries [`NO_DATE`] instead, and the connection drops that
//! header line on its way out.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The `Date` value that means "no Date header".
pub(crate) const NO_DATE: &str = "wutt-sim-no-date";
/// The header line as the HTTP/1 server writes it.
const NO_DATE_LINE: &[u8] = b"date: wutt-sim-no-date\r\n";

pub(crate) struct SimListener(pub TcpListener);

impl Listener for SimListener {
    type Io = DateStrip;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (DateStrip, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((io, addr)) => {
                    let _ = io.set_nodelay(true);
                    return (DateStrip::new(io), addr);
                }
                Err(err) if is_connection_error(&err) => {}
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%err, "simulator: accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A connection that removes every [`NO_DATE_LINE`] it writes.
pub(crate) struct DateStrip {
    io: TcpStream,
    /// Filtered bytes not yet written.
    pending: Vec<u8>,
    pos: usize,
}

impl DateStrip {
    fn new(io: TcpStream) -> Self {
        DateStrip {
            io,
            pending: Vec::new(),
            pos: 0,
        }
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pos < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pos += n;
        }
        self.pending.clear();
        self.pos = 0;
        Poll::Ready(Ok(()))
    }
}

/// `buf` without any [`NO_DATE_LINE`], or `None` when it has none.
fn strip(buf: &[u8]) -> Option<Vec<u8>> {
    let find = |from: usize| {
        buf[from..]
            .windows(NO_DATE_LINE.len())
            .position(|w| w == NO_DATE_LINE)
            .map(|i| i + from)
    };
    let mut at = find(0)?;
    let mut out = Vec::with_capacity(buf.len());
    let mut from = 0;
    loop {
        out.extend_from_slice(&buf[from..at]);
        from = at + NO_DATE_LINE.len();
        match find(from) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.extend_from_slice(&buf[from..]);
    Some(out)
}

impl AsyncRead for DateStrip {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for DateStrip {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        match strip(buf) {
            None => Pin::new(&mut this.io).poll_write(cx, buf),
            Some(filtered) => {
                // Keep the filtered bytes and report the whole input as taken.
                this.pending = filtered;
                this.pos = 0;
                if let Poll::Ready(Err(err)) = this.poll_drain(cx) {
                    return Poll::Ready(Err(err));
                }
                Poll::Ready(Ok(buf.len()))
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_the_marker_line() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: wutt-sim-no-date\r\n\r\nok";
        assert_eq!(
            strip(head).unwrap(),
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        );
        assert!(strip(b"HTTP/1.1 200 OK\r\ndate: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n").is_none());
    }
}
