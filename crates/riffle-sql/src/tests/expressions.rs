use riffle_types::SqlType;
use sqlparser::ast::{
    AccessExpr, BinaryOperator, CastKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    LambdaFunction, OneOrManyWithParens, Subscript, UnaryOperator, Value,
};

use crate::{cast_target_type, cast_target_type_ref, parse_expression, TypeRef};

fn ex(s: &str) -> Expr {
    parse_expression(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ident(e: &Expr) -> &str {
    match e {
        Expr::Identifier(id) => {
            assert!(id.quote_style.is_none());
            &id.value
        }
        other => panic!("not an identifier: {other:?}"),
    }
}

fn function_args(e: &Expr) -> (String, &[FunctionArg]) {
    match e {
        Expr::Function(f) => match &f.args {
            FunctionArguments::List(l) => (f.name.to_string(), &l.args),
            _ => (f.name.to_string(), &[]),
        },
        other => panic!("not a function: {other:?}"),
    }
}

/// `(base, field)` of a `base->field`.
fn deref(e: &Expr) -> (&Expr, &str) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Arrow,
            right,
        } => (left, ident(right)),
        other => panic!("not a dereference: {other:?}"),
    }
}

#[test]
fn identifiers_are_normalised() {
    assert_eq!(ident(&ex("foo")), "FOO");
    assert_eq!(ident(&ex("`My Col`")), "My Col");
    assert_eq!(ident(&ex("\"quoted\"")), "quoted");
    match ex("s.`c`") {
        Expr::CompoundIdentifier(ids) => {
            assert_eq!((ids[0].value.as_str(), ids[1].value.as_str()), ("S", "c"));
            assert!(ids.iter().all(|i| i.quote_style.is_none()));
        }
        other => panic!("{other:?}"),
    }
    let e = ex("ucase(`a`)");
    let (name, args) = function_args(&e);
    assert_eq!(name, "UCASE");
    assert!(matches!(&args[0], FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if ident(e) == "a"));
    assert_eq!(ident(&ex("interval")), "INTERVAL");
    assert_eq!(ident(&ex("1r")), "1R");
}

#[test]
fn struct_dereference() {
    let e = ex("a->b->c");
    let (inner, c) = deref(&e);
    assert_eq!(c, "C");
    let (a, b) = deref(inner);
    assert_eq!((ident(a), b), ("A", "B"));

    let e = ex("a[1]->`b`");
    let (base, b) = deref(&e);
    assert_eq!(b, "b");
    assert!(matches!(base, Expr::CompoundFieldAccess { .. }));

    // `a->b[1] = 3` is `((a->b)[1]) = 3`.
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq,
        ..
    } = ex("a->b[1] = 3")
    else {
        panic!()
    };
    let Expr::CompoundFieldAccess { root, access_chain } = *left else {
        panic!()
    };
    assert_eq!(deref(&root).1, "B");
    assert!(matches!(
        &access_chain[..],
        [AccessExpr::Subscript(Subscript::Index { .. })]
    ));
    let e = ex("f(x)->y");
    assert_eq!(deref(&e).1, "Y");
}

#[test]
fn subscripts() {
    for s in ["a[1]", "m['k']", "ARRAY[1,2][1]", "a[1][2]"] {
        assert!(matches!(ex(s), Expr::CompoundFieldAccess { .. }), "{s}");
    }
    let Expr::CompoundFieldAccess { access_chain, .. } = ex("a[1][2]") else {
        panic!()
    };
    assert_eq!(access_chain.len(), 2);
}

#[test]
fn constructors() {
    let e = ex("STRUCT(a := 1, `b` := 'x')");
    let (name, args) = function_args(&e);
    assert_eq!(name, "STRUCT");
    let names: Vec<_> = args
        .iter()
        .map(|a| match a {
            FunctionArg::Named { name, .. } => name.value.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["A", "b"]);
    assert_eq!(function_args(&ex("STRUCT()")).1.len(), 0);

    let e = ex("MAP('k' := 1, k2 := v)");
    let (name, args) = function_args(&e);
    assert_eq!(name, "MAP");
    match &args[1] {
        FunctionArg::ExprNamed {
            name,
            arg: FunctionArgExpr::Expr(v),
            ..
        } => {
            assert_eq!((ident(name), ident(v)), ("K2", "V"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(ex("ARRAY[]"), Expr::Array(a) if a.elem.is_empty()));
    assert!(matches!(ex("ARRAY[1, 2]"), Expr::Array(a) if a.elem.len() == 2));
    assert!(parse_expression("MAP('k' 1)").is_err());
}

#[test]
fn lambdas() {
    let e = ex("TRANSFORM(arr, x => x + 1)");
    let (_, args) = function_args(&e);
    let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Lambda(LambdaFunction {
        params,
        body,
        ..
    }))) = &args[1]
    else {
        panic!("{args:?}")
    };
    assert!(matches!(params, OneOrManyWithParens::One(p) if p.name.value == "X"));
    assert!(matches!(**body, Expr::BinaryOp { .. }));

    let e = ex("REDUCE(arr, 0, (s, `x`) => s + `x`)");
    let (_, args) = function_args(&e);
    let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Lambda(l))) = &args[2] else {
        panic!()
    };
    let OneOrManyWithParens::Many(ps) = &l.params else {
        panic!()
    };
    let names: Vec<_> = ps.iter().map(|p| p.name.value.as_str()).collect();
    assert_eq!(names, ["S", "x"]);
    // Nested lambdas and map lambdas.
    ex("TRANSFORM(m, (k, v) => UCASE(k), (k, v) => FILTER(v, x => x > 0))");
}

#[test]
fn casts() {
    for (s, t) in [
        ("CAST(x AS INT)", Some(SqlType::Int)),
        ("CAST(x AS DECIMAL(4,2))", SqlType::decimal(4, 2).ok()),
        (
            "CAST(x AS ARRAY<INT>)",
            Some(SqlType::Array(Box::new(SqlType::Int))),
        ),
        (
            "CAST(x AS MAP<STRING,INT>)",
            Some(SqlType::Map(
                Box::new(SqlType::String),
                Box::new(SqlType::Int),
            )),
        ),
        ("cast(x as varchar)", Some(SqlType::String)),
    ] {
        let Expr::Cast {
            kind: CastKind::Cast,
            data_type,
            ..
        } = ex(s)
        else {
            panic!("{s}")
        };
        assert_eq!(cast_target_type(&data_type), t, "{s}");
    }
    let Expr::Cast { data_type, .. } = ex("CAST(x AS STRUCT<A INT, `b` ARRAY<STRUCT<C INT>>>)")
    else {
        panic!()
    };
    assert_eq!(
        data_type.to_string(),
        "STRUCT<`A` INTEGER, `b` ARRAY<STRUCT<`C` INTEGER>>>"
    );
    let Expr::Cast { data_type, .. } = ex("CAST(x AS my_type)") else {
        panic!()
    };
    assert_eq!(cast_target_type(&data_type), None);
    assert_eq!(
        cast_target_type_ref(&data_type),
        Some(TypeRef::Custom("MY_TYPE".into()))
    );
}

#[test]
fn predicates_and_operators() {
    assert!(matches!(
        ex("CASE WHEN a THEN 1 ELSE 2 END"),
        Expr::Case { .. }
    ));
    assert!(matches!(
        ex("CASE a WHEN 1 THEN 'x' END"),
        Expr::Case { .. }
    ));
    assert!(matches!(
        ex("a BETWEEN 1 AND 2"),
        Expr::Between { negated: false, .. }
    ));
    assert!(matches!(
        ex("a NOT BETWEEN 1 AND 2"),
        Expr::Between { negated: true, .. }
    ));
    assert!(matches!(
        ex("a IN (1, 2)"),
        Expr::InList { negated: false, .. }
    ));
    assert!(matches!(
        ex("a NOT IN (1)"),
        Expr::InList { negated: true, .. }
    ));
    assert!(matches!(
        ex("a LIKE 'x%' ESCAPE '!'"),
        Expr::Like {
            escape_char: Some(_),
            ..
        }
    ));
    assert!(matches!(ex("a IS NULL"), Expr::IsNull(_)));
    assert!(matches!(ex("a IS NOT NULL"), Expr::IsNotNull(_)));
    assert!(matches!(
        ex("a IS DISTINCT FROM b"),
        Expr::IsDistinctFrom(..)
    ));
    assert!(matches!(
        ex("a IS NOT DISTINCT FROM b"),
        Expr::IsNotDistinctFrom(..)
    ));
    assert!(matches!(
        ex("a || 'x'"),
        Expr::BinaryOp {
            op: BinaryOperator::StringConcat,
            ..
        }
    ));
    assert!(matches!(
        ex("NOT a AND b OR c"),
        Expr::BinaryOp {
            op: BinaryOperator::Or,
            ..
        }
    ));
    assert!(matches!(
        ex("a % 2 <> 1"),
        Expr::BinaryOp {
            op: BinaryOperator::NotEq,
            ..
        }
    ));
    assert!(matches!(ex("COUNT(*)"), Expr::Function(_)));
    for f in [
        "SUBSTRING(s, 1, 2)",
        "trim(s)",
        "CEIL(x)",
        "floor(x)",
        "EXTRACT(x)",
        "ARRAY(1)",
    ] {
        assert!(matches!(ex(f), Expr::Function(_)), "{f}");
    }
    assert_eq!(ident(&ex("current_date")), "CURRENT_DATE");
}

#[test]
fn literals() {
    let num = |s: &str| match ex(s) {
        Expr::Value(v) => match v.value {
            Value::Number(n, _) => n,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(num("1"), "1");
    assert_eq!(num("10000000000"), "10000000000");
    assert_eq!(num("1.5"), "1.5");
    assert_eq!(num("1.5E0"), "1.5E0");
    assert!(matches!(
        ex("-1"),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            ..
        }
    ));
    let s = |e: Expr| match e {
        Expr::Value(v) => v.value.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(s(ex("'it''s'")), "'it''s'");
    assert_eq!(s(ex("TRUE")), "true");
    assert_eq!(s(ex("NULL")), "NULL");
    assert_eq!(s(ex("'a' 'b'")), "'ab'");
}

#[test]
fn expression_errors() {
    let e = parse_expression("a +").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1:4: Syntax Error\nmismatched input '<EOF>' expecting an expression"
    );
    let e = parse_expression("a b").unwrap_err();
    assert!(e.to_string().starts_with("line 1:3: "), "{e}");
    assert!(parse_expression("a->").is_err());
    assert!(parse_expression("a->1").is_err());
    assert!(parse_expression("STRUCT(a = 1)").is_err());
    assert!(parse_expression("CAST(x AS FOO<INT>)").is_err());
}
