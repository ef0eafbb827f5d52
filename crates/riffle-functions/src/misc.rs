//! Further ksqlDB functions DataFusion lacks or types differently.
//!
//! * `GREATEST`/`LEAST` (ksqlDB `Greatest`, `Least`): arguments of one type (DOUBLE absorbs the
//!   other numbers, string literals join DATE/TIME/TIMESTAMP arguments), nulls ignored; mixed
//!   integer types are ksqlDB's "ambiguous method parameters" error where DataFusion widens.
//! * `ELT(n, s...)`, `FIELD(s, s...)` (ksqlDB `Elt`, `Field`).
//! * `GEO_DISTANCE(lat1, lon1, lat2, lon2[, unit])` (ksqlDB `GeoDistance`): haversine distance in
//!   km or miles.
//! * `URL_EXTRACT_*`, `URL_ENCODE_PARAM`, `URL_DECODE_PARAM` (ksqlDB `UrlExtract*`, …): the raw
//!   parts of `java.net.URI` and form encoding.
//! * `ENTRIES(map, sorted)` (ksqlDB `Entries`) and `GENERATE_SERIES(start, end[, step])` (ksqlDB
//!   `GenerateSeries`, which counts down when `end < start`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::types::{
    as_decimal, is_decimal, is_double, is_integer, is_numeric, is_string, list_of, map_types, time,
    timestamp, type_name, widen_decimal, BIGINT, DOUBLE, INT, STRING,
};
use crate::udf::{as_i64, as_str, no_overload, rowwise, type_list, KsqlUdf, Typed};

/// The UDFs of this module.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        KsqlUdf::new(
            "GREATEST",
            |a, _| type_extreme(a, "greatest"),
            |a, r| eval_extreme(a, r, true),
        )
        .into_udf(),
        KsqlUdf::new(
            "LEAST",
            |a, _| type_extreme(a, "least"),
            |a, r| eval_extreme(a, r, false),
        )
        .into_udf(),
        KsqlUdf::new("ELT", type_elt, eval_elt).into_udf(),
        KsqlUdf::new("FIELD", type_field, eval_field).into_udf(),
        KsqlUdf::new("GEO_DISTANCE", type_geo, eval_geo).into_udf(),
        KsqlUdf::new(
            "URL_EXTRACT_FRAGMENT",
            |a, _| type_url(a, 1, STRING),
            |a, r| url_part(a, r, |u| u.fragment),
        )
        .into_udf(),
        KsqlUdf::new(
            "URL_EXTRACT_HOST",
            |a, _| type_url(a, 1, STRING),
            |a, r| url_part(a, r, |u| u.host),
        )
        .into_udf(),
        KsqlUdf::new(
            "URL_EXTRACT_PATH",
            |a, _| type_url(a, 1, STRING),
            |a, r| url_part(a, r, |u| Some(u.path)),
        )
        .into_udf(),
        KsqlUdf::new(
            "URL_EXTRACT_PROTOCOL",
            |a, _| type_url(a, 1, STRING),
            |a, r| url_part(a, r, |u| u.scheme),
        )
        .into_udf(),
        KsqlUdf::new(
            "URL_EXTRACT_QUERY",
            |a, _| type_url(a, 1, STRING),
            |a, r| url_part(a, r, |u| u.query),
        )
        .into_udf(),
        KsqlUdf::new("URL_EXTRACT_PORT", |a, _| type_url(a, 1, INT), eval_port).into_udf(),
        KsqlUdf::new(
            "URL_EXTRACT_PARAMETER",
            |a, _| type_url(a, 2, STRING),
            eval_parameter,
        )
        .into_udf(),
        KsqlUdf::new(
            "URL_ENCODE_PARAM",
            |a, _| type_url(a, 1, STRING),
            eval_encode_param,
        )
        .into_udf(),
        KsqlUdf::new(
            "URL_DECODE_PARAM",
            |a, _| type_url(a, 1, STRING),
            eval_decode_param,
        )
        .into_udf(),
        KsqlUdf::new("ENTRIES", type_entries, eval_entries).into_udf(),
        KsqlUdf::new("GENERATE_SERIES", type_series, eval_series).into_udf(),
    ]
}

fn null(t: &DataType) -> bool {
    t == &DataType::Null
}

fn type_extreme(args: &[DataType], name: &str) -> Result<Typed> {
    if args.is_empty() {
        return no_overload(name, args);
    }
    let typed: Vec<&DataType> = args.iter().filter(|t| !null(t)).collect();
    let ambiguous = || {
        let names: Vec<String> = args
            .iter()
            .map(|t| {
                if null(t) {
                    "null".to_string()
                } else {
                    type_name(t)
                }
            })
            .collect();
        plan_err!(
            "Function '{name}' cannot be resolved due to ambiguous method parameters ({}).",
            names.join(", ")
        )
    };
    if typed.is_empty() {
        return ambiguous();
    }
    let common = if typed.iter().all(|t| is_numeric(t)) {
        if typed.iter().any(|t| is_double(t)) {
            DOUBLE
        } else if typed.iter().all(|t| is_decimal(t)) {
            let mut d = as_decimal(typed[0]).unwrap_or((38, 0));
            for t in &typed[1..] {
                if let DataType::Decimal128(p, s) = widen_decimal(d, as_decimal(t).unwrap_or(d)) {
                    d = (p, s);
                }
            }
            DataType::Decimal128(d.0, d.1)
        } else if typed.iter().all(|t| *t == typed[0]) {
            typed[0].clone()
        } else {
            return ambiguous();
        }
    } else if let Some(t) = typed
        .iter()
        .find(|t| ***t == DataType::Date32 || ***t == time() || ***t == timestamp())
    {
        if !typed.iter().all(|x| x == t || is_string(x)) {
            return no_overload(name, args);
        }
        (*t).clone()
    } else if typed.iter().all(|t| *t == typed[0]) {
        typed[0].clone()
    } else {
        return plan_err!(
            "Function '{name}' does not accept parameters ({}).",
            type_list(args)
        );
    };
    Ok(Typed {
        args: vec![common.clone(); args.len()],
        ret: common,
    })
}

fn eval_extreme(args: &[ArrayRef], ret: &DataType, greatest: bool) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let mut best: Option<&ScalarValue> = None;
        for v in row.iter().filter(|v| !v.is_null()) {
            best = match best {
                None => Some(v),
                Some(b) => {
                    let better = match v.partial_cmp(b) {
                        Some(o) => {
                            (o == std::cmp::Ordering::Greater) == greatest
                                && o != std::cmp::Ordering::Equal
                        }
                        None => false,
                    };
                    Some(if better { v } else { b })
                }
            };
        }
        Ok(best.cloned().unwrap_or(ScalarValue::Null))
    })
}

fn type_elt(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    if args.is_empty()
        || !(is_integer(&args[0]) || null(&args[0]))
        || !args[1..].iter().all(|t| is_string(t) || null(t))
    {
        return no_overload("elt", args);
    }
    let mut coerced = vec![INT];
    coerced.extend(std::iter::repeat_n(STRING, args.len() - 1));
    Ok(Typed {
        args: coerced,
        ret: STRING,
    })
}

fn eval_elt(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        Ok(match as_i64(&row[0]) {
            Some(n) if n >= 1 && (n as usize) < row.len() => row[n as usize].clone(),
            _ => ScalarValue::Null,
        })
    })
}

fn type_field(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    if args.is_empty() || !args.iter().all(|t| is_string(t) || null(t)) {
        return no_overload("field", args);
    }
    Ok(Typed {
        args: vec![STRING; args.len()],
        ret: INT,
    })
}

fn eval_field(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(s) = as_str(&row[0]) else {
            return Ok(ScalarValue::Int32(Some(0)));
        };
        let pos = row[1..].iter().position(|v| as_str(v) == Some(s));
        Ok(ScalarValue::Int32(Some(
            pos.map(|p| p as i32 + 1).unwrap_or(0),
        )))
    })
}

fn type_geo(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    let ok = (args.len() == 4 || args.len() == 5)
        && args[..4].iter().all(|t| is_numeric(t) || null(t))
        && args[4..].iter().all(|t| is_string(t) || null(t));
    if !ok {
        return no_overload("geo_distance", args);
    }
    let mut coerced = vec![DOUBLE; 4];
    if args.len() == 5 {
        coerced.push(STRING);
    }
    Ok(Typed {
        args: coerced,
        ret: DOUBLE,
    })
}

fn eval_geo(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let mut v = [0f64; 4];
        for (i, x) in v.iter_mut().enumerate() {
            match &row[i] {
                ScalarValue::Float64(Some(d)) => *x = *d,
                _ => return Ok(ScalarValue::Null),
            }
        }
        let radius = match row.get(4).and_then(as_str).map(|u| u.trim().to_ascii_lowercase()) {
            None => 6371.0,
            Some(u) if u.is_empty() => 6371.0,
            Some(u) => match u.as_str() {
                "km" | "kilometer" | "kilometers" | "kilometre" | "kilometres" => 6371.0,
                "mi" | "mile" | "miles" => 3959.0,
                _ => {
                    return exec_err!(
                        "GeoDistance function units parameter must be one of mi, mile, miles, km, kilometer, kilometers, kilometre or kilometres. Values are case-insensitive."
                    )
                }
            },
        };
        let [lat1, lon1, lat2, lon2] = v;
        if lat1 < -90.0 || lat2 < -90.0 || lat1 > 90.0 || lat2 > 90.0 {
            return exec_err!("valid latitude values for GeoDistance function are in the range of -90 to 90 decimal degrees");
        }
        if lon1 < -180.0 || lon2 < -180.0 || lon1 > 180.0 || lon2 > 180.0 {
            return exec_err!("valid longitude values for GeoDistance function are in the range of -180 to +180 decimal degrees");
        }
        let haversin = |x: f64| (x / 2.0).sin().powi(2);
        let (d_lat, d_lon) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
        let a =
            haversin(d_lat) + haversin(d_lon) * lat1.to_radians().cos() * lat2.to_radians().cos();
        Ok(ScalarValue::Float64(Some(2.0 * a.sqrt().asin() * radius)))
    })
}

fn type_url(args: &[DataType], n: usize, ret: DataType) -> Result<Typed> {
    if args.len() != n || !args.iter().all(|t| is_string(t) || null(t)) {
        return no_overload("url function", args);
    }
    Ok(Typed {
        args: vec![STRING; n],
        ret,
    })
}

/// The raw parts of a URI, as `java.net.URI` exposes them.
#[derive(Debug, Default)]
struct Uri {
    scheme: Option<String>,
    host: Option<String>,
    port: Option<i32>,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

fn parse_uri(s: &str) -> Uri {
    let mut u = Uri::default();
    let (rest, fragment) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f.to_string())),
        None => (s, None),
    };
    u.fragment = fragment;
    let (rest, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q.to_string())),
        None => (rest, None),
    };
    u.query = query;
    let rest = match rest.split_once("://") {
        Some((scheme, r)) => {
            u.scheme = Some(scheme.to_string());
            let (authority, path) = match r.find('/') {
                Some(i) => (&r[..i], &r[i..]),
                None => (r, ""),
            };
            let hostport = authority
                .rsplit_once('@')
                .map(|(_, h)| h)
                .unwrap_or(authority);
            match hostport.rsplit_once(':') {
                Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
                    u.host = Some(h.to_string());
                    u.port = p.parse().ok();
                }
                _ => u.host = Some(hostport.to_string()),
            }
            path
        }
        None => rest,
    };
    u.path = rest.to_string();
    u
}

fn url_part(
    args: &[ArrayRef],
    ret: &DataType,
    part: fn(Uri) -> Option<String>,
) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        Ok(ScalarValue::Utf8(
            as_str(&row[0]).and_then(|s| part(parse_uri(s))),
        ))
    })
}

fn eval_port(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        Ok(ScalarValue::Int32(
            as_str(&row[0]).and_then(|s| parse_uri(s).port),
        ))
    })
}

fn eval_parameter(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(s), Some(name)) = (as_str(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        let query = parse_uri(s).query.unwrap_or_default();
        let value = query.split('&').find_map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => Some(v.to_string()),
            None if kv == name => Some(String::new()),
            _ => None,
        });
        Ok(ScalarValue::Utf8(value))
    })
}

fn eval_encode_param(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        Ok(ScalarValue::Utf8(as_str(&row[0]).map(|s| {
            let mut out = String::new();
            for b in s.bytes() {
                match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                        out.push(b as char)
                    }
                    b' ' => out.push('+'),
                    _ => out.push_str(&format!("%{b:02X}")),
                }
            }
            out
        })))
    })
}

fn eval_decode_param(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(s) = as_str(&row[0]) else {
            return Ok(ScalarValue::Null);
        };
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => {
                            return exec_err!(
                                "URLDecoder: Illegal hex characters in escape (%) pattern"
                            )
                        }
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        Ok(ScalarValue::from(
            String::from_utf8_lossy(&out).into_owned(),
        ))
    })
}

fn entries_type(value: &DataType) -> DataType {
    list_of(DataType::Struct(Fields::from(vec![
        Field::new("K", STRING, true),
        Field::new("V", value.clone(), true),
    ])))
}

fn type_entries(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [m, b] if (b == &DataType::Boolean || null(b)) => match map_types(m) {
            Some((DataType::Utf8, v)) => Ok(Typed {
                args: vec![m.clone(), DataType::Boolean],
                ret: entries_type(v),
            }),
            _ => no_overload("entries", args),
        },
        _ => no_overload("entries", args),
    }
}

fn eval_entries(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let DataType::List(item) = ret else {
        return exec_err!("ENTRIES returns an ARRAY");
    };
    let DataType::Struct(fields) = item.data_type() else {
        return exec_err!("ENTRIES returns an ARRAY of STRUCTs");
    };
    rowwise(args, ret, |row| {
        let ScalarValue::Map(m) = &row[0] else {
            return Ok(ScalarValue::Null);
        };
        if m.is_null(0) {
            return Ok(ScalarValue::Null);
        }
        let entries = m.value(0);
        let mut pairs = Vec::with_capacity(entries.len());
        for i in 0..entries.len() {
            let k = ScalarValue::try_from_array(entries.column(0), i)?;
            let v = ScalarValue::try_from_array(entries.column(1), i)?;
            pairs.push((k, v));
        }
        if matches!(row[1], ScalarValue::Boolean(Some(true))) {
            pairs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        }
        let structs = pairs
            .into_iter()
            .map(|(k, v)| {
                let arrays = vec![k.to_array()?, v.to_array()?];
                let s =
                    datafusion::arrow::array::StructArray::try_new(fields.clone(), arrays, None)?;
                Ok(ScalarValue::Struct(Arc::new(s)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScalarValue::List(ScalarValue::new_list_nullable(
            &structs,
            item.data_type(),
        )))
    })
}

fn type_series(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    if !(args.len() == 2 || args.len() == 3) || !args.iter().all(|t| is_integer(t) || null(t)) {
        return no_overload("generate_series", args);
    }
    let t = if args.iter().any(|t| t == &BIGINT) {
        BIGINT
    } else {
        INT
    };
    Ok(Typed {
        args: vec![t.clone(); args.len()],
        ret: list_of(t),
    })
}

fn eval_series(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let item = crate::types::list_item(ret).cloned().unwrap_or(INT);
    rowwise(args, ret, |row| {
        let (Some(start), Some(end)) = (as_i64(&row[0]), as_i64(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        let step = match row.get(2) {
            Some(s) => match as_i64(s) {
                Some(0) => return exec_err!("GENERATE_SERIES step cannot be zero"),
                Some(s) => s,
                None => return Ok(ScalarValue::Null),
            },
            None if end < start => -1,
            None => 1,
        };
        if (end - start).signum() * step.signum() < 0 {
            return exec_err!("GENERATE_SERIES step has wrong sign");
        }
        let count = (end - start) / step + 1;
        if count > 1_000_000 {
            return exec_err!("GENERATE_SERIES of {count} values is too large");
        }
        let values: Vec<ScalarValue> = (0..count)
            .map(|i| {
                let v = start + i * step;
                if item == BIGINT {
                    ScalarValue::Int64(Some(v))
                } else {
                    ScalarValue::Int32(Some(v as i32))
                }
            })
            .collect();
        Ok(ScalarValue::List(ScalarValue::new_list_nullable(
            &values, &item,
        )))
    })
}
