//! `post` conditions: the sources (type, schema, formats) and topics (blacklist, existence,
//! partitions, formats) that must exist after a case ran.

use riffle_engine::Engine;
use serde_json::Value;

use crate::harness::{fail, skip, source_for_topic, Verdict};
use crate::model::{format_name, PostConditions};

/// Checks `post`: sources (type, schema, formats) and topics (blacklist, existence, partitions,
/// formats).
pub fn verify_post(engine: &Engine, post: &PostConditions) -> Result<(), Verdict> {
    let catalog = engine.catalog();
    for expected in &post.sources {
        let source = catalog
            .sources
            .get(&expected.name)
            .or_else(|| catalog.sources.get(&expected.name.to_uppercase()));
        let Some(source) = source else {
            let have: Vec<&str> = catalog.sources.keys().map(String::as_str).collect();
            return fail(format!(
                "post: source {} does not exist (have: {})",
                expected.name,
                have.join(", ")
            ));
        };
        if !source
            .source_type
            .name()
            .eq_ignore_ascii_case(&expected.kind)
        {
            return fail(format!(
                "post: source {} is a {} but expected a {}",
                source.name,
                source.source_type.name(),
                expected.kind.to_uppercase()
            ));
        }
        if let Some(schema) = &expected.schema {
            let want = riffle_sql::parse_schema(schema).or_else(|e| {
                fail(format!(
                    "post: cannot parse schema of {}: {e}",
                    expected.name
                ))
            })?;
            if want != source.schema {
                return fail(format!(
                    "post: source {} schema: expected {want} but was {}",
                    source.name, source.schema
                ));
            }
        }
        if let Some(kf) = &expected.key_format {
            check_format_name(&source.name, "key", kf, source.key_format.name())?;
            let windowed = kf
                .get("windowType")
                .or_else(|| kf.get("windowInfo"))
                .is_some_and(|w| !w.is_null());
            if windowed != source.windowed {
                return fail(format!(
                    "post: source {} keys are {}windowed but expected {}windowed",
                    source.name,
                    if source.windowed { "" } else { "not " },
                    if windowed { "" } else { "not " }
                ));
            }
        }
        if let Some(vf) = &expected.value_format {
            check_format_name(&source.name, "value", vf, source.value_format.name())?;
        }
    }
    let Some(topics) = &post.topics else {
        return Ok(());
    };
    if let Some(pattern) = &topics.blacklist {
        let re = regex::Regex::new(pattern)
            .or_else(|e| fail(format!("post: invalid blacklist regex '{pattern}': {e}")))?;
        if let Some(t) = engine.log().topics().iter().find(|t| re.is_match(&t.name)) {
            return fail(format!(
                "post: topic '{}' exists but matches the blacklist '{pattern}'",
                t.name
            ));
        }
    }
    for expected in &topics.topics {
        let Some(info) = engine.log().topic(&expected.name) else {
            if expected.name.starts_with("_confluent-ksql-") {
                return skip(format!(
                    "post.topics names Kafka Streams internal topic '{}'; not modelled",
                    expected.name
                ));
            }
            return fail(format!("post: topic '{}' does not exist", expected.name));
        };
        if let Some(p) = expected.partitions {
            if p != info.partitions {
                return fail(format!(
                    "post: topic '{}' has {} partitions but expected {p}",
                    expected.name, info.partitions
                ));
            }
        }
        let Some(source) = source_for_topic(&catalog, &expected.name, true) else {
            return skip(format!(
                "post.topics: formats of topic '{}' cannot be checked (no source on it)",
                expected.name
            ));
        };
        if let Some(kf) = &expected.key_format {
            check_format_name(&expected.name, "key", kf, source.key_format.name())?;
        }
        if let Some(vf) = &expected.value_format {
            check_format_name(&expected.name, "value", vf, source.value_format.name())?;
        }
    }
    Ok(())
}

fn check_format_name(
    owner: &str,
    what: &str,
    expected: &Value,
    actual: &str,
) -> Result<(), Verdict> {
    match format_name(expected) {
        Some(name) if !name.eq_ignore_ascii_case(actual) => fail(format!(
            "post: {owner} {what} format is {actual} but expected {name}"
        )),
        _ => Ok(()),
    }
}
