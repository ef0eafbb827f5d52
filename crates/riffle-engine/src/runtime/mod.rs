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
