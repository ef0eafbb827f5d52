//! Planning the SELECT of a `CREATE … AS SELECT`: a stateless select or an aggregation, with
//! ksqlDB's checks on what the query produces and what its formats can hold.

use riffle_planner::{plan_select_with, SelectPlan, SourceRef};
use riffle_sql::CreateAsSelect;

use crate::catalog::{Source, SourceType};
use crate::executor::Session;
use crate::runtime::persistent::QueryPlan;
use crate::window::KeyWindow;
use crate::with_clause::{formats, select_options, FormatDefaults, With};
use crate::{Engine, EngineError, Result};

/// Plans `c`'s query over `source`: the output projection, the runnable plan, and the sink's
/// key window.
pub(crate) fn plan_query(
    engine: &Engine,
    c: &CreateAsSelect,
    kind: SourceType,
    source: &Source,
    source_ref: &SourceRef,
    session: &Session,
) -> Result<(SelectPlan, QueryPlan, Option<KeyWindow>)> {
    let aggregating = riffle_planner::is_aggregation(&c.query);
    let produces = if aggregating {
        SourceType::Table
    } else {
        source.source_type
    };
    if produces != kind {
        let (what, statement) = match produces {
            SourceType::Table => ("TABLE", "CREATE TABLE AS SELECT"),
            SourceType::Stream => ("STREAM", "CREATE STREAM AS SELECT"),
        };
        return Err(EngineError::statement(format!(
            "Invalid result type. Your SELECT query produces a {what}. Please use {statement} statement instead."
        )));
    }
    if aggregating && source.value_format.kind == riffle_format::FormatKind::Kafka {
        return Err(EngineError::statement(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
            source.name
        )));
    }
    Ok(if aggregating {
        let agg = riffle_planner::plan_aggregate(
            &engine.inner.planner,
            &c.query,
            source_ref,
            Some(&c.name),
        )?;
        if source.source_type == SourceType::Table {
            let functions: Vec<_> = agg.aggregates.iter().map(|a| a.function.clone()).collect();
            if let Some(e) = riffle_aggregates::table_source_error(&functions) {
                return Err(EngineError::statement(e.to_string()));
            }
        }
        let format_kind = formats(
            &With::new(&c.properties),
            FormatDefaults::Source(&source.key_format, &source.value_format),
        )?
        .1
        .kind;
        let primitive_state = agg.aggregates.iter().all(|a| {
            !matches!(
                a.function.state_type(),
                riffle_types::SqlType::Array(_)
                    | riffle_types::SqlType::Map(..)
                    | riffle_types::SqlType::Struct(_)
            )
        });
        if !primitive_state
            && matches!(
                format_kind,
                riffle_format::FormatKind::Delimited | riffle_format::FormatKind::Kafka
            )
        {
            return Err(EngineError::statement(
                "One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.",
            ));
        }
        let window = agg.window.as_ref().map(crate::window::KeyWindow::of);
        (agg.post.clone(), QueryPlan::Aggregate(agg), window)
    } else {
        let plan = plan_select_with(
            &engine.inner.planner,
            &c.query,
            source_ref,
            Some(&c.name),
            select_options(engine, session),
        )?;
        (plan.clone(), QueryPlan::Select(plan), source.window)
    })
}
