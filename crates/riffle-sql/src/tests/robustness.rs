//! No input makes the parser panic: truncations and mutations of valid statements.

use crate::{
    parse_data_type, parse_expression, parse_schema, parse_statements, substitute_variables,
};

const VALID: &[&str] = &[
    "CREATE OR REPLACE STREAM IF NOT EXISTS s (`k` STRING KEY, v ARRAY<STRUCT<a MAP<STRING, DECIMAL(4,2)>>>, h BYTES HEADER('x')) WITH (kafka_topic='t', partitions=-1, wrap_single_value=false);",
    "CREATE TABLE t WITH (kafka_topic='o') AS SELECT k, COUNT(*) AS c, LATEST_BY_OFFSET(v->a['x'][1]) FROM s WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS, RETENTION 1 DAY, GRACE PERIOD 0 SECONDS) WHERE v IS NOT NULL GROUP BY k HAVING COUNT(*) > 1 EMIT CHANGES;",
    "SELECT a.x, b.*, TRANSFORM(arr, x => x + 1), REDUCE(m, 0, (s, k, v) => s + v), STRUCT(a := 1, b := MAP('k' := ARRAY[1, 2])), CAST(x AS STRUCT<A INT>) AS c FROM a LEFT JOIN b WITHIN (1 HOUR, 2 HOURS) GRACE PERIOD 1 MINUTE ON a.id = b.id PARTITION BY a.id EMIT CHANGES LIMIT 5;",
    "INSERT INTO s (a, b) VALUES (CASE WHEN 1 BETWEEN 0 AND 2 THEN 'x' ELSE NULL END, 1.5E0);",
    "SET 'a'='b'; UNSET 'a'; DEFINE x = 'y'; UNDEFINE x; PRINT 't' FROM BEGINNING INTERVAL 1 LIMIT 2; EXPLAIN SELECT * FROM s; TERMINATE ALL; DROP TYPE x; CREATE TYPE x AS ARRAY<INT>; DESCRIBE FUNCTION f;",
];

/// A tiny deterministic PRNG (xorshift), so the test needs no dependency and is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn exercise(s: &str) {
    let _ = parse_statements(s);
    let _ = parse_expression(s);
    let _ = parse_data_type(s);
    let _ = parse_schema(s);
    let _ = substitute_variables(s, &Default::default());
}

#[test]
fn truncations_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for sql in VALID {
        let chars: Vec<char> = sql.chars().collect();
        for _ in 0..120 {
            let cut = rng.below(chars.len() + 1);
            exercise(&chars[..cut].iter().collect::<String>());
            let start = rng.below(chars.len() + 1);
            exercise(&chars[start..].iter().collect::<String>());
        }
    }
}

#[test]
fn mutations_never_panic() {
    const NOISE: &[&str] = &[
        "(",
        ")",
        "<",
        ">",
        ">>",
        "<>",
        ",",
        "'",
        "`",
        "\"",
        "->",
        "=>",
        ":=",
        "[",
        "]",
        "*",
        ";",
        "-",
        "--",
        "/*",
        "$",
        "${x}",
        "é",
        "\u{0}",
        "1e999",
        "99999999999999999999999",
        "SELECT",
        "FROM",
        "WINDOW",
        "STRUCT",
        "MAP",
        "CAST",
        "ARRAY",
    ];
    let mut rng = Rng(42);
    for sql in VALID {
        let chars: Vec<char> = sql.chars().collect();
        for _ in 0..150 {
            let mut s: String = chars.iter().collect();
            for _ in 0..1 + rng.below(3) {
                let cs: Vec<char> = s.chars().collect();
                let at = rng.below(cs.len() + 1);
                let mut t: String = cs[..at].iter().collect();
                t.push_str(NOISE[rng.below(NOISE.len())]);
                let skip = (at + rng.below(3)).min(cs.len());
                t.extend(&cs[skip..]);
                s = t;
            }
            exercise(&s);
        }
    }
}

#[test]
fn deep_parentheses_are_an_error() {
    let deep = format!(
        "SELECT {}1{} FROM s;",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert!(parse_statements(&deep).is_err());
}

#[test]
fn deep_unary_operators_are_an_error() {
    let deep = format!("SELECT {}1 FROM s;", "-".repeat(10_000));
    assert!(parse_statements(&deep).is_err());
    let deep = format!("SELECT {}1 FROM s;", "NOT ".repeat(10_000));
    assert!(parse_statements(&deep).is_err());
}

#[test]
fn long_operator_chains_are_an_error() {
    for op in ["+", "AND", "->", "||"] {
        let deep = format!("SELECT a {} FROM s;", format!("{op} b ").repeat(5_000));
        assert!(parse_statements(&deep).is_err(), "{op}");
    }
    // Long but shallow is fine: successive subscripts form one flat access chain.
    let flat = format!("SELECT a{} FROM s;", "[1]".repeat(5_000));
    assert!(parse_statements(&flat).is_ok());
    let wide = format!(
        "SELECT a FROM s WHERE a IN ({});",
        vec!["1"; 5_000].join(", ")
    );
    assert!(parse_statements(&wide).is_ok());
}

#[test]
fn deep_types_and_explains_are_an_error() {
    let deep = format!(
        "CREATE STREAM s (a {}INT{});",
        "ARRAY<".repeat(5_000),
        ">".repeat(5_000)
    );
    assert!(parse_statements(&deep).is_err());
    let deep = format!("{}SELECT * FROM s;", "EXPLAIN ".repeat(5_000));
    assert!(parse_statements(&deep).is_err());
    let joins = format!("SELECT * FROM a{};", " JOIN b ON x = y".repeat(1_000));
    assert!(parse_statements(&joins).is_err());
}
