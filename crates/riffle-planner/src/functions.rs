//! ksqlDB function names and the DataFusion functions that implement them.
//!
//! ksqlDB's built-ins that behave like DataFusion's are mapped by name; ones whose semantics differ
//! get Riffle's own UDFs (added here as they are written).

/// The DataFusion function that implements ksqlDB function `name` (upper-case), if it is renamed.
pub(crate) fn datafusion_name(name: &str) -> String {
    let mapped = match name {
        "UCASE" => "upper",
        "LCASE" => "lower",
        "LEN" => "character_length",
        "SUBSTRING" => "substr",
        "TRIM" => "btrim",
        "IFNULL" => "coalesce",
        "INSTR" => "strpos",
        "ARRAY_LENGTH" => "cardinality",
        "ARRAY_CONTAINS" => "array_has",
        "ARRAY_DISTINCT" => "array_distinct",
        "ARRAY_JOIN" => "array_to_string",
        "ENCODE" => "encode",
        "SPLIT" => "string_to_array",
        "STRUCT" => "named_struct",
        "AS_VALUE" => "ksql_identity",
        _ => return name.to_ascii_lowercase(),
    };
    mapped.to_string()
}
