//! DataFusion expressions printed back as ksqlDB prints expressions in error messages
//! (`ExpressionFormatter`): `COL`, `'text'`, `(A + B)`, `ARRAY[1, 2]`, `MAP('k':=V)`,
//! `STRUCT(F:=V)`, `NAME(ARGS)`, `CAST(X AS TYPE)`.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, Operator};

use crate::cast::CAST_UDF;
use crate::dec;
use crate::format::java_double;

/// The ksqlDB text of `e`.
pub fn ksql_text(e: &Expr) -> String {
    match e {
        Expr::Column(c) => c.name.clone(),
        Expr::Alias(a) => ksql_text(&a.expr),
        Expr::Literal(v, _) => literal_text(v),
        Expr::BinaryExpr(b) => {
            let op = match b.op {
                Operator::Eq => "=",
                Operator::NotEq => "<>",
                Operator::Lt => "<",
                Operator::LtEq => "<=",
                Operator::Gt => ">",
                Operator::GtEq => ">=",
                Operator::Plus => "+",
                Operator::Minus => "-",
                Operator::Multiply => "*",
                Operator::Divide => "/",
                Operator::Modulo => "%",
                Operator::And => "AND",
                Operator::Or => "OR",
                _ => return format!("({} {} {})", ksql_text(&b.left), b.op, ksql_text(&b.right)),
            };
            format!("({} {op} {})", ksql_text(&b.left), ksql_text(&b.right))
        }
        Expr::Not(x) => format!("(NOT {})", ksql_text(x)),
        Expr::Negative(x) => format!("-{}", ksql_text(x)),
        Expr::IsNull(x) => format!("({} IS NULL)", ksql_text(x)),
        Expr::IsNotNull(x) => format!("({} IS NOT NULL)", ksql_text(x)),
        Expr::Cast(c) => format!("CAST({} AS {})", ksql_text(&c.expr), c.field.data_type()),
        Expr::TryCast(c) => format!("CAST({} AS {})", ksql_text(&c.expr), c.field.data_type()),
        Expr::ScalarFunction(f) => {
            let args: Vec<String> = f.args.iter().map(ksql_text).collect();
            match f.name() {
                "make_array" => format!("ARRAY[{}]", args.join(", ")),
                "named_struct" => {
                    let fields: Vec<String> = args
                        .chunks(2)
                        .map(|kv| match kv {
                            [k, v] => format!("{}:={v}", k.trim_matches('\'')),
                            _ => kv.join(""),
                        })
                        .collect();
                    format!("STRUCT({})", fields.join(", "))
                }
                "map" => match f.args.as_slice() {
                    [Expr::ScalarFunction(k), Expr::ScalarFunction(v)] => {
                        let pairs: Vec<String> = k
                            .args
                            .iter()
                            .zip(v.args.iter())
                            .map(|(k, v)| format!("{}:={}", ksql_text(k), ksql_text(v)))
                            .collect();
                        format!("MAP({})", pairs.join(", "))
                    }
                    _ => format!("MAP({})", args.join(", ")),
                },
                "get_field" if args.len() == 2 => {
                    format!("{}->{}", args[0], args[1].trim_matches('\''))
                }
                name if name == CAST_UDF && args.len() == 2 => {
                    format!("CAST({} AS {})", args[0], args[1].trim_matches('\''))
                }
                name => format!("{}({})", name.to_ascii_uppercase(), args.join(", ")),
            }
        }
        Expr::AggregateFunction(f) => {
            let args: Vec<String> = f.params.args.iter().map(ksql_text).collect();
            format!(
                "{}({})",
                f.func.name().to_ascii_uppercase(),
                args.join(", ")
            )
        }
        other => other.to_string(),
    }
}

fn literal_text(v: &ScalarValue) -> String {
    if v.is_null() {
        return "null".into();
    }
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => {
            format!("'{}'", s.replace('\'', "''"))
        }
        ScalarValue::Float64(Some(d)) => java_double(*d),
        ScalarValue::Decimal128(Some(v), _, s) => dec::to_plain_string(*v, *s as i32),
        other => other.to_string(),
    }
}
