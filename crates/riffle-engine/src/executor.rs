//! Statement dispatch: one arm per statement kind.

use std::collections::HashMap;

use riffle_api::{CommandStatus, CurrentStatus, KsqlEntity};
use riffle_sql::{ParsedStatement, Statement};

use crate::command_log::{Command, CommandLog};
use crate::config::Properties;
use crate::engine::{Engine, StatementFailure};
use crate::{ddl, describe, insert, EngineError, Result};

/// Per-request context: properties and variables change as SET/DEFINE statements run.
pub(crate) struct Session {
    pub properties: Properties,
    pub variables: HashMap<String, String>,
    /// True while replaying the command topic at start-up.
    pub replaying: bool,
}

pub(crate) fn execute_text(
    engine: &Engine,
    sql: &str,
    properties: &Properties,
    variables: &HashMap<String, String>,
) -> std::result::Result<Vec<KsqlEntity>, StatementFailure> {
    let mut session = Session {
        properties: properties.clone(),
        variables: variables.clone(),
        replaying: false,
    };
    let fail = |text: &str, error: EngineError, entities: Vec<KsqlEntity>| StatementFailure {
        statement_text: text.to_string(),
        error,
        entities,
    };
    let substituted = if sql.contains("${") {
        riffle_sql::substitute_variables(sql, &session.variables)
            .map_err(|e| fail(sql, e.into(), vec![]))?
    } else {
        sql.to_string()
    };
    let statements =
        riffle_sql::parse_statements(&substituted).map_err(|e| fail(sql, e.into(), vec![]))?;
    let mut entities = Vec::new();
    for parsed in statements {
        let _in_order = if changes_catalog(&parsed.statement) {
            Some(
                engine
                    .catch_up_commands()
                    .map_err(|e| fail(&parsed.text, e, vec![]))?,
            )
        } else {
            None
        };
        match execute_statement(engine, &parsed, &mut session) {
            Ok(Some(e)) => entities.push(e),
            Ok(None) => {}
            Err(e) => return Err(fail(&parsed.text, e, entities)),
        }
    }
    Ok(entities)
}

/// Whether a statement is recorded in the command topic (it changes sources or queries).
fn changes_catalog(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::CreateSource(_)
            | Statement::CreateAsSelect(_)
            | Statement::InsertSelect { .. }
            | Statement::Terminate(_)
            | Statement::Drop { .. }
    )
}

/// Executes one parsed statement.
pub(crate) fn execute_statement(
    engine: &Engine,
    parsed: &ParsedStatement,
    session: &mut Session,
) -> Result<Option<KsqlEntity>> {
    let text = parsed.text.as_str();
    match &parsed.statement {
        Statement::CreateSource(c) => ddl::create_source(engine, c, text, session).map(Some),
        Statement::CreateAsSelect(c) => ddl::create_as_select(engine, c, text, session).map(Some),
        Statement::InsertSelect {
            target,
            properties,
            query,
        } => ddl::insert_select(engine, target, properties, query, text, session).map(Some),
        Statement::InsertValues {
            target,
            columns,
            values,
        } => insert::insert_values(engine, target, columns.as_deref(), values, text).map(Some),
        Statement::Query(_) => Err(EngineError::statement(
            "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT",
        )),
        Statement::Print { .. } => Err(EngineError::statement(
            "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT",
        )),
        Statement::ListStreams { extended } => {
            describe::list_sources(engine, crate::SourceType::Stream, *extended, text).map(Some)
        }
        Statement::ListTables { extended } => {
            describe::list_sources(engine, crate::SourceType::Table, *extended, text).map(Some)
        }
        Statement::ListQueries { extended } => {
            describe::list_queries(engine, *extended, text).map(Some)
        }
        Statement::ListTopics { all, extended } => {
            describe::list_topics(engine, *all, *extended, text).map(Some)
        }
        Statement::ListProperties => describe::list_properties(engine, session, text).map(Some),
        Statement::ListFunctions => describe::list_functions(text).map(Some),
        Statement::ListTypes => Err(EngineError::statement("SHOW TYPES is not supported yet")),
        Statement::ListVariables => Ok(Some(describe::list_variables(session, text))),
        Statement::Describe { name, extended } => {
            describe::describe_source(engine, name, *extended, text).map(Some)
        }
        Statement::DescribeStreams { extended } => {
            describe::describe_all(engine, crate::SourceType::Stream, *extended, text).map(Some)
        }
        Statement::DescribeTables { extended } => {
            describe::describe_all(engine, crate::SourceType::Table, *extended, text).map(Some)
        }
        Statement::DescribeFunction { name } => Err(EngineError::statement(format!(
            "DESCRIBE FUNCTION {name} is not supported yet"
        ))),
        Statement::Explain(target) => describe::explain(engine, target, text).map(Some),
        Statement::Terminate(target) => ddl::terminate(engine, target, text, session).map(Some),
        Statement::Drop {
            kind,
            name,
            if_exists,
            delete_topic,
        } => ddl::drop_source(engine, (*kind).into(), name, *if_exists, *delete_topic, text, session)
            .map(Some),
        Statement::CreateType { .. } | Statement::DropType { .. } => Err(EngineError::statement(
            "CREATE TYPE and DROP TYPE are not supported yet",
        )),
        Statement::SetProperty { name, value } => {
            session.properties.insert(name.clone(), value.clone());
            Ok(None)
        }
        Statement::UnsetProperty { name } => {
            session.properties.remove(name);
            Ok(None)
        }
        Statement::DefineVariable { name, value } => {
            session.variables.insert(name.clone(), value.clone());
            Ok(None)
        }
        Statement::UndefineVariable { name } => {
            session.variables.remove(name);
            Ok(None)
        }
        Statement::AlterSource { .. } => Err(EngineError::statement(
            "ALTER STREAM/TABLE is not supported yet",
        )),
        Statement::RunScript { .. } => Err(EngineError::statement(
            "RUN SCRIPT is a shell command: use it from `riffle shell`",
        )),
    }
}

/// Records `text` in the command topic unless replaying; returns the command sequence number.
pub(crate) fn record_command(engine: &Engine, text: &str, session: &Session) -> Result<i64> {
    let mut state = engine.lock_state()?;
    if session.replaying || engine.config().headless {
        let seq = state.commands.next_seq;
        state.commands.next_seq += 1;
        return Ok(seq);
    }
    let cmd = Command {
        statement: text.to_string(),
        properties: session.properties.clone(),
    };
    state.commands.append(engine.log().as_ref(), &cmd)
}

/// The `currentStatus` entity ksqlDB answers DDL/DML with.
pub(crate) fn current_status(
    text: &str,
    command_id: String,
    message: String,
    query_id: Option<String>,
    seq: i64,
) -> KsqlEntity {
    KsqlEntity::CurrentStatus(CurrentStatus {
        statement_text: text.to_string(),
        command_id,
        command_status: CommandStatus {
            status: "SUCCESS".into(),
            message,
            query_id,
        },
        command_sequence_number: seq,
        warnings: vec![],
    })
}

impl Engine {
    /// Replays the command topic into an empty catalog.
    pub(crate) fn replay(&self) -> Result<()> {
        if self.config().headless {
            return Ok(());
        }
        let commands = {
            let mut state = self.lock_state()?;
            let cmds = state.commands.read_all(self.log().as_ref())?;
            state.commands.next_seq = 0;
            cmds
        };
        for (_, cmd) in commands {
            self.apply_command(&cmd);
        }
        Ok(())
    }

    /// Applies the commands that other servers of the service (same `ksql.service.id`, same
    /// command topic) appended since this engine last read the topic, so that every server
    /// has the same catalog and queries. Returns how many were applied.
    pub fn follow_commands(&self) -> Result<usize> {
        if self.config().headless {
            return Ok(0);
        }
        let _in_order = self.lock_statements()?;
        self.apply_new_commands()
    }

    /// Before a statement that changes the catalog: takes the statement lock and applies
    /// the commands other servers appended since the last read, so the statement sees their
    /// sources and its query id follows theirs. A statement sent to one server right after
    /// one sent to another (a load balancer in front of the service) finds its sources.
    pub(crate) fn catch_up_commands(&self) -> Result<std::sync::MutexGuard<'_, ()>> {
        let guard = self.lock_statements()?;
        if !self.config().headless {
            self.apply_new_commands()?;
        }
        Ok(guard)
    }

    fn lock_statements(&self) -> Result<std::sync::MutexGuard<'_, ()>> {
        self.inner
            .statements
            .lock()
            .map_err(|_| EngineError::Internal("statement lock poisoned".into()))
    }

    /// Applies the commands appended to the command topic since this engine last read it
    /// (the caller holds the statement lock).
    fn apply_new_commands(&self) -> Result<usize> {
        let (topic, from) = {
            let state = self.lock_state()?;
            (state.commands.topic().to_string(), state.commands.applied)
        };
        // Read without the state lock: statements go on meanwhile.
        let (commands, _) = CommandLog::read_from(self.log().as_ref(), &topic, from, 100)?;
        let mut applied = 0;
        for (offset, cmd) in commands {
            if !self.lock_state()?.commands.take(offset) {
                continue;
            }
            tracing::info!(statement = %cmd.statement, offset, "applying a command from another server");
            self.apply_command(&cmd);
            applied += 1;
        }
        Ok(applied)
    }

    /// Runs one recorded command's statements, as replay does (nothing is recorded again).
    fn apply_command(&self, cmd: &Command) {
        let mut session = Session {
            properties: cmd.properties.clone(),
            variables: HashMap::new(),
            replaying: true,
        };
        let parsed = match riffle_sql::parse_statements(&cmd.statement) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(statement = %cmd.statement, error = %e, "cannot replay command");
                return;
            }
        };
        for p in parsed {
            if let Err(e) = execute_statement(self, &p, &mut session) {
                tracing::warn!(statement = %p.text, error = %e, "replayed command failed");
            }
        }
    }

    /// Creates the processing-log stream if it does not exist.
    pub(crate) fn ensure_processing_log(&self) -> Result<()> {
        if self.catalog().sources.contains_key("KSQL_PROCESSING_LOG") {
            return Ok(());
        }
        let topic = self.config().processing_log_topic();
        let sql = format!(
            "CREATE STREAM IF NOT EXISTS KSQL_PROCESSING_LOG (LOGGER STRING, LEVEL STRING, TIME BIGINT, MESSAGE STRING) WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON', PARTITIONS=1);"
        );
        self.execute(&sql, &Properties::new(), &HashMap::new())
            .map(|_| ())
            .map_err(|f| f.error)
    }
}
