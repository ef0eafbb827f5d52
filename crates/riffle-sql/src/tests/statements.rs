use std::time::Duration;

use riffle_types::{ColumnKind, SqlType};

use super::{err, one};
use crate::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn query(s: Statement) -> Query {
    match s {
        Statement::Query(q) => q,
        other => panic!("not a query: {other:?}"),
    }
}

#[test]
fn create_stream_with_columns_and_properties() {
    let s = one(
        "CREATE OR REPLACE STREAM IF NOT EXISTS foo (`Id` INT KEY, name STRING, \
         h BYTES HEADER('x'), hs ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS) \
         WITH (kafka_topic='t', PARTITIONS=4, WRAP_SINGLE_VALUE=false, 'value_format'='JSON');",
    );
    let Statement::CreateSource(c) = s else {
        panic!("{s:?}")
    };
    assert_eq!(c.kind, SourceKind::Stream);
    assert_eq!(c.name, "FOO");
    assert!(c.or_replace && c.if_not_exists && !c.is_source);
    let names: Vec<_> = c.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Id", "NAME", "H", "HS"]);
    assert_eq!(c.columns[0].kind, ColumnKind::Key);
    assert_eq!(c.columns[0].ty, TypeRef::Known(SqlType::Int));
    assert_eq!(c.columns[1].kind, ColumnKind::Value);
    assert_eq!(c.columns[2].kind, ColumnKind::Header(Some("x".into())));
    assert_eq!(c.columns[3].kind, ColumnKind::Header(None));
    assert_eq!(
        c.properties.0,
        vec![
            ("KAFKA_TOPIC".into(), PropertyValue::String("t".into())),
            ("PARTITIONS".into(), PropertyValue::Number("4".into())),
            ("WRAP_SINGLE_VALUE".into(), PropertyValue::Boolean(false)),
            ("VALUE_FORMAT".into(), PropertyValue::String("JSON".into())),
        ]
    );
    assert_eq!(
        c.properties.get("kafka_topic"),
        Some(&PropertyValue::String("t".into()))
    );
}

#[test]
fn create_source_table_primary_key_and_custom_type() {
    let s = one("create source table t (k BIGINT PRIMARY KEY, v my_type) with (kafka_topic='t');");
    let Statement::CreateSource(c) = s else {
        panic!("{s:?}")
    };
    assert!(c.is_source);
    assert_eq!(c.kind, SourceKind::Table);
    assert!(c.columns[0].primary_key);
    assert_eq!(c.columns[0].kind, ColumnKind::Key);
    assert_eq!(c.columns[1].ty, TypeRef::Custom("MY_TYPE".into()));
    assert!(c.columns[1].to_column().is_none());
    assert_eq!(
        c.columns[0].to_column().map(|c| c.ty),
        Some(SqlType::Bigint)
    );
}

#[test]
fn create_without_columns() {
    let s = one("CREATE STREAM s WITH (kafka_topic='t', value_format='AVRO');");
    let Statement::CreateSource(c) = s else {
        panic!("{s:?}")
    };
    assert!(c.columns.is_empty());
    assert_eq!(c.properties.0.len(), 2);
}

#[test]
fn create_as_select() {
    let s = one(
        "CREATE TABLE agg WITH (kafka_topic='out') AS SELECT id, COUNT(*) AS cnt FROM s \
         WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 10 SECONDS) \
         GROUP BY id HAVING COUNT(*) > 1 EMIT CHANGES;",
    );
    let Statement::CreateAsSelect(c) = s else {
        panic!("{s:?}")
    };
    assert_eq!(c.kind, SourceKind::Table);
    assert_eq!(c.name, "AGG");
    assert_eq!(c.properties.0.len(), 1);
    let q = c.query;
    assert_eq!(q.select.len(), 2);
    assert!(matches!(&q.select[1], SelectItem::Expr { alias: Some(a), .. } if a == "CNT"));
    assert_eq!(
        q.window,
        Some(WindowExpr::Tumbling {
            size: secs(60),
            retention: Some(secs(2 * 86_400)),
            grace: Some(secs(10)),
        })
    );
    assert_eq!(q.group_by.len(), 1);
    assert!(q.having.is_some());
    assert_eq!(q.emit, Some(Emit::Changes));
}

#[test]
fn hopping_and_session_windows() {
    let q = query(one(
        "SELECT * FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 seconds) GROUP BY a;",
    ));
    assert_eq!(
        q.window,
        Some(WindowExpr::Hopping {
            size: secs(30),
            advance: secs(10),
            retention: None,
            grace: None
        })
    );
    let q = query(one(
        "SELECT * FROM s WINDOW SESSION (500 MILLISECONDS, GRACE PERIOD 1 HOUR) GROUP BY a;",
    ));
    assert_eq!(
        q.window,
        Some(WindowExpr::Session {
            gap: Duration::from_millis(500),
            retention: None,
            grace: Some(secs(3600))
        })
    );
}

#[test]
fn select_clauses_and_items() {
    let q = query(one(
        "SELECT *, s.*, st->*, a b, `c` AS `Cee` FROM s WHERE a > 1 PARTITION BY (a, b) \
         EMIT FINAL LIMIT 10;",
    ));
    assert_eq!(q.select[0], SelectItem::Wildcard);
    assert_eq!(q.select[1], SelectItem::QualifiedWildcard("S".into()));
    assert!(matches!(q.select[2], SelectItem::StructWildcard(_)));
    assert!(matches!(&q.select[3], SelectItem::Expr { alias: Some(a), .. } if a == "B"));
    assert!(matches!(&q.select[4], SelectItem::Expr { alias: Some(a), .. } if a == "Cee"));
    assert!(q.where_clause.is_some());
    assert_eq!(q.partition_by.len(), 2);
    assert_eq!(q.emit, Some(Emit::Final));
    assert_eq!(q.limit, Some(10));
    // Negative limits parse; the engine explains why it refuses them.
    assert_eq!(query(one("SELECT * FROM s LIMIT -3;")).limit, Some(-3));
    assert_eq!(
        q.from,
        Relation::Source {
            name: "S".into(),
            alias: None
        }
    );
    // A pull query has no EMIT.
    let q = query(one("SELECT * FROM t WHERE id = 1;"));
    assert_eq!(q.emit, None);
}

#[test]
fn joins() {
    let q = query(one(
        "SELECT * FROM a AS x JOIN b y WITHIN (1 HOUR, 2 HOURS) GRACE PERIOD 5 MINUTES ON x.id = y.id \
         LEFT OUTER JOIN c ON x.id = c.id FULL JOIN d WITHIN 10 SECONDS ON d.id = x.id \
         RIGHT JOIN e ON e.k = x.k INNER JOIN f ON f.k = x.k EMIT CHANGES;",
    ));
    let mut kinds = vec![];
    let mut rel = &q.from;
    while let Relation::Join {
        left,
        kind,
        within,
        right,
        ..
    } = rel
    {
        kinds.push((*kind, *within));
        assert!(matches!(**right, Relation::Source { .. }));
        rel = left;
    }
    assert_eq!(
        rel,
        &Relation::Source {
            name: "A".into(),
            alias: Some("X".into())
        }
    );
    kinds.reverse();
    assert_eq!(kinds[0].0, JoinKind::Inner);
    assert_eq!(
        kinds[0].1,
        Some(WithinExpr {
            before: secs(3600),
            after: secs(7200),
            grace: Some(secs(300))
        })
    );
    assert_eq!(kinds[1], (JoinKind::Left, None));
    assert_eq!(kinds[2].0, JoinKind::Full);
    assert_eq!(
        kinds[2].1.map(|w| (w.before, w.after)),
        Some((secs(10), secs(10)))
    );
    assert_eq!(kinds[3].0, JoinKind::Right);
    assert_eq!(kinds[4].0, JoinKind::Inner);
}

#[test]
fn inserts() {
    let s = one("INSERT INTO s (k, `v`) VALUES ('a', 1.5);");
    assert!(matches!(
        &s,
        Statement::InsertValues { target, columns: Some(c), values }
            if target == "S" && c == &["K".to_string(), "v".to_string()] && values.len() == 2
    ));
    let s = one("INSERT INTO s VALUES ();");
    assert!(
        matches!(&s, Statement::InsertValues { columns: None, values, .. } if values.is_empty())
    );
    let s = one("INSERT INTO s WITH (QUERY_ID='q1') SELECT * FROM t EMIT CHANGES;");
    assert!(
        matches!(&s, Statement::InsertSelect { target, properties, .. }
        if target == "S" && properties.get("query_id").is_some())
    );
}

#[test]
fn list_and_show() {
    use Statement::*;
    assert_eq!(one("LIST STREAMS;"), ListStreams { extended: false });
    assert_eq!(one("show tables extended;"), ListTables { extended: true });
    assert_eq!(one("SHOW QUERIES;"), ListQueries { extended: false });
    assert_eq!(
        one("LIST ALL TOPICS EXTENDED;"),
        ListTopics {
            all: true,
            extended: true
        }
    );
    assert_eq!(
        one("SHOW TOPICS;"),
        ListTopics {
            all: false,
            extended: false
        }
    );
    assert_eq!(one("SHOW PROPERTIES;"), ListProperties);
    assert_eq!(one("SHOW FUNCTIONS;"), ListFunctions);
    assert_eq!(one("LIST TYPES;"), ListTypes);
    assert_eq!(one("SHOW VARIABLES;"), ListVariables);
    assert!(err("SHOW CONNECTORS;").contains("not supported"));
}

#[test]
fn describe_explain_terminate() {
    use Statement::*;
    assert_eq!(
        one("DESCRIBE foo;"),
        Describe {
            name: "FOO".into(),
            extended: false
        }
    );
    assert_eq!(
        one("DESCRIBE `foo` EXTENDED;"),
        Describe {
            name: "foo".into(),
            extended: true
        }
    );
    assert_eq!(
        one("DESCRIBE STREAMS EXTENDED;"),
        DescribeStreams { extended: true }
    );
    assert_eq!(one("DESCRIBE TABLES;"), DescribeTables { extended: false });
    assert_eq!(
        one("DESCRIBE FUNCTION substring;"),
        DescribeFunction {
            name: "SUBSTRING".into()
        }
    );
    assert_eq!(
        one("EXPLAIN csas_foo_1;"),
        Explain(ExplainTarget::QueryId("CSAS_FOO_1".into()))
    );
    let Explain(ExplainTarget::Statement(inner)) = one("EXPLAIN  SELECT * FROM s EMIT CHANGES;")
    else {
        panic!()
    };
    assert_eq!(inner.text, "SELECT * FROM s EMIT CHANGES;");
    assert!(matches!(inner.statement, Query(_)));
    assert_eq!(one("TERMINATE ALL;"), Terminate(TerminateTarget::All));
    assert_eq!(
        one("terminate ctas_x_3;"),
        Terminate(TerminateTarget::Query("CTAS_X_3".into()))
    );
}

#[test]
fn drop_and_types() {
    use Statement::*;
    assert_eq!(
        one("DROP STREAM IF EXISTS s DELETE TOPIC;"),
        Drop {
            kind: SourceKind::Stream,
            name: "S".into(),
            if_exists: true,
            delete_topic: true
        }
    );
    assert_eq!(
        one("DROP TABLE t;"),
        Drop {
            kind: SourceKind::Table,
            name: "T".into(),
            if_exists: false,
            delete_topic: false
        }
    );
    assert_eq!(
        one("DROP TYPE IF EXISTS addr;"),
        DropType {
            name: "ADDR".into(),
            if_exists: true
        }
    );
    let CreateType {
        name,
        ty,
        if_not_exists,
    } = one("CREATE TYPE IF NOT EXISTS addr AS STRUCT<street STRING, n INT>;")
    else {
        panic!()
    };
    assert_eq!(name, "ADDR");
    assert!(if_not_exists);
    assert_eq!(ty.to_string(), "STRUCT<`STREET` STRING, `N` INTEGER>");
    let AlterSource {
        kind,
        name,
        columns,
    } = one("ALTER STREAM s ADD COLUMN c INT, ADD d ARRAY<STRING>;")
    else {
        panic!()
    };
    assert_eq!(
        (kind, name.as_str(), columns.len()),
        (SourceKind::Stream, "S", 2)
    );
}

#[test]
fn properties_variables_print_run() {
    use Statement::*;
    assert_eq!(
        one("SET 'auto.offset.reset'='earliest';"),
        SetProperty {
            name: "auto.offset.reset".into(),
            value: "earliest".into()
        }
    );
    assert_eq!(
        one("UNSET 'auto.offset.reset';"),
        UnsetProperty {
            name: "auto.offset.reset".into()
        }
    );
    assert_eq!(
        one("DEFINE x = 'v';"),
        DefineVariable {
            name: "x".into(),
            value: "v".into()
        }
    );
    assert_eq!(one("UNDEFINE x;"), UndefineVariable { name: "x".into() });
    assert_eq!(
        one("PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 5;"),
        Print {
            topic: "my-topic".into(),
            from_beginning: true,
            interval: Some(2),
            limit: Some(5)
        }
    );
    assert_eq!(
        one("PRINT myTopic;"),
        Print {
            topic: "myTopic".into(),
            from_beginning: false,
            interval: None,
            limit: None
        }
    );
    assert_eq!(
        one("RUN SCRIPT '/tmp/x.sql';"),
        RunScript {
            path: "/tmp/x.sql".into()
        }
    );
    assert!(err("ASSERT TOPIC x;").contains("not supported"));
}

#[test]
fn statement_texts_and_splitting() {
    let v = parse_statements(
        "  CREATE STREAM s (a INT) WITH (kafka_topic='a;b');\n\n -- comment\n SELECT * FROM s EMIT CHANGES ;  DROP STREAM s",
    )
    .unwrap();
    let texts: Vec<_> = v.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "CREATE STREAM s (a INT) WITH (kafka_topic='a;b');",
            "SELECT * FROM s EMIT CHANGES ;",
            "DROP STREAM s"
        ]
    );
    assert_eq!(
        split_statements("a; b ;").unwrap(),
        vec!["a;".to_string(), "b ;".to_string()]
    );
}

#[test]
fn parse_schema_strings() {
    let s = parse_schema("`K` STRING KEY, `V` INT, `H` BYTES HEADER('x'), P BIGINT PRIMARY KEY")
        .unwrap();
    assert_eq!(
        s.to_string(),
        "`K` STRING KEY, `V` INTEGER, `H` BYTES HEADER('x'), `P` BIGINT KEY"
    );
    assert!(parse_schema("").unwrap().columns.is_empty());
    assert!(parse_schema("A FOO").is_err());
    assert!(parse_schema("A INT,").is_err());
}

#[test]
fn error_messages_have_locations() {
    let e = err("CREATE STREAM s (a FOO<INT>);");
    assert!(e.starts_with("line 1:23: "), "{e}");
    let e = err("SELECT * FROM;");
    assert_eq!(
        e,
        "line 1:14: Syntax Error\nmismatched input ';' expecting a source name"
    );
    let e = err("SELECT * FROM s\nWHERE;");
    assert_eq!(
        e,
        "line 2:6: Syntax Error\nmismatched input ';' expecting an expression"
    );
    let e = err("CREATE STREAM s (a INT) WITH (kafka_topic='t'");
    assert!(e.contains("'<EOF>'"), "{e}");
    let e = err("SELECT * FROM s;\nFOO BAR;");
    assert_eq!(
        e,
        "line 2:1: Syntax Error\nmismatched input 'FOO' expecting a statement"
    );
    let e = err("SELECT * FROM s WHERE a = 'unterminated;");
    assert!(e.starts_with("line 1:27: "), "{e}");
    let e = err("SELECT * FROM s WHERE a > 1 WHERE b;");
    assert!(e.contains("WHERE clause given more than once"), "{e}");
    let e = err("CREATE STREAM s (a INT) AS SELECT * FROM t;");
    assert!(e.contains("mismatched input 'AS' expecting ';'"), "{e}");
}
