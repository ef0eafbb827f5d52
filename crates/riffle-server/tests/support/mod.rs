//! Test support: a real server on 127.0.0.1:0 over an in-memory engine, and a plain hyper
//! client for HTTP/1.1 and HTTP/2 (prior knowledge).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use riffle_engine::{Engine, EngineConfig};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Time allowed for any single wait on the server.
pub const WAIT: Duration = Duration::from_secs(20);

pub type Body = BoxBody<Bytes, Infallible>;

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub engine: Engine,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), riffle_server::ServerError>>,
}

impl Server {
    pub async fn start() -> Server {
        let engine = Engine::open(EngineConfig::default()).expect("in-memory engine opens");
        engine
            .start(tokio::runtime::Handle::current())
            .expect("engine starts");
        Self::serve(engine).await
    }

    pub async fn serve(engine: Engine) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(riffle_server::serve(engine.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            engine,
            stop: Some(stop),
            task,
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let res = tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("server stops in time");
        res.expect("server task").expect("server ran cleanly");
    }

    /// One HTTP/1.1 request on a fresh connection.
    pub async fn http1(
        &self,
        method: &str,
        path: &str,
        accept: Option<&str>,
        body: &str,
    ) -> Response<Incoming> {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream))
                .await
                .expect("http1 handshake");
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header(
                "content-type",
                "application/vnd.ksql.v1+json; charset=utf-8",
            );
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_string())).boxed())
            .expect("request");
        tokio::time::timeout(WAIT, sender.send_request(req))
            .await
            .expect("response in time")
            .expect("response")
    }

    /// One HTTP/2 (h2c prior knowledge) request on a fresh connection.
    pub async fn http2(&self, method: &str, path: &str, body: Body) -> Response<Incoming> {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http2::handshake::<_, _, Body>(
            TokioExecutor::new(),
            TokioIo::new(stream),
        )
        .await
        .expect("h2 handshake");
        tokio::spawn(conn);
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .body(body)
            .expect("request");
        tokio::time::timeout(WAIT, sender.send_request(req))
            .await
            .expect("response in time")
            .expect("response")
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let resp = self.http1("GET", path, None, "").await;
        let status = resp.status();
        (status, text(resp).await)
    }

    /// `POST /ksql`; returns the status and the parsed body.
    pub async fn ksql(&self, sql: &str) -> (StatusCode, Value) {
        self.ksql_with(sql, json!({})).await
    }

    /// `POST /ksql` with `streamsProperties`.
    pub async fn ksql_with(&self, sql: &str, properties: Value) -> (StatusCode, Value) {
        let body = json!({"ksql": sql, "streamsProperties": properties}).to_string();
        let resp = self.http1("POST", "/ksql", None, &body).await;
        let status = resp.status();
        let body = text(resp).await;
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    pub async fn ksql_ok(&self, sql: &str) -> Value {
        let (status, body) = self.ksql(sql).await;
        assert_eq!(status, StatusCode::OK, "{sql} failed: {body}");
        body
    }

    /// Creates stream S and inserts three rows.
    pub async fn seed(&self) {
        self.ksql_ok(
            "CREATE STREAM S (K STRING KEY, V INTEGER) \
             WITH (kafka_topic='s', value_format='JSON', partitions=1);",
        )
        .await;
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            self.ksql_ok(&format!("INSERT INTO S (K, V) VALUES ('{k}', {v});"))
                .await;
        }
    }
}

pub async fn text(resp: Response<Incoming>) -> String {
    let body = tokio::time::timeout(WAIT, resp.into_body().collect())
        .await
        .expect("body in time")
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

/// Reads a streaming body line by line.
pub struct Lines {
    body: Incoming,
    buf: Vec<u8>,
}

impl Lines {
    pub fn new(resp: Response<Incoming>) -> Self {
        Lines {
            body: resp.into_body(),
            buf: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of the body.
    pub async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).take(pos).collect();
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            let frame = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .expect("data in time");
            match frame {
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => panic!("body error: {e}"),
                None if self.buf.is_empty() => return None,
                None => {
                    return Some(
                        String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned(),
                    )
                }
            }
        }
    }
}

pub fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

pub fn query_body(sql: &str) -> String {
    json!({"sql": sql, "properties": {"auto.offset.reset": "earliest"}}).to_string()
}
