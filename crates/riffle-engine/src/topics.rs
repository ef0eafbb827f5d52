//! Topics the engine creates: sources' and sinks' topics when missing, and internal topics.

use std::collections::BTreeMap;

use crate::catalog::{Source, SourceType};
use crate::runtime::persistent::QueryPlan;
use crate::{Engine, Result};

/// Makes sure `topic` exists, creating it with `partitions` (or one partition on the embedded
/// log, where nobody else creates topics).
pub(crate) fn ensure_topic(engine: &Engine, topic: &str, partitions: Option<u32>) -> Result<u32> {
    ensure_topic_with(engine, topic, partitions, BTreeMap::new())
}

/// [`ensure_topic`] with the topic configuration a new topic gets.
pub(crate) fn ensure_topic_with(
    engine: &Engine,
    topic: &str,
    partitions: Option<u32>,
    config: BTreeMap<String, String>,
) -> Result<u32> {
    if let Some(t) = engine.log().topic(topic) {
        return Ok(t.partitions);
    }
    // Replaying the command topic also lands here: it recreates topics that a lost data
    // directory no longer has, the same way as a first run does.
    let n = partitions.unwrap_or(1);
    engine.log().create_topic(topic, n, config)?;
    Ok(n)
}

/// Creates the changelog topic of a persistent query's state, when it has one, and returns
/// its name. An aggregation over a stream keeps its state in a changelog topic, named as
/// ksqlDB's; over a table it rebuilds its state by replaying the input (its retractions need
/// each source row's previous contribution, which the changelog does not hold).
pub(crate) fn changelog_topic(
    engine: &Engine,
    group: &str,
    plan: &QueryPlan,
    source: &Source,
    sink: &Source,
) -> Result<Option<String>> {
    let QueryPlan::Aggregate(aggregate) = plan else {
        return Ok(None);
    };
    if source.source_type != SourceType::Stream {
        return Ok(None);
    }
    let topic = format!("{group}-Aggregate-Aggregate-Materialize-changelog");
    // Only each key's latest state matters, as for Kafka Streams' changelogs; windowed state
    // also expires (ksqlDB: compact,delete).
    let policy = if sink.window.is_some() {
        "compact,delete"
    } else {
        "compact"
    };
    let config = BTreeMap::from([("cleanup.policy".to_string(), policy.to_string())]);
    // Grouped by the input's key, the state splits by input partition (so servers can share
    // the query), and so does the changelog, as Kafka Streams' changelogs do.
    let partitions = if crate::runtime::aggregate::groups_by_source_key(aggregate, source) {
        ensure_topic(engine, &source.topic, None)?
    } else {
        1
    };
    ensure_topic_with(engine, &topic, Some(partitions), config)?;
    Ok(Some(topic))
}
