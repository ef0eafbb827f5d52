//! Runs a REST QTT case the way ksqlDB's `RestTestExecutor` does: the statements before the
//! first `SELECT` are admin statements, then the inputs are produced (or, with
//! `inputConditions.waitForActivePushQuery`, once the push query runs), then each query runs;
//! `responses[i]` is compared with the i-th response (admin entities first, then one per query).
//!
//! Persistent queries are driven with [`Engine::run_until_idle`] after the inputs are produced,
//! so the answers are deterministic; push queries stream rows from their own thread and are
//! read until they end (`LIMIT`) or stay silent for [`QUIET`].

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use riffle_engine::{Engine, PushMessage, PushQuery};
use serde_json::{json, Value};
use tokio::sync::mpsc::error::TryRecvError;

use crate::compare::{clip, short, ResponseMatcher};
use crate::harness::{
    case_properties, check_supported, compare_topic, fail, open_engine, outputs_by_topic,
    produce_input, read_output, skip, OutputRules, Verdict,
};
use crate::model::TestCase;
use crate::post::verify_post;
use crate::qtt::{describe_expected, expect_error};

/// How long a push query without `LIMIT` may stay silent before its rows are taken as complete.
pub const QUIET: Duration = Duration::from_millis(300);

/// The longest a single query is read.
const QUERY_DEADLINE: Duration = Duration::from_secs(10);

/// Runs one expanded REST QTT case.
pub fn run(case: &TestCase, kafka: bool) -> Verdict {
    match run_inner(case, kafka) {
        Ok(()) => Verdict::Passed,
        Err(v) => v,
    }
}

/// One actual response: an admin entity or the rows of a query.
enum Actual {
    Admin(Value),
    Query(Vec<Value>),
}

fn is_query(stmt: &str) -> bool {
    let s = stmt.trim_start();
    s.len() > 6 && s[..6].eq_ignore_ascii_case("SELECT") && s[6..].starts_with(char::is_whitespace)
}

fn check_rest_supported(case: &TestCase) -> Result<(), Verdict> {
    check_supported(case)?;
    if case.test_pull_with_proto_format {
        return skip("testPullWithProtoFormat: protobuf query responses are not supported yet");
    }
    for r in case.responses.iter().flatten() {
        if r.contains_key("queryProto") {
            return skip("queryProto responses are not supported yet");
        }
    }
    Ok(())
}

fn run_inner(case: &TestCase, kafka: bool) -> Result<(), Verdict> {
    check_rest_supported(case)?;
    let first_query = case
        .statements
        .iter()
        .position(|s| is_query(s))
        .unwrap_or(case.statements.len());
    let (admin, queries) = case.statements.split_at(first_query);
    if let Some(i) = queries.iter().position(|s| !is_query(s)) {
        return fail(format!(
            "invalid test case: statement {} follows queries but is not a query",
            first_query + i
        ));
    }
    let wait_for_push = case
        .input_conditions
        .as_ref()
        .is_some_and(|c| c.wait_for_active_push_query);
    if wait_for_push && queries.len() > 1 {
        return fail("invalid test case: only one query is allowed with inputConditions");
    }
    let props = case_properties(case);
    let engine = open_engine(case, &props, kafka)?;
    let variables = HashMap::new();
    let expected_error = case.expected_error.as_ref();

    let mut responses = Vec::new();
    for (i, stmt) in admin.iter().enumerate() {
        match engine.execute(stmt, &props, &variables) {
            Ok(entities) => {
                for e in entities {
                    let v = serde_json::to_value(&e)
                        .or_else(|e| fail(format!("cannot serialize entity: {e}")))?;
                    responses.push(Actual::Admin(v));
                }
            }
            Err(failure) => {
                let message = failure.to_string();
                return match expected_error {
                    Some(ee) => expect_error(ee, &message),
                    None => fail(format!(
                        "statement {i} failed: {} [statement: {}]",
                        clip(&message, 400),
                        clip(stmt, 160)
                    )),
                };
            }
        }
    }

    let mut inputs_done = false;
    if !wait_for_push || queries.is_empty() {
        produce_all(&engine, case)?;
        inputs_done = true;
    }

    let mut error_seen = false;
    let mut query_results = 0;
    for stmt in queries {
        match engine.push_query(stmt, &props, &variables) {
            Err(e) => match expected_error {
                Some(ee) => {
                    expect_error(ee, &e.to_string())?;
                    error_seen = true;
                }
                None => {
                    return fail(format!(
                        "query failed: {} [query: {}]",
                        clip(&e.to_string(), 400),
                        clip(stmt, 160)
                    ))
                }
            },
            Ok(query) => {
                if !inputs_done {
                    produce_all(&engine, case)?;
                    inputs_done = true;
                }
                responses.push(Actual::Query(collect_rows(&engine, query)));
                query_results += 1;
            }
        }
    }
    if !inputs_done {
        produce_all(&engine, case)?;
    }
    if let Some(ee) = expected_error {
        if query_results > 0 {
            return fail(format!(
                "expected an error{} but a query returned rows",
                describe_expected(ee)
            ));
        }
        if !error_seen {
            return fail(format!(
                "expected an error{} but every statement succeeded",
                describe_expected(ee)
            ));
        }
    }

    let rules = OutputRules {
        headers: false,
        lenient_zero_timestamp: false,
        prefix_only: true,
    };
    for (topic, expected) in outputs_by_topic(&case.outputs) {
        let actual = read_output(&engine, &topic)?;
        compare_topic(&topic, &expected, &actual, rules)?;
    }
    verify_responses(case, &responses)?;
    if let Some(post) = &case.post {
        verify_post(&engine, post)?;
    }
    Ok(())
}

/// Produces every input, then lets the persistent queries process them.
fn produce_all(engine: &Engine, case: &TestCase) -> Result<(), Verdict> {
    for (i, input) in case.inputs.iter().enumerate() {
        produce_input(engine, i, input)?;
    }
    engine
        .run_until_idle()
        .map(|_| ())
        .or_else(|e| fail(format!("processing failed: {}", clip(&e.to_string(), 400))))
}

/// Reads a query's rows as ksqlDB's `/query` endpoint streams them: a header, the rows, and a
/// final message or error.
fn collect_rows(engine: &Engine, mut query: PushQuery) -> Vec<Value> {
    let mut rows = vec![json!({"header": {"queryId": query.id, "schema": query.schema}})];
    let started = Instant::now();
    let mut last = Instant::now();
    loop {
        match query.rows.try_recv() {
            Ok(PushMessage::Row(columns)) => {
                rows.push(json!({"row": {"columns": columns}}));
                last = Instant::now();
            }
            Ok(PushMessage::Tombstone(columns)) => {
                rows.push(json!({"row": {"columns": columns, "tombstone": true}}));
                last = Instant::now();
            }
            Ok(PushMessage::Error(message)) => {
                rows.push(json!({"errorMessage": {
                    "@type": "generic_error",
                    "error_code": 50000,
                    "message": message
                }}));
                break;
            }
            Ok(PushMessage::Done(message)) => {
                rows.push(json!({ "finalMessage": message }));
                break;
            }
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                if last.elapsed() >= QUIET || started.elapsed() >= QUERY_DEADLINE {
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
        }
    }
    engine.close_push_query(&query.id);
    rows
}

/// Compares `responses` with the actual responses, in order.
fn verify_responses(case: &TestCase, actual: &[Actual]) -> Result<(), Verdict> {
    let expected = case.responses.as_deref().unwrap_or_default();
    if actual.len() < expected.len() {
        return fail(format!(
            "not enough responses: expected {} but got {}",
            expected.len(),
            actual.len()
        ));
    }
    let verify_order = case
        .output_conditions
        .as_ref()
        .is_some_and(|c| c.verify_order);
    for (idx, response) in expected.iter().enumerate() {
        let mut entries = response.iter();
        let (Some((kind, payload)), None) = (entries.next(), entries.next()) else {
            return fail(format!(
                "invalid test case: responses[{idx}] must have exactly one entry"
            ));
        };
        let statement = case.statements.get(idx).map(String::as_str);
        let mut matcher = ResponseMatcher::new(statement, verify_order);
        match (kind.as_str(), &actual[idx]) {
            ("admin", Actual::Admin(entity)) => {
                let (Value::Object(e), Value::Object(a)) = (payload, entity) else {
                    return fail(format!(
                        "invalid test case: responses[{idx}].admin is not an object"
                    ));
                };
                matcher
                    .match_fields(e, a, &format!("responses[{idx}]->admin"))
                    .or_else(fail)?;
            }
            ("query", Actual::Query(rows)) => {
                let Value::Array(expected_rows) = payload else {
                    return fail(format!(
                        "invalid test case: responses[{idx}].query is not an array"
                    ));
                };
                if expected_rows.len() != rows.len() {
                    return fail(clip(
                        &format!(
                            "responses[{idx}]: expected {} query messages but got {}: expected {} got {}",
                            expected_rows.len(),
                            rows.len(),
                            short(payload),
                            short(&Value::Array(rows.clone()))
                        ),
                        900,
                    ));
                }
                for (i, (e, a)) in expected_rows.iter().zip(rows).enumerate() {
                    let (Value::Object(e), Value::Object(a)) = (e, a) else {
                        return fail(format!(
                            "invalid test case: responses[{idx}].query[{i}] is not an object"
                        ));
                    };
                    matcher
                        .match_fields(e, a, &format!("responses[{idx}]->query[{i}]"))
                        .or_else(fail)?;
                }
            }
            (kind, actual) => {
                let got = match actual {
                    Actual::Admin(_) => "an admin response",
                    Actual::Query(_) => "a query response",
                };
                return fail(format!("responses[{idx}]: expected '{kind}' but got {got}"));
            }
        }
        matcher
            .finish()
            .or_else(|m| fail(format!("responses[{idx}]: {m}")))?;
    }
    Ok(())
}
