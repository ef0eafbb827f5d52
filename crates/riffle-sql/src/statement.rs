//! The ksqlDB statement AST.
//!
//! Names (sources, columns, aliases, struct fields, functions) are already normalised by the
//! identifier rule: unquoted identifiers are upper-cased, back-quoted (or double-quoted) ones
//! keep their case. Expressions are sqlparser [`Expr`]s normalised the same way; see
//! [`crate::KsqlDialect`] for how ksqlDB-specific expressions are represented.

use std::time::Duration;

use riffle_types::{Column, ColumnKind};
use sqlparser::ast::Expr;

use crate::types::TypeRef;

/// One parsed statement and the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    /// The statement.
    pub statement: Statement,
    /// The statement's own text including its trailing `;` (when present), trimmed of
    /// surrounding whitespace, as ksqlDB echoes it in `statementText`.
    pub text: String,
}

/// A ksqlDB statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(columns)] [WITH (...)]`.
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`.
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO target [(columns)] VALUES (values)`.
    InsertValues {
        /// Target source name.
        target: String,
        /// Explicit column list, if given.
        columns: Option<Vec<String>>,
        /// One expression per column.
        values: Vec<Expr>,
    },
    /// `INSERT INTO target [WITH (...)] SELECT ...`.
    InsertSelect {
        /// Target source name.
        target: String,
        /// `WITH` properties (e.g. `QUERY_ID`).
        properties: Properties,
        /// The query whose rows are inserted.
        query: Query,
    },
    /// A bare `SELECT`: a push query when `emit` is `Some(Emit::Changes)`, a pull query otherwise.
    Query(Query),
    /// `LIST|SHOW STREAMS [EXTENDED]`.
    ListStreams {
        /// `EXTENDED` given.
        extended: bool,
    },
    /// `LIST|SHOW TABLES [EXTENDED]`.
    ListTables {
        /// `EXTENDED` given.
        extended: bool,
    },
    /// `LIST|SHOW QUERIES [EXTENDED]`.
    ListQueries {
        /// `EXTENDED` given.
        extended: bool,
    },
    /// `LIST|SHOW [ALL] TOPICS [EXTENDED]`.
    ListTopics {
        /// `ALL` given (include internal topics).
        all: bool,
        /// `EXTENDED` given.
        extended: bool,
    },
    /// `LIST|SHOW PROPERTIES`.
    ListProperties,
    /// `LIST|SHOW FUNCTIONS`.
    ListFunctions,
    /// `LIST|SHOW TYPES`.
    ListTypes,
    /// `LIST|SHOW VARIABLES`.
    ListVariables,
    /// `DESCRIBE name [EXTENDED]`.
    Describe {
        /// Source name.
        name: String,
        /// `EXTENDED` given.
        extended: bool,
    },
    /// `DESCRIBE STREAMS [EXTENDED]`.
    DescribeStreams {
        /// `EXTENDED` given.
        extended: bool,
    },
    /// `DESCRIBE TABLES [EXTENDED]`.
    DescribeTables {
        /// `EXTENDED` given.
        extended: bool,
    },
    /// `DESCRIBE FUNCTION name`.
    DescribeFunction {
        /// Function name, upper-cased unless quoted.
        name: String,
    },
    /// `EXPLAIN query_id` or `EXPLAIN <statement>`.
    Explain(ExplainTarget),
    /// `TERMINATE query_id` or `TERMINATE ALL`.
    Terminate(TerminateTarget),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
    Drop {
        /// Stream or table.
        kind: SourceKind,
        /// Source name.
        name: String,
        /// `IF EXISTS` given.
        if_exists: bool,
        /// `DELETE TOPIC` given.
        delete_topic: bool,
    },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`.
    CreateType {
        /// Type alias name.
        name: String,
        /// The aliased type; may itself refer to other custom types.
        ty: TypeRef,
        /// `IF NOT EXISTS` given.
        if_not_exists: bool,
    },
    /// `DROP TYPE [IF EXISTS] name`.
    DropType {
        /// Type alias name.
        name: String,
        /// `IF EXISTS` given.
        if_exists: bool,
    },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] col type [, ADD [COLUMN] col type ...]`.
    AlterSource {
        /// Stream or table.
        kind: SourceKind,
        /// Source name.
        name: String,
        /// The added value columns, in order.
        columns: Vec<(String, TypeRef)>,
    },
    /// `SET 'name' = 'value'`.
    SetProperty {
        /// Property name as written (not case-normalised: Kafka/ksqlDB config names are).
        name: String,
        /// Property value.
        value: String,
    },
    /// `UNSET 'name'`.
    UnsetProperty {
        /// Property name as written.
        name: String,
    },
    /// `DEFINE name = 'value'`.
    DefineVariable {
        /// Variable name as written (lookups are case-insensitive).
        name: String,
        /// Variable value (the string literal's content).
        value: String,
    },
    /// `UNDEFINE name`.
    UndefineVariable {
        /// Variable name as written.
        name: String,
    },
    /// `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`.
    Print {
        /// Topic name: a string literal's content, or an identifier kept case-sensitive as
        /// ksqlDB does for topic names (back-quotes removed).
        topic: String,
        /// `FROM BEGINNING` given.
        from_beginning: bool,
        /// `INTERVAL n` / `SAMPLE n`: print every n-th record.
        interval: Option<u64>,
        /// `LIMIT n`.
        limit: Option<u64>,
    },
    /// `RUN SCRIPT 'path'`.
    RunScript {
        /// Script path.
        path: String,
    },
}

/// Stream or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A STREAM.
    Stream,
    /// A TABLE.
    Table,
}

/// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE ... [(columns)] [WITH (...)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    /// Stream or table.
    pub kind: SourceKind,
    /// Source name.
    pub name: String,
    /// `OR REPLACE` given.
    pub or_replace: bool,
    /// `IF NOT EXISTS` given.
    pub if_not_exists: bool,
    /// `SOURCE` given (a read-only source).
    pub is_source: bool,
    /// Declared columns, in declaration order; empty when the schema is to be inferred.
    pub columns: Vec<ColumnDef>,
    /// `WITH` properties.
    pub properties: Properties,
}

/// One column of a `CREATE STREAM|TABLE` element list.
///
/// The type is a [`TypeRef`] rather than a [`riffle_types::SqlType`] because it may name a
/// custom type registered with `CREATE TYPE`; [`ColumnDef::to_column`] converts columns whose
/// type is fully known.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Column type.
    pub ty: TypeRef,
    /// `KEY`/`PRIMARY KEY` → [`ColumnKind::Key`], `HEADERS`/`HEADER('k')` → header, else value.
    pub kind: ColumnKind,
    /// True when the key was declared with `PRIMARY KEY` (ksqlDB requires it on tables and
    /// rejects it on streams; the parser accepts both and leaves the check to the engine).
    pub primary_key: bool,
    /// Where the definition starts in the request text: 1-based line and column.
    pub location: Option<(u64, u64)>,
}

impl ColumnDef {
    /// The column as a [`Column`], or `None` when its type mentions a custom type.
    pub fn to_column(&self) -> Option<Column> {
        match &self.ty {
            TypeRef::Known(ty) => Some(Column {
                name: self.name.clone(),
                ty: ty.clone(),
                kind: self.kind.clone(),
            }),
            _ => None,
        }
    }
}

/// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    /// Stream or table.
    pub kind: SourceKind,
    /// Name of the created source.
    pub name: String,
    /// `OR REPLACE` given.
    pub or_replace: bool,
    /// `IF NOT EXISTS` given.
    pub if_not_exists: bool,
    /// `WITH` properties.
    pub properties: Properties,
    /// The defining query.
    pub query: Query,
}

/// `WITH (name = value, ...)` properties, in the order written.
///
/// Names are upper-cased (ksqlDB property names are case-insensitive); values are kept as
/// written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(pub Vec<(String, PropertyValue)>);

impl Properties {
    /// The value of a property, looked up case-insensitively; the last one wins if repeated.
    pub fn get(&self, name: &str) -> Option<&PropertyValue> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// True when no property was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The properties in the order written.
    pub fn iter(&self) -> impl Iterator<Item = &(String, PropertyValue)> {
        self.0.iter()
    }
}

/// The value of a `WITH` property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    /// A string literal's content (`''` already unescaped).
    String(String),
    /// A numeric literal as written, including a leading `-`.
    Number(String),
    /// `TRUE` or `FALSE`.
    Boolean(bool),
}

impl PropertyValue {
    /// The value as text: the string's content, the number as written, `true`/`false`.
    pub fn as_text(&self) -> String {
        match self {
            PropertyValue::String(s) | PropertyValue::Number(s) => s.clone(),
            PropertyValue::Boolean(b) => b.to_string(),
        }
    }
}

/// A `SELECT` query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The projection.
    pub select: Vec<SelectItem>,
    /// The `FROM` relation, with its joins.
    pub from: Relation,
    /// `WHERE` predicate.
    pub where_clause: Option<Expr>,
    /// `WINDOW` clause.
    pub window: Option<WindowExpr>,
    /// `GROUP BY` expressions (empty when absent).
    pub group_by: Vec<Expr>,
    /// `HAVING` predicate.
    pub having: Option<Expr>,
    /// `PARTITION BY` expressions (empty when absent).
    pub partition_by: Vec<Expr>,
    /// `EMIT CHANGES` / `EMIT FINAL`.
    pub emit: Option<Emit>,
    /// `LIMIT n`. ksqlDB's grammar takes negative numbers too; each kind of query refuses them
    /// with its own message.
    pub limit: Option<i64>,
}

/// One item of a `SELECT` list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`.
    Wildcard,
    /// `source.*` (the source name or alias).
    QualifiedWildcard(String),
    /// `struct_expr->*`: all fields of a struct.
    StructWildcard(Expr),
    /// `expr [[AS] alias]`.
    Expr {
        /// The expression.
        expr: Expr,
        /// The alias, if given.
        alias: Option<String>,
    },
}

/// The `FROM` clause.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // keeps `on: Expr` unboxed for easy matching
pub enum Relation {
    /// A named stream or table.
    Source {
        /// Source name.
        name: String,
        /// Alias, if given.
        alias: Option<String>,
    },
    /// `left [kind] JOIN right [WITHIN ...] ON on`; chains of joins nest to the left.
    Join {
        /// Left side.
        left: Box<Relation>,
        /// Right side (always a [`Relation::Source`] from the parser).
        right: Box<Relation>,
        /// Join type.
        kind: JoinKind,
        /// Join criteria.
        on: Expr,
        /// `WITHIN` window of stream-stream joins.
        within: Option<WithinExpr>,
    },
}

/// Join type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKind {
    /// `[INNER] JOIN`.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `RIGHT [OUTER] JOIN`.
    Right,
    /// `FULL [OUTER] JOIN`.
    Full,
}

/// `WITHIN (before, after) [GRACE PERIOD g]` or `WITHIN size [GRACE PERIOD g]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WithinExpr {
    /// How far before the left record a right record may be (the size for `WITHIN size`).
    pub before: Duration,
    /// How far after the left record a right record may be (the size for `WITHIN size`).
    pub after: Duration,
    /// `GRACE PERIOD`, if given.
    pub grace: Option<Duration>,
}

/// The `WINDOW` clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowExpr {
    /// `TUMBLING (SIZE s [, RETENTION r] [, GRACE PERIOD g])`.
    Tumbling {
        /// Window size.
        size: Duration,
        /// Retention, if given.
        retention: Option<Duration>,
        /// Grace period, if given.
        grace: Option<Duration>,
    },
    /// `HOPPING (SIZE s, ADVANCE BY a [, RETENTION r] [, GRACE PERIOD g])`.
    Hopping {
        /// Window size.
        size: Duration,
        /// Advance interval.
        advance: Duration,
        /// Retention, if given.
        retention: Option<Duration>,
        /// Grace period, if given.
        grace: Option<Duration>,
    },
    /// `SESSION (gap [, RETENTION r] [, GRACE PERIOD g])`.
    Session {
        /// Inactivity gap.
        gap: Duration,
        /// Retention, if given.
        retention: Option<Duration>,
        /// Grace period, if given.
        grace: Option<Duration>,
    },
}

/// `EMIT CHANGES` or `EMIT FINAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emit {
    /// `EMIT CHANGES`: a push query.
    Changes,
    /// `EMIT FINAL`: emit only final window results.
    Final,
}

/// What `EXPLAIN` explains.
#[derive(Debug, Clone, PartialEq)]
pub enum ExplainTarget {
    /// A running query, by id (upper-cased).
    QueryId(String),
    /// A statement to plan without running it.
    Statement(Box<ParsedStatement>),
}

/// What `TERMINATE` stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminateTarget {
    /// `TERMINATE ALL`.
    All,
    /// A query id, upper-cased (ksqlDB query ids are case-insensitive).
    Query(String),
}
