//! A TCP proxy a test puts between a runner and PostgreSQL: it forwards bytes
//! both ways until [`Proxy::stall`], then holds every byte — and every new
//! connection — without closing anything, until [`Proxy::resume`]. To the
//! runner the database looks unreachable (not refused, not reset: silent).

#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    addr: SocketAddr,
    stalled: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a loopback port and forwards each connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stalled, rx) = watch::channel(false);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rx = rx.clone();
                tokio::spawn(async move {
                    // A connection made during a stall is accepted and held.
                    open(&mut rx.clone()).await;
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pump(cr, sw, rx.clone()), pump(sr, cw, rx));
                });
            }
        });
        Proxy {
            addr,
            stalled,
            accept,
        }
    }

    /// A proxy in front of the server of the PostgreSQL URL `db_url`.
    pub async fn for_database(db_url: &str) -> Proxy {
        let url = url::Url::parse(db_url).expect("a database URL");
        let host = url.host_str().expect("a TCP database URL").to_string();
        let port = url.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host.as_str(), port))
            .await
            .expect("resolve the database host")
            .next()
            .expect("an address of the database host");
        Proxy::start(upstream).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `db_url` aimed at this proxy instead.
    pub fn url(&self, db_url: &str) -> String {
        let mut url = url::Url::parse(db_url).expect("a database URL");
        url.set_host(Some("127.0.0.1")).expect("set host");
        url.set_port(Some(self.addr.port())).expect("set port");
        url.to_string()
    }

    /// Holds all traffic from now on (connections stay open).
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Lets the held traffic and everything after it through.
    pub fn resume(&self) {
        self.stalled.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Release anything held so the connection tasks can end.
        self.stalled.send_replace(false);
    }
}

/// Waits while the proxy is stalled (returns at once if the proxy is gone).
async fn open(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stalled| !*stalled).await;
}

/// Copies `from` to `to`, holding each chunk while the proxy is stalled.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut rx: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        open(&mut rx).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
