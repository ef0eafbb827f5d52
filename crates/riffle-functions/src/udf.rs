//! A small framework for ksqlDB functions as DataFusion scalar UDFs.
//!
//! Every Riffle UDF is a [`KsqlUdf`]: a name (the upper-case ksqlDB name, so that DataFusion's
//! case-sensitive lookup finds it and expressions print as ksqlDB prints them), a function that
//! types a call (choosing the overload the way ksqlDB's function registry does, and failing with
//! ksqlDB's message), and a function that evaluates it on whole arrays.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::types::type_name;

/// Chooses the argument types a call is coerced to and its result type.
///
/// Gets the argument types and, for literal arguments, their values (so that e.g. `CAST`'s
/// target type can travel as a string literal).
pub type TypeFn = fn(&[DataType], &[Option<ScalarValue>]) -> Result<Typed>;

/// Evaluates a call on arrays of equal length (scalars are expanded first).
pub type EvalFn = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

/// The outcome of typing a call: what to coerce the arguments to, and the result type.
#[derive(Debug, Clone)]
pub struct Typed {
    /// Argument types after coercion (same length as the call's arguments).
    pub args: Vec<DataType>,
    /// Result type.
    pub ret: DataType,
}

impl Typed {
    /// A call whose arguments are used as they are.
    pub fn new(args: &[DataType], ret: DataType) -> Typed {
        Typed {
            args: args.to_vec(),
            ret,
        }
    }
}

/// A ksqlDB function implemented by Riffle.
#[derive(Debug)]
pub struct KsqlUdf {
    name: &'static str,
    signature: Signature,
    typer: TypeFn,
    eval: EvalFn,
}

impl PartialEq for KsqlUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for KsqlUdf {}

impl Hash for KsqlUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl KsqlUdf {
    /// A deterministic function.
    pub fn new(name: &'static str, typer: TypeFn, eval: EvalFn) -> KsqlUdf {
        KsqlUdf {
            name,
            signature: Signature::user_defined(Volatility::Immutable),
            typer,
            eval,
        }
    }

    /// Wraps it for registration.
    pub fn into_udf(self) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(self))
    }
}

impl ScalarUDFImpl for KsqlUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let none = vec![None; arg_types.len()];
        Ok((self.typer)(arg_types, &none)?.args)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let none = vec![None; arg_types.len()];
        Ok((self.typer)(arg_types, &none)?.ret)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let scalars: Vec<Option<ScalarValue>> =
            args.scalar_arguments.iter().map(|s| s.cloned()).collect();
        let typed = (self.typer)(&types, &scalars)?;
        Ok(Arc::new(Field::new(self.name, typed.ret, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let mut arrays = args
            .args
            .into_iter()
            .map(|a| a.into_array(n))
            .collect::<Result<Vec<_>>>()?;
        // Evaluators rely on the argument types their typer chose; make sure they get them.
        let types: Vec<DataType> = arrays.iter().map(|a| a.data_type().clone()).collect();
        let none = vec![None; types.len()];
        if let Ok(typed) = (self.typer)(&types, &none) {
            for (a, want) in arrays.iter_mut().zip(typed.args.iter()) {
                if a.data_type() != want && want != &DataType::Null {
                    *a = datafusion::arrow::compute::cast(a, want)?;
                }
            }
        }
        if arrays.is_empty() {
            // Functions without arguments learn the row count from a null column.
            arrays.push(Arc::new(datafusion::arrow::array::NullArray::new(n)));
        }
        let ret = args.return_field.data_type();
        // A bug in an evaluator must fail the row, not the process.
        let out =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.eval)(&arrays, ret)))
                .unwrap_or_else(|_| exec_err!("{} failed unexpectedly", self.name))?;
        if out.len() != n {
            return exec_err!("{} produced {} rows for {n}", self.name, out.len());
        }
        Ok(ColumnarValue::Array(out))
    }
}

/// Evaluates row by row on `ScalarValue`s (for functions whose cost is in the per-row work);
/// `f` gets the row's argument values and returns the result (any null is fine).
pub fn rowwise(
    args: &[ArrayRef],
    ret: &DataType,
    f: impl Fn(&[ScalarValue]) -> Result<ScalarValue>,
) -> Result<ArrayRef> {
    let n = args.first().map(|a| a.len()).unwrap_or(0);
    let typed_null = ScalarValue::try_from(ret)?;
    let mut out = Vec::with_capacity(n);
    let mut row = Vec::with_capacity(args.len());
    for i in 0..n {
        row.clear();
        for a in args {
            row.push(ScalarValue::try_from_array(a, i)?);
        }
        let v = f(&row)?;
        out.push(if v.is_null() { typed_null.clone() } else { v });
    }
    if out.is_empty() {
        return Ok(datafusion::arrow::array::new_empty_array(ret));
    }
    ScalarValue::iter_to_array(out)
}

/// A STRING argument value.
pub fn as_str(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.as_deref(),
        _ => None,
    }
}

/// An integer-like argument value (INT, BIGINT, DATE, TIME, TIMESTAMP).
pub fn as_i64(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int8(x) => x.map(i64::from),
        ScalarValue::Int16(x) => x.map(i64::from),
        ScalarValue::Int32(x) => x.map(i64::from),
        ScalarValue::Int64(x) => *x,
        ScalarValue::Date32(x) => x.map(i64::from),
        ScalarValue::Time32Millisecond(x) => x.map(i64::from),
        ScalarValue::TimestampMillisecond(x, _) => *x,
        _ => None,
    }
}

/// Fails unless a call has between `min` and `max` arguments, with ksqlDB's wording.
pub fn arity(name: &str, args: &[DataType], min: usize, max: usize) -> Result<()> {
    if args.len() < min || args.len() > max {
        return no_overload(name, args);
    }
    Ok(())
}

/// ksqlDB's "does not accept parameters" error for `name` called with `args`.
pub fn no_overload<T>(name: &str, args: &[DataType]) -> Result<T> {
    plan_err!(
        "Function '{}' does not accept parameters ({}).",
        name.to_ascii_lowercase(),
        type_list(args)
    )
}

/// `INTEGER, STRING` for a list of types.
pub fn type_list(args: &[DataType]) -> String {
    args.iter().map(type_name).collect::<Vec<_>>().join(", ")
}
