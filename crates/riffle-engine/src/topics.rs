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

/// The internal topics of a persistent query, created with it.
#[derive(Debug, Default)]
pub(crate) struct InternalTopics {
    /// The changelog of an aggregation's state (see [`internal_topics`]).
    pub changelog: Option<String>,
    /// The topic an aggregation's input is re-keyed through, when servers share the query
    /// and it is grouped by something other than the input's key (see [`internal_topics`]).
    pub repartition: Option<String>,
}

/// Creates the internal topics of a persistent query, when it has any, named as ksqlDB's.
///
/// An aggregation over a stream keeps its state in a changelog topic; over a table it rebuilds
/// its state by replaying the input (its retractions need each source row's previous
/// contribution, which the changelog does not hold).
///
/// When the log shares partitions between servers ([`riffle_log::Log::shares_partitions`]),
/// an aggregation over a stream grouped by anything but the input's key also gets a
/// repartition topic (`<group>-Aggregate-GroupBy-repartition`, as many partitions as the
/// source, `cleanup.policy=delete`): every server appends its share of the input there, in the
/// partition of each record's group, and aggregates its share of that topic's partitions. The
/// decision depends only on the log's kind, the statement and the topics, so a server that
/// re-creates the query from the command topic makes the same one. A changelog left by an
/// older version with one partition for a many-partition source keeps the query on its old
/// layout (the aggregation runs whole on one server) rather than mixing layouts.
pub(crate) fn internal_topics(
    engine: &Engine,
    group: &str,
    plan: &QueryPlan,
    source: &Source,
    sink: &Source,
) -> Result<InternalTopics> {
    let QueryPlan::Aggregate(aggregate) = plan else {
        return Ok(InternalTopics::default());
    };
    if source.source_type != SourceType::Stream {
        return Ok(InternalTopics::default());
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
    // Grouped by the input's key (or repartitioned by the grouping key), the state splits by
    // input partition (so servers can share the query), and so does the changelog, as Kafka
    // Streams' changelogs do.
    let by_key = crate::runtime::aggregate::groups_by_source_key(aggregate, source);
    let repartition = !by_key && engine.log().shares_partitions();
    let source_partitions = if by_key || repartition {
        ensure_topic(engine, &source.topic, None)?
    } else {
        1
    };
    let changelog_partitions = ensure_topic_with(engine, &topic, Some(source_partitions), config)?;
    let repartition = if repartition && changelog_partitions == source_partitions {
        let name = repartition_topic(group);
        let config = BTreeMap::from([("cleanup.policy".to_string(), "delete".to_string())]);
        ensure_topic_with(engine, &name, Some(source_partitions), config)?;
        Some(name)
    } else {
        None
    };
    Ok(InternalTopics {
        changelog: Some(topic),
        repartition,
    })
}

/// The repartition topic of the query whose consumer group is `group` (ksqlDB's name).
pub(crate) fn repartition_topic(group: &str) -> String {
    format!("{group}-Aggregate-GroupBy-repartition")
}
