//! The JSON shapes of ksqlDB's REST API, as real ksqlDB clients read and write them.
//!
//! The engine answers statements with [`KsqlEntity`] values; the server serialises them unchanged, and
//! the shell and the test runner read them back. Field names follow ksqlDB's Java entities
//! (`io.confluent.ksql.rest.entity`), which is why they are camelCase.

mod entity;
mod request;

pub use entity::*;
pub use request::*;
