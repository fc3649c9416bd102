//! Helpers of the Wutt client tests: a client aimed at a loopback
//! server, a multipart parser for captured requests, and raw TCP servers that
//! answer in ways a well-behaved HTTP server never would.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wutt_campaign::campaign::phone::PhoneNumber;
use wutt_campaign::config::Secret;
use wutt_campaign::wutt::{Client, ClientConfig};

pub const CLIENT_ID: &str = "client-7";
pub const SECRET: &str = "s3cr3t-DO-NOT-LOG-42";
pub const USER_AGENT: &str = "wutt-campaign-test/1";

pub fn phone() -> PhoneNumber {
    PhoneNumber::from_canonical(880, "1988123456")
}

pub fn config(base: &str, timeout: Duration) -> ClientConfig {
    ClientConfig {
        base_url: url::Url::parse(base).expect("test base URL"),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(SECRET),
        connect_timeout: Duration::from_secs(2),
        timeout,
        user_agent: USER_AGENT.into(),
    }
}

pub fn client(base: &str) -> Client {
    Client::new(config(base, Duration::from_secs(10))).expect("client")
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.data).expect("text part")
    }
}

/// The parts of a captured `multipart/form-data` request, in order.
pub async fn parts(req: &wiremock::Request) -> Vec<Part> {
    let ct = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .expect("content-type");
    let boundary = multer::parse_boundary(ct).expect("multipart boundary");
    let body = bytes::Bytes::from(req.body.clone());
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    while let Some(field) = mp.next_field().await.expect("well-formed multipart") {
        let name = field.name().expect("named part").to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.expect("part body").to_vec();
        out.push(Part {
            name,
            file_name,
            content_type,
            data,
        });
    }
    out
}

/// Reads one HTTP request (head and a Content-Length body) from a socket.
pub async fn read_request(sock: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return buf,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A server that reads each request, writes `answer` and closes the connection.
/// `None` means: read the request and never answer (keeps the socket open).
pub async fn raw_server(answer: Option<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                read_request(&mut sock).await;
                match answer {
                    Some(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                        let _ = sock.shutdown().await;
                    }
                    None => {
                        // Hold the connection open until the client gives up.
                        let mut sink = [0u8; 1024];
                        while matches!(sock.read(&mut sink).await, Ok(n) if n > 0) {}
                    }
                }
            });
        }
    });
    addr
}

/// A loopback port that nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr
}
