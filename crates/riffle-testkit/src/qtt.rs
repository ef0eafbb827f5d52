//! Runs a QTT case the way ksqlDB's `TestExecutor` does with its topology test driver:
//! statements one by one, then each input record produced and processed to completion before
//! the next, then outputs compared per topic and `post` conditions checked.

use std::collections::HashMap;

use riffle_engine::Engine;

use crate::compare::clip;
use crate::harness::{
    case_properties, check_supported, compare_topic, fail, open_engine, outputs_by_topic,
    produce_input, read_output, OutputRules, Verdict,
};
use crate::model::{ExpectedError, TestCase};
use crate::post::verify_post;

/// Runs one expanded QTT case.
pub fn run(case: &TestCase, kafka: bool) -> Verdict {
    match run_inner(case, kafka) {
        Ok(()) => Verdict::Passed,
        Err(v) => v,
    }
}

/// A failure while processing records: an engine error (which an `expectedException` may
/// match) or a problem of the test itself.
enum ProcessError {
    Engine(String),
    Verdict(Verdict),
}

fn run_inner(case: &TestCase, kafka: bool) -> Result<(), Verdict> {
    check_supported(case)?;
    let props = case_properties(case);
    let engine = open_engine(case, &props, kafka)?;
    let variables = HashMap::new();
    let expected = case.expected_exception.as_ref();
    // ksqlDB's test executor runs the statements as one script, one statement per line, so
    // parse positions count lines from the first statement: each statement is preceded by as
    // many line breaks as the script has before it.
    let mut lines_before = 0;
    for (i, stmt) in case.statements.iter().enumerate() {
        let script_text = format!("{}{stmt}", "\n".repeat(lines_before));
        lines_before += stmt.matches('\n').count() + 1;
        if let Err(failure) = engine.execute(&script_text, &props, &variables) {
            let message = failure.to_string();
            return match expected {
                Some(ee) => expect_error(ee, &message),
                None => fail(format!(
                    "statement {i} failed: {} [statement: {}]",
                    clip(&message, 400),
                    clip(stmt, 160)
                )),
            };
        }
    }
    if let Some(ee) = expected {
        if case.inputs.is_empty() {
            return fail(format!(
                "expected an error{} but every statement succeeded",
                describe_expected(ee)
            ));
        }
    }
    match process(&engine, case) {
        Ok(()) => {}
        Err(ProcessError::Verdict(v)) => return Err(v),
        Err(ProcessError::Engine(message)) => {
            return match expected {
                Some(ee) => expect_error(ee, &message),
                None => fail(format!("processing failed: {}", clip(&message, 400))),
            }
        }
    }
    if let Some(ee) = expected {
        return fail(format!(
            "expected an error{} but statements and processing succeeded",
            describe_expected(ee)
        ));
    }
    let rules = OutputRules {
        headers: true,
        lenient_zero_timestamp: case.inputs.is_empty(),
        prefix_only: false,
    };
    for (topic, expected) in outputs_by_topic(&case.outputs) {
        let actual = read_output(&engine, &topic)?;
        compare_topic(&topic, &expected, &actual, rules)?;
    }
    if let Some(post) = &case.post {
        verify_post(&engine, post)?;
    }
    Ok(())
}

/// Runs the persistent queries over what statements wrote, then over each input in turn.
fn process(engine: &Engine, case: &TestCase) -> Result<(), ProcessError> {
    let idle = |engine: &Engine| {
        engine
            .run_until_idle()
            .map(|_| ())
            .map_err(|e| ProcessError::Engine(e.to_string()))
    };
    idle(engine)?;
    for (i, input) in case.inputs.iter().enumerate() {
        produce_input(engine, i, input).map_err(ProcessError::Verdict)?;
        idle(engine)?;
    }
    Ok(())
}

/// Passes when `message` contains the expected text.
pub fn expect_error(expected: &ExpectedError, message: &str) -> Result<(), Verdict> {
    match &expected.message {
        Some(want) if !message.contains(want.as_str()) => fail(format!(
            "expected an error containing '{}' but got '{}'",
            clip(want, 300),
            clip(message, 400)
        )),
        _ => Ok(()),
    }
}

/// ` containing '…'` for messages.
pub fn describe_expected(expected: &ExpectedError) -> String {
    match &expected.message {
        Some(m) => format!(" containing '{}'", clip(m, 300)),
        None => String::new(),
    }
}
