//! riffle-kafka's integration tests against a real broker, in one test binary
//! (each extra binary links librdkafka and costs CI time). Run with
//! `RIFFLE_KAFKA_TESTS=1`; without it every test is skipped with a message.

// Each module uses a different part of the helpers.
#[allow(dead_code)]
mod common;
mod conformance;
mod diagnostics;
mod log_api;
