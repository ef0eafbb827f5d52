//! The REST API end to end: a real server on 127.0.0.1:0 over an in-memory engine, driven by a
//! plain hyper client over HTTP/1.1 and HTTP/2 (prior knowledge), as ksqlDB clients drive it.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::StatusCode;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use support::{parse, query_body, text, Lines, Server, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_health_and_probes() {
    let server = Server::start().await;
    let (status, body) = server.get("/info").await;
    assert_eq!(status, StatusCode::OK);
    let info = parse(&body);
    assert_eq!(
        info["KsqlServerInfo"]["version"],
        riffle_server::KSQL_COMPATIBLE_VERSION
    );
    assert_eq!(info["KsqlServerInfo"]["ksqlServiceId"], "default_");
    assert_eq!(info["KsqlServerInfo"]["serverStatus"], "RUNNING");

    let (status, body) = server.get("/healthcheck").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parse(&body)["isHealthy"], true);
    assert_eq!(server.get("/chc/live").await, (StatusCode::OK, "{}".into()));
    assert_eq!(
        server.get("/chc/ready").await,
        (StatusCode::OK, "{}".into())
    );

    let resp = server.http1("GET", "/", None, "").await;
    assert_eq!(resp.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(resp.headers()["location"], "/info");

    assert_eq!(
        server.get("/is_valid_property/auto.offset.reset").await.1,
        "true"
    );
    let (status, body) = server.get("/is_valid_property/no.such.thing").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(parse(&body)["error_code"], 40000);
    let (status, body) = server.get("/clusterStatus").await;
    assert_eq!(status, StatusCode::OK);
    assert!(parse(&body)["clusterStatus"].is_object());

    let (status, body) = server.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("riffle_uptime_seconds"), "{body}");
    assert!(
        body.contains(
            "riffle_http_requests_total{method=\"GET\",route=\"/info\",status=\"200\"} 1"
        ),
        "{body}"
    );

    // h2c prior knowledge on the same port.
    let resp = server
        .http2("GET", "/info", Full::new(Bytes::new()).boxed())
        .await;
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(text(resp).await.contains("KsqlServerInfo"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_for_browsers_redirect_for_others() {
    let server = Server::start().await;
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let resp = server.http1("GET", "/", Some(browser_accept), "").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = text(resp).await;
    assert!(page.contains("<title>Riffle SQL console</title>"), "{page}");
    assert!(page.contains("/ui/app.js") && page.contains("/ui/app.css"));

    for (path, content_type, needle) in [
        ("/ui/app.js", "text/javascript", "/query-stream"),
        ("/ui/app.css", "text/css", "font-family"),
    ] {
        let resp = server.http1("GET", path, None, "").await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(content_type));
        assert!(text(resp).await.contains(needle), "{path}");
    }
    let (status, body) = server.get("/ui/nope.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(parse(&body)["error_code"], 40400);

    // API clients keep ksqlDB's redirect.
    for accept in [None, Some("*/*"), Some("application/json")] {
        let resp = server.http1("GET", "/", accept, "").await;
        assert_eq!(resp.status(), StatusCode::TEMPORARY_REDIRECT, "{accept:?}");
        assert_eq!(resp.headers()["location"], "/info");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_and_error_envelopes() {
    let server = Server::start().await;
    let created = server
        .ksql_ok("CREATE STREAM S (K STRING KEY, V INTEGER) WITH (kafka_topic='s', value_format='JSON', partitions=1);")
        .await;
    assert_eq!(created[0]["@type"], "currentStatus");
    assert_eq!(created[0]["commandId"], "stream/`S`/create");
    assert_eq!(created[0]["commandStatus"]["status"], "SUCCESS");

    let listed = server.ksql_ok("SHOW STREAMS;").await;
    assert_eq!(listed[0]["@type"], "streams");

    let (status, err) = server.ksql("CREATE STREM X;").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["@type"], "statement_error");
    assert_eq!(err["error_code"], 40001);
    assert_eq!(err["stackTrace"], json!([]));
    assert!(err["statementText"].is_string());

    let (status, err) = server.ksql("SELECT * FROM S EMIT CHANGES;").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error_code"], 40002);
    assert_eq!(
        err["message"],
        "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT"
    );
    assert_eq!(err["statementText"], "SELECT * FROM S EMIT CHANGES;");
    assert_eq!(err["entities"], json!([]));

    let (status, err) = server.ksql("DESCRIBE NO_SUCH_SOURCE;").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error_code"], 40001);

    let resp = server
        .http1(
            "POST",
            "/query-stream",
            None,
            &query_body("SELECT * FROM NO_SUCH_SOURCE EMIT CHANGES;"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err = parse(&text(resp).await);
    assert_eq!(err["error_code"], 40001);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("NO_SUCH_SOURCE")),
        "{err}"
    );

    let resp = server.http1("POST", "/ksql", None, "{not json").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(parse(&text(resp).await)["error_code"], 40000);

    let (status, body) = server.get("/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        parse(&body)["commandStatuses"]["stream/`S`/create"],
        "SUCCESS"
    );
    let (status, body) = server.get("/status/stream/%60S%60/create").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parse(&body)["status"], "SUCCESS");
    assert_eq!(
        server.get("/status/stream/NOPE/create").await.0,
        StatusCode::NOT_FOUND
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_queries_in_every_framing() {
    let server = Server::start().await;
    server.seed().await;
    let sql = "SELECT * FROM S EMIT CHANGES LIMIT 3;";

    // Default: delimited.
    let resp = server
        .http1("POST", "/query-stream", None, &query_body(sql))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.ksqlapi.delimited.v1"
    );
    let mut lines = Lines::new(resp);
    let meta = parse(&lines.next().await.expect("metadata"));
    assert!(meta["queryId"].is_string());
    assert_eq!(meta["columnNames"], json!(["K", "V"]));
    assert_eq!(meta["columnTypes"], json!(["STRING", "INTEGER"]));
    let mut rows = Vec::new();
    while let Some(line) = lines.next().await {
        rows.push(parse(&line));
    }
    assert_eq!(
        rows,
        vec![json!(["a", 1]), json!(["b", 2]), json!(["c", 3])]
    );

    // application/json: one array.
    let resp = server
        .http1(
            "POST",
            "/query-stream",
            Some("application/json"),
            &query_body(sql),
        )
        .await;
    let all = parse(&text(resp).await);
    assert_eq!(all.as_array().map(Vec::len), Some(4), "{all}");
    assert_eq!(all[1], json!(["a", 1]));

    // application/vnd.ksql.v1+json: StreamedRow framing, one element per line (Java client).
    let resp = server
        .http1(
            "POST",
            "/query-stream",
            Some("application/vnd.ksql.v1+json"),
            &query_body(sql),
        )
        .await;
    let body = text(resp).await;
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 5, "{body}");
    assert!(lines[0].starts_with("[{\"header\":{\"queryId\":"), "{body}");
    assert_eq!(lines[1], "{\"row\":{\"columns\":[\"a\",1]}},");
    assert_eq!(lines[4], "{\"finalMessage\":\"Limit Reached\"}]");
    assert!(parse(&body).is_array());

    // Legacy /query: same framing, KsqlRequest body.
    let legacy = json!({"ksql": sql, "streamsProperties": {"auto.offset.reset": "earliest"}});
    let resp = server
        .http1("POST", "/query", None, &legacy.to_string())
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.ksql.v1+json"
    );
    let all = parse(&text(resp).await);
    assert_eq!(
        all[0]["header"]["schema"]
            .as_str()
            .map(|s| s.contains("`V` INTEGER")),
        Some(true)
    );
    assert_eq!(all[3]["row"]["columns"], json!(["c", 3]));
    assert_eq!(all[4]["finalMessage"], "Limit Reached");

    // Over HTTP/2 too.
    let resp = server
        .http2(
            "POST",
            "/query-stream",
            Full::new(Bytes::from(query_body(sql))).boxed(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(text(resp).await.lines().count(), 4);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_query_output_is_streamed_live() {
    let server = Server::start().await;
    server.seed().await;
    // Like ksqlDB, a persistent query starts at the latest offset unless told otherwise.
    let (status, created) = server
        .ksql_with(
            "CREATE STREAM DOUBLED AS SELECT K, V * 2 AS D FROM S EMIT CHANGES;",
            json!({"auto.offset.reset": "earliest"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert!(
        created[0]["commandStatus"]["queryId"].is_string(),
        "{created}"
    );

    let resp = server
        .http1(
            "POST",
            "/query-stream",
            None,
            &query_body("SELECT * FROM DOUBLED EMIT CHANGES LIMIT 4;"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut lines = Lines::new(resp);
    let meta = parse(&lines.next().await.expect("metadata"));
    assert_eq!(meta["columnNames"], json!(["K", "D"]));
    for expected in [json!(["a", 2]), json!(["b", 4]), json!(["c", 6])] {
        assert_eq!(parse(&lines.next().await.expect("row")), expected);
    }
    // A row inserted while the query runs arrives too.
    server
        .ksql_ok("INSERT INTO S (K, V) VALUES ('d', 4);")
        .await;
    assert_eq!(
        parse(&lines.next().await.expect("live row")),
        json!(["d", 8])
    );
    assert_eq!(lines.next().await, None);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_query_ends_the_stream() {
    let server = Server::start().await;
    server.seed().await;
    let resp = server
        .http1(
            "POST",
            "/query-stream",
            None,
            &query_body("SELECT * FROM S EMIT CHANGES;"),
        )
        .await;
    let mut lines = Lines::new(resp);
    let meta = parse(&lines.next().await.expect("metadata"));
    let id = meta["queryId"].as_str().expect("query id").to_string();
    for _ in 0..3 {
        lines.next().await.expect("row");
    }
    let resp = server
        .http1(
            "POST",
            "/close-query",
            None,
            &json!({"queryId": id}).to_string(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(text(resp).await, "");
    assert_eq!(lines.next().await, None, "stream ends after /close-query");

    let resp = server
        .http1(
            "POST",
            "/close-query",
            None,
            &json!({"queryId": "nope"}).to_string(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err = parse(&text(resp).await);
    assert_eq!(err["error_code"], 40000);
    assert_eq!(err["message"], "No query with id nope");

    // A client that goes away ends its query in the engine.
    let resp = server
        .http1(
            "POST",
            "/query-stream",
            None,
            &query_body("SELECT * FROM S EMIT CHANGES;"),
        )
        .await;
    let mut lines = Lines::new(resp);
    lines.next().await.expect("metadata");
    assert_eq!(server.engine.push_query_ids().len(), 1);
    drop(lines);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !server.engine.push_query_ids().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "query closed on disconnect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_stream_over_http2() {
    let server = Server::start().await;
    server
        .ksql_ok("CREATE STREAM S (K STRING KEY, V INTEGER) WITH (kafka_topic='s', value_format='JSON', partitions=1);")
        .await;

    // HTTP/1.1 is refused, as ksqlDB does.
    let resp = server
        .http1(
            "POST",
            "/inserts-stream",
            None,
            "{\"target\":\"S\"}\n{\"K\":\"a\",\"V\":1}\n",
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(parse(&text(resp).await)["error_code"], 40004);

    // Unknown target.
    let resp = server
        .http2(
            "POST",
            "/inserts-stream",
            Full::new(Bytes::from("{\"target\":\"NOPE\"}\n")).boxed(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err = parse(&text(resp).await);
    assert_eq!(
        err["message"],
        "Cannot insert values into an unknown stream/table: NOPE"
    );

    // Full duplex: acks come back while the request is still open.
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let body =
        StreamBody::new(ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(Frame::data(b))));
    tx.send(Bytes::from(
        "{\"target\":\"s\"}\n{\"K\":\"a\",\"V\":1}\n{\"K\":\"b\",\"V\":2}\n",
    ))
    .await
    .expect("send");
    let resp = server.http2("POST", "/inserts-stream", body.boxed()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut acks = Lines::new(resp);
    assert_eq!(
        parse(&acks.next().await.expect("ack 0")),
        json!({"status": "ok", "seq": 0})
    );
    assert_eq!(
        parse(&acks.next().await.expect("ack 1")),
        json!({"status": "ok", "seq": 1})
    );
    tx.send(Bytes::from("{\"K\":\"c\",\"V\":3}\nnot json\n"))
        .await
        .expect("send");
    assert_eq!(
        parse(&acks.next().await.expect("ack 2")),
        json!({"status": "ok", "seq": 2})
    );
    let err = parse(&acks.next().await.expect("error 3"));
    assert_eq!(err["status"], "error");
    assert_eq!(err["seq"], 3);
    assert_eq!(err["error_code"], 40000);
    assert_eq!(err.as_object().map(|o| o.len()), Some(5), "{err}");
    drop(tx);
    assert_eq!(acks.next().await, None);

    // The rows are in the stream.
    let resp = server
        .http1(
            "POST",
            "/query-stream",
            Some("application/json"),
            &query_body("SELECT * FROM S EMIT CHANGES LIMIT 3;"),
        )
        .await;
    let all = parse(&text(resp).await);
    assert_eq!(all[3], json!(["c", 3]), "{all}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_topic() {
    let server = Server::start().await;
    server.seed().await;

    let legacy = json!({"ksql": "PRINT 's' FROM BEGINNING LIMIT 2;", "streamsProperties": {}});
    let resp = server
        .http1("POST", "/query", None, &legacy.to_string())
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = text(resp).await;
    let lines: Vec<&str> = body.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{body}");
    assert!(lines[0].starts_with("Key format: "), "{body}");
    assert!(lines[1].starts_with("Value format: "), "{body}");
    assert!(
        lines[2].starts_with("rowtime: ") && lines[2].ends_with(", partition: 0"),
        "{body}"
    );
    assert!(lines[2].contains("key: a, value: {"), "{body}");

    let resp = server
        .http1(
            "POST",
            "/query-stream",
            None,
            &json!({"sql": "PRINT s FROM BEGINNING LIMIT 3;"}).to_string(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = text(resp).await;
    assert_eq!(body.lines().count(), 3, "{body}");
    assert!(body.lines().all(|l| l.starts_with("rowtime: ")), "{body}");

    let resp = server
        .http1(
            "POST",
            "/query",
            None,
            &json!({"ksql": "PRINT 'S';"}).to_string(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err = parse(&text(resp).await);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Could not find topic 'S'") && m.contains("\tprint s;")),
        "{err}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams() {
    let server = Server::start().await;
    server.seed().await;
    let resp = server
        .http1(
            "POST",
            "/query-stream",
            Some("application/vnd.ksql.v1+json"),
            &query_body("SELECT * FROM S EMIT CHANGES;"),
        )
        .await;
    let mut lines = Lines::new(resp);
    assert!(lines.next().await.is_some_and(|l| l.contains("header")));
    for _ in 0..3 {
        lines.next().await.expect("row");
    }
    let addr = server.addr;
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(
        lines.next().await.as_deref(),
        Some("{\"finalMessage\":\"Query Completed\"}]")
    );
    assert_eq!(lines.next().await, None);
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("stops")
        .expect("join");
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}
