//! Headless mode (`riffle server --queries-file app.sql`), as ksqlDB's `StandaloneExecutor`:
//! the file's statements are checked before anything starts, then run at every start; the
//! REST API accepts no statements.
//!
//! The command topic is not used (`EngineConfig::headless`): the file is the source of truth.
//! Query ids come from the engine's per-start counter, so the same file gives the same ids,
//! hence the same consumer groups, and a restart resumes from the committed offsets instead
//! of reprocessing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context};
use riffle_engine::Engine;
use riffle_sql::Statement;

/// What headless mode allows, in ksqlDB's words (`StandaloneExecutor` handlers).
pub const ALLOWED: &str = "SET, UNSET, DEFINE, UNDEFINE, CREATE STREAM, CREATE TABLE, \
     CREATE TYPE, CREATE STREAM AS SELECT, CREATE TABLE AS SELECT, INSERT INTO ... SELECT";

/// One checked statement of the queries file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `SET 'name' = 'value'`.
    Set(String, String),
    /// `UNSET 'name'`.
    Unset(String),
    /// `DEFINE name = 'value'`.
    Define(String, String),
    /// `UNDEFINE name`.
    Undefine(String),
    /// A statement for the engine (DDL or a persistent query), as written in the file.
    Execute(String),
}

/// Reads and checks a queries file; any statement headless mode does not allow, or that does
/// not parse, fails the whole file before anything runs.
pub fn load(path: &Path) -> anyhow::Result<Vec<Step>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("Could not read the queries file {}", path.display()))?;
    check(&text).with_context(|| format!("Invalid queries file {}", path.display()))
}

/// Checks statement text (see [`load`]).
pub fn check(text: &str) -> anyhow::Result<Vec<Step>> {
    let (mut statements, rest) = riffle_shell::script::split(text);
    if !rest.is_empty() {
        statements.push(rest);
    }
    let mut variables: HashMap<String, String> = HashMap::new();
    let mut steps = Vec::new();
    for (i, raw) in statements.iter().enumerate() {
        let n = i + 1;
        let substituted = if raw.contains("${") {
            riffle_sql::substitute_variables(raw, &variables)
                .with_context(|| format!("statement {n}: {raw}"))?
        } else {
            raw.clone()
        };
        let parsed = riffle_sql::parse_statements(&substituted)
            .with_context(|| format!("statement {n} does not parse: {raw}"))?;
        for p in parsed {
            let step = match p.statement {
                Statement::SetProperty { name, value } => Step::Set(name, value),
                Statement::UnsetProperty { name } => Step::Unset(name),
                Statement::DefineVariable { name, value } => {
                    variables.insert(name.clone(), value.clone());
                    Step::Define(name, value)
                }
                Statement::UndefineVariable { name } => {
                    variables.remove(&name);
                    Step::Undefine(name)
                }
                Statement::CreateSource(_)
                | Statement::CreateAsSelect(_)
                | Statement::InsertSelect { .. }
                | Statement::CreateType { .. } => Step::Execute(raw.clone()),
                _ => bail!(
                    "statement {n} is not allowed in headless mode: {}\n\
                     Only these statements are supported in a queries file: {ALLOWED}.",
                    p.text
                ),
            };
            steps.push(step);
        }
    }
    Ok(steps)
}

/// Runs checked steps on `engine` (before [`Engine::start`], so queries start together).
/// Returns the ids of the persistent queries started.
pub fn run(engine: &Engine, steps: &[Step]) -> anyhow::Result<Vec<String>> {
    let mut properties: BTreeMap<String, String> = BTreeMap::new();
    let mut variables: HashMap<String, String> = HashMap::new();
    let mut query_ids = Vec::new();
    for step in steps {
        match step {
            Step::Set(k, v) => {
                properties.insert(k.clone(), v.clone());
            }
            Step::Unset(k) => {
                properties.remove(k);
            }
            Step::Define(k, v) => {
                variables.insert(k.clone(), v.clone());
            }
            Step::Undefine(k) => {
                variables.remove(k);
            }
            Step::Execute(sql) => {
                let entities = engine
                    .execute(sql, &properties, &variables)
                    .map_err(|f| anyhow::anyhow!("{}\nStatement: {}", f.error, f.statement_text))?;
                for e in entities {
                    if let riffle_api::KsqlEntity::CurrentStatus(s) = e {
                        query_ids.extend(s.command_status.query_id);
                    }
                }
            }
        }
    }
    Ok(query_ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_ksqldb_headless_statements() {
        let steps = check(
            "SET 'auto.offset.reset'='earliest';\nDEFINE t = 'in';\n\
             CREATE STREAM A (K STRING KEY, V INT) WITH (KAFKA_TOPIC='${t}', VALUE_FORMAT='JSON', PARTITIONS=1);\n\
             CREATE STREAM B AS SELECT K, V FROM A;\n\
             CREATE TABLE T AS SELECT K, COUNT(*) AS N FROM A GROUP BY K;\n\
             INSERT INTO B SELECT K, V FROM A;",
        );
        let steps = steps.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(steps.len(), 6);
        assert_eq!(
            steps[0],
            Step::Set("auto.offset.reset".into(), "earliest".into())
        );
    }

    #[test]
    fn rejects_other_statements() {
        for bad in [
            "SHOW STREAMS;",
            "SELECT * FROM A EMIT CHANGES;",
            "INSERT INTO A (K, V) VALUES ('k', 1);",
            "DROP STREAM A;",
        ] {
            let err = check(&format!("SET 'a'='b';\n{bad}"))
                .map(|_| ())
                .unwrap_err();
            let msg = format!("{err:#}");
            assert!(
                msg.contains("statement 2 is not allowed in headless mode"),
                "{msg}"
            );
        }
    }
}
