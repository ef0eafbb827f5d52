//! Running queries: decoding records into batches, evaluating plans, encoding results.

pub(crate) mod agg_changelog;
pub(crate) mod aggregate;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod persistent;
pub(crate) mod pull;
pub(crate) mod pull_keys;
pub(crate) mod pull_where;
pub(crate) mod push;
pub(crate) mod table_view;
pub(crate) mod timestamp;

/// Reads a partition from `from` to its current end; returns the records and the next offset.
pub(crate) fn read_partition(
    log: &dyn riffle_log::Log,
    topic: &str,
    partition: u32,
    from: u64,
) -> crate::Result<(Vec<riffle_log::ConsumedRecord>, u64)> {
    let mut records = Vec::new();
    let mut next = from;
    loop {
        let batch = log.fetch(topic, partition, next, 4096)?;
        let Some(last) = batch.last() else { break };
        next = last.offset + 1;
        records.extend(batch);
    }
    Ok((records, next))
}
