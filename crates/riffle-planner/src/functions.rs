//! ksqlDB function names and the DataFusion functions that implement them.
//!
//! ksqlDB's built-ins whose semantics differ from DataFusion's are Riffle UDFs registered under
//! their upper-case ksqlDB names (see the `riffle-functions` crate); they keep their names here.
//! The ones that behave like a DataFusion function are mapped to its name; anything else is
//! lower-cased, DataFusion's convention.

/// The function that implements ksqlDB function `name` (upper-case).
pub(crate) fn datafusion_name(name: &str) -> String {
    if riffle_functions::is_riffle_udf(name) {
        return name.to_string();
    }
    let mapped = match name {
        // Same semantics as DataFusion's, under another name.
        "UCASE" => "upper",
        "LCASE" => "lower",
        "LEN" => "character_length",
        "IFNULL" => "coalesce",
        "TRIM" => "btrim",
        "INSTR" => "strpos",
        "SPLIT" => "string_to_array",
        "ARRAY_CONTAINS" => "array_has",
        "ARRAY_DISTINCT" => "array_distinct",
        "ARRAY_JOIN" => "array_to_string",
        _ => return name.to_ascii_lowercase(),
    };
    mapped.to_string()
}
