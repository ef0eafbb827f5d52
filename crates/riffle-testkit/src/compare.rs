//! Comparing expected and actual JSON the way ksqlDB's test tools do.
//!
//! Records ([`record_matches`]) follow ksqlDB's `ExpectedRecordComparator`: objects must have the
//! same number of fields and each expected field is looked up by its name or its upper-cased
//! name; numbers compare numerically (`1 == 1.0`, decimals exactly by value); an expected string
//! matches a number when it is that number's decimal text. REST responses
//! ([`ResponseMatcher`]) follow the REST test executor: only the fields present in the expected
//! object are checked, `field|starts_with` checks a prefix, `{STATEMENT}` stands for the
//! statement text, and query rows compare as a multiset unless the order must be verified.

use serde_json::{Map, Number, Value};

/// Whether an actual record key or value matches the expected one.
pub fn record_matches(expected: &Value, actual: &Value) -> bool {
    match expected {
        Value::Null => actual.is_null(),
        Value::Bool(b) => actual.as_bool() == Some(*b),
        Value::Number(e) => match actual {
            Value::Number(a) => numbers_equal(e, a),
            _ => false,
        },
        Value::String(e) => match actual {
            Value::String(a) => a == e,
            Value::Number(a) => match (parse_decimal(e), parse_decimal(&a.to_string())) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            },
            _ => false,
        },
        Value::Array(e) => match actual {
            Value::Array(a) => {
                a.len() == e.len() && e.iter().zip(a).all(|(e, a)| record_matches(e, a))
            }
            _ => false,
        },
        Value::Object(e) => match actual {
            Value::Object(a) => {
                a.len() == e.len()
                    && e.iter().all(|(k, ev)| {
                        let av = a
                            .get(k)
                            .filter(|v| !v.is_null())
                            .or_else(|| a.get(&k.to_uppercase()))
                            .unwrap_or(&Value::Null);
                        record_matches(ev, av)
                    })
            }
            _ => false,
        },
    }
}

/// Structural JSON equality where numbers compare numerically.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, xv)| y.get(k).is_some_and(|yv| json_eq(xv, yv)))
        }
        _ => a == b,
    }
}

/// Numeric equality: exact by decimal value; numbers written with a fraction or exponent also
/// match when they are the same `f64` (so `0.1` matches `0.1000000000000000055511`).
pub fn numbers_equal(a: &Number, b: &Number) -> bool {
    let (sa, sb) = (a.to_string(), b.to_string());
    if let (Some(x), Some(y)) = (parse_decimal(&sa), parse_decimal(&sb)) {
        if x == y {
            return true;
        }
    }
    let fractional = |s: &str| s.contains(['.', 'e', 'E']);
    if fractional(&sa) || fractional(&sb) {
        if let (Ok(x), Ok(y)) = (sa.parse::<f64>(), sb.parse::<f64>()) {
            return x == y;
        }
    }
    false
}

/// A decimal number normalised to `(negative, significant digits, exponent)`: the value is
/// `digits × 10^exponent` with no leading or trailing zeros in `digits`; zero is `(false, "", 0)`.
fn parse_decimal(text: &str) -> Option<(bool, String, i64)> {
    let text = text.trim();
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits: String = format!("{int}{frac}");
    let mut exponent = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
    let trimmed = digits.trim_start_matches('0').len();
    digits = digits[digits.len() - trimmed..].to_string();
    while digits.ends_with('0') {
        digits.pop();
        exponent += 1;
    }
    if digits.is_empty() {
        return Some((false, String::new(), 0));
    }
    Some((neg, digits, exponent))
}

/// Compact JSON for messages, cut after `max` characters.
pub fn short(v: &Value) -> String {
    clip(&v.to_string(), 240)
}

/// Cuts text after `max` characters, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', "\\n");
    match one_line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// Matches REST responses against expected ones, collecting query row columns when they
/// compare as a multiset.
pub struct ResponseMatcher<'a> {
    statement: Option<&'a str>,
    verify_order: bool,
    actual_columns: Vec<Value>,
    expected_columns: Vec<Value>,
}

impl<'a> ResponseMatcher<'a> {
    /// A matcher for the response to `statement` (for `{STATEMENT}`).
    pub fn new(statement: Option<&'a str>, verify_order: bool) -> Self {
        ResponseMatcher {
            statement,
            verify_order,
            actual_columns: Vec::new(),
            expected_columns: Vec::new(),
        }
    }

    /// Checks the fields of `expected` in `actual`; `path` names the position for messages.
    pub fn match_fields(
        &mut self,
        expected: &Map<String, Value>,
        actual: &Map<String, Value>,
        path: &str,
    ) -> Result<(), String> {
        for (raw_key, raw_expected) in expected {
            let (key, starts_with) = match raw_key.split_once('|') {
                Some((k, op)) if op.eq_ignore_ascii_case("starts_with") => (k, true),
                Some((_, op)) => return Err(format!("unknown match operator '{op}' at {path}")),
                None => (raw_key.as_str(), false),
            };
            let expected_value = self.replace_macros(raw_expected);
            let Some(actual_value) = actual.get(key) else {
                return Err(format!(
                    "response mismatch at {path}: no field '{key}' in {}",
                    short(&Value::Object(actual.clone()))
                ));
            };
            let new_path = format!("{path}->{key}");
            if let Value::Object(e) = &expected_value {
                let Value::Object(a) = actual_value else {
                    return Err(format!(
                        "response mismatch at {new_path}: expected an object, got {}",
                        short(actual_value)
                    ));
                };
                self.match_fields(e, a, &new_path)?;
            } else if starts_with {
                match (actual_value.as_str(), expected_value.as_str()) {
                    (Some(a), Some(e)) if a.starts_with(e) => {}
                    _ => {
                        return Err(format!(
                            "response mismatch at {new_path}: expected a string starting with {} but was {}",
                            short(&expected_value),
                            short(actual_value)
                        ))
                    }
                }
            } else if !self.verify_order
                && new_path.contains("query")
                && new_path.contains("row")
                && key.eq_ignore_ascii_case("columns")
            {
                self.actual_columns.push(actual_value.clone());
                self.expected_columns.push(expected_value);
            } else if !json_eq(&expected_value, actual_value) {
                return Err(format!(
                    "response mismatch at {new_path}: expected {} but was {}",
                    short(&expected_value),
                    short(actual_value)
                ));
            }
        }
        Ok(())
    }

    /// Compares the collected row columns as multisets.
    pub fn finish(self) -> Result<(), String> {
        let mut remaining = self.expected_columns.clone();
        for actual in &self.actual_columns {
            match remaining.iter().position(|e| json_eq(e, actual)) {
                Some(i) => {
                    remaining.swap_remove(i);
                }
                None => {
                    let expected: Vec<String> = self.expected_columns.iter().map(short).collect();
                    return Err(clip(
                        &format!(
                            "unexpected row columns {} (expected rows, any order: {})",
                            short(actual),
                            expected.join(", ")
                        ),
                        600,
                    ));
                }
            }
        }
        Ok(())
    }

    fn replace_macros(&self, v: &Value) -> Value {
        match (v, self.statement) {
            (Value::String(s), Some(stmt)) if s.contains("{STATEMENT}") => {
                Value::String(s.replace("{STATEMENT}", stmt))
            }
            _ => v.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).expect("test JSON")
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(record_matches(&v("1"), &v("1.0")));
        assert!(record_matches(&v("1.50"), &v("1.5")));
        assert!(record_matches(&v("\"12.30\""), &v("12.3")));
        assert!(record_matches(&v("1e3"), &v("1000")));
        assert!(record_matches(
            &v("0.1"),
            &v("0.1000000000000000055511151231257827")
        ));
        assert!(!record_matches(&v("1"), &v("1.5")));
        assert!(!record_matches(
            &v("9223372036854775807"),
            &v("9223372036854775806")
        ));
        assert!(!record_matches(&v("1"), &v("\"1\"")));
        assert!(record_matches(&v("-0.0"), &v("0")));
    }

    #[test]
    fn objects_match_upper_case_names_and_count_fields() {
        assert!(record_matches(
            &json!({"id": 1, "Name": "a"}),
            &json!({"ID": 1, "NAME": "a"})
        ));
        assert!(!record_matches(
            &json!({"ID": 1}),
            &json!({"ID": 1, "X": 2})
        ));
        assert!(!record_matches(&json!({"ID": 1}), &json!([1])));
        assert!(record_matches(&json!([1, null]), &json!([1.0, null])));
    }

    #[test]
    fn responses_match_subsets_prefixes_and_macros() {
        let mut m = ResponseMatcher::new(Some("SELECT 1;"), false);
        let expected =
            json!({"@type": "currentStatus", "text": "{STATEMENT}", "id|starts_with": "CSAS_"});
        let actual =
            json!({"@type": "currentStatus", "text": "SELECT 1;", "id": "CSAS_X_0", "extra": 1});
        m.match_fields(
            expected.as_object().expect("object"),
            actual.as_object().expect("object"),
            "responses[0]->admin",
        )
        .expect("match");
        m.finish().expect("no rows");
    }

    #[test]
    fn query_rows_compare_as_multiset() {
        let mut m = ResponseMatcher::new(None, false);
        for (i, (e, a)) in [(json!([1]), json!([2])), (json!([2]), json!([1]))]
            .iter()
            .enumerate()
        {
            let e = json!({"row": {"columns": e}});
            let a = json!({"row": {"columns": a}});
            m.match_fields(
                e.as_object().expect("object"),
                a.as_object().expect("object"),
                &format!("responses[1]->query[{i}]"),
            )
            .expect("match");
        }
        m.finish().expect("same multiset");
        let mut m = ResponseMatcher::new(None, true);
        let e = json!({"row": {"columns": [1]}});
        let a = json!({"row": {"columns": [2]}});
        assert!(m
            .match_fields(
                e.as_object().expect("object"),
                a.as_object().expect("object"),
                "responses[1]->query[0]"
            )
            .is_err());
    }
}
