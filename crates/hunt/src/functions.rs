//! The scalar function library and the binary / string operators.
//!
//! Each function is a pair of plain `fn`s: a type rule (argument types → result type, used at
//! compile time so empty and all-null columns still get the right type) and an implementation
//! over [`Value`]s. The evaluator resolves names once per query, never per row.

mod datetime;
mod dynamic;
mod network;
mod series;
mod strings;

use std::sync::Arc;

use crate::ast::BinOp;
use crate::value::{self, Dyn, Type, Value};

pub use strings::{contains_ci, has_any_pattern, has_term, regex_cached};

/// Implementation: arguments (already evaluated) → result. Must not panic on any input.
pub type Impl = fn(&[Value]) -> Value;
/// Type rule: argument types → result type, or an error message for impossible calls.
pub type TypeRule = fn(&[Type]) -> Result<Type, String>;

/// A resolved scalar function.
#[derive(Clone, Copy)]
pub struct FnDef {
    pub imp: Impl,
    pub ret: TypeRule,
    pub min_args: usize,
    pub max_args: usize,
}

const MANY: usize = usize::MAX;

fn def(imp: Impl, ret: TypeRule, min_args: usize, max_args: usize) -> FnDef {
    FnDef { imp, ret, min_args, max_args }
}

// Common type rules.
pub(crate) fn t_bool(_: &[Type]) -> Result<Type, String> {
    Ok(Type::Bool)
}
pub(crate) fn t_int(_: &[Type]) -> Result<Type, String> {
    Ok(Type::Int)
}
pub(crate) fn t_long(_: &[Type]) -> Result<Type, String> {
    Ok(Type::Long)
}
pub(crate) fn t_real(_: &[Type]) -> Result<Type, String> {
    Ok(Type::Real)
}
pub(crate) fn t_decimal(_: &[Type]) -> Result<Type, String> {
    Ok(Type::Decimal)
}
pub(crate) fn t_string(_: &[Type]) -> Result<Type, String> {
    Ok(Type::String)
}
pub(crate) fn t_datetime(_: &[Type]) -> Result<Type, String> {
    Ok(Type::DateTime)
}
pub(crate) fn t_timespan(_: &[Type]) -> Result<Type, String> {
    Ok(Type::TimeSpan)
}
pub(crate) fn t_guid(_: &[Type]) -> Result<Type, String> {
    Ok(Type::Guid)
}
pub(crate) fn t_dynamic(_: &[Type]) -> Result<Type, String> {
    Ok(Type::Dynamic)
}
/// Same type as the first argument (int widened to long, as Kusto's arithmetic does).
fn t_first(a: &[Type]) -> Result<Type, String> {
    Ok(match a.first().copied().unwrap_or(Type::Dynamic) {
        Type::Int => Type::Long,
        t => t,
    })
}
/// Same type as the first argument, int kept.
fn t_first_exact(a: &[Type]) -> Result<Type, String> {
    Ok(a.first().copied().unwrap_or(Type::Dynamic))
}
/// The common type of all arguments (numeric promotion).
fn t_common(a: &[Type]) -> Result<Type, String> {
    Ok(common_type(a))
}
/// The common type of the values of `case(p1, v1, ..., else)` / `iff(p, a, b)`.
fn t_case(a: &[Type]) -> Result<Type, String> {
    let vals: Vec<Type> =
        a.iter().enumerate().filter(|(i, _)| i % 2 == 1 || *i == a.len() - 1).map(|(_, t)| *t).collect();
    Ok(common_type(&vals))
}
fn t_iff(a: &[Type]) -> Result<Type, String> {
    Ok(common_type(&a[1.min(a.len())..]))
}

/// Numeric promotion over a list of types: any real → real, decimal → decimal, int/long →
/// long (int only when all are int), otherwise the first type.
pub fn common_type(ts: &[Type]) -> Type {
    let Some(&first) = ts.first() else { return Type::Dynamic };
    if ts.iter().all(|t| *t == first) {
        return first;
    }
    if ts.iter().all(|t| t.is_numeric()) {
        if ts.contains(&Type::Real) {
            return Type::Real;
        }
        if ts.contains(&Type::Decimal) {
            return Type::Decimal;
        }
        return Type::Long;
    }
    if ts.contains(&Type::Dynamic) {
        return Type::Dynamic;
    }
    first
}

/// Finds a scalar function by name (KQL function names are case-sensitive, lower-case).
pub fn lookup(name: &str) -> Option<FnDef> {
    use datetime as d;
    use dynamic as y;
    use network as n;
    use series as q;
    use strings as s;
    Some(match name {
        // strings
        "tolower" => def(s::tolower, t_string, 1, 1),
        "toupper" => def(s::toupper, t_string, 1, 1),
        "strlen" => def(s::strlen, t_long, 1, 1),
        "string_size" => def(s::string_size, t_long, 1, 1),
        "substring" => def(s::substring, t_string, 2, 3),
        "strcat" => def(s::strcat, t_string, 1, MANY),
        "strcat_delim" => def(s::strcat_delim, t_string, 2, MANY),
        "strcat_array" => def(s::strcat_array, t_string, 2, 2),
        "split" => def(s::split, t_dynamic, 2, 3),
        "replace_string" => def(s::replace_string, t_string, 3, 3),
        "replace_regex" | "replace" => def(s::replace_regex, t_string, 3, 3),
        "trim" => def(s::trim, t_string, 2, 2),
        "trim_start" => def(s::trim_start, t_string, 2, 2),
        "trim_end" => def(s::trim_end, t_string, 2, 2),
        "indexof" => def(s::indexof, t_long, 2, 5),
        "indexof_regex" => def(s::indexof_regex, t_long, 2, 4),
        "extract" => def(s::extract, t_extract, 3, 4),
        "extract_all" => def(s::extract_all, t_dynamic, 2, 3),
        "countof" => def(s::countof, t_long, 2, 3),
        "reverse" => def(s::reverse, t_string, 1, 1),
        "strrep" => def(s::strrep, t_string, 2, 3),
        "strcmp" => def(s::strcmp, t_long, 2, 2),
        "url_decode" => def(s::url_decode, t_string, 1, 1),
        "url_encode" | "url_encode_component" => def(s::url_encode, t_string, 1, 1),
        "base64_encode_tostring" | "base64_encodestring" => def(s::base64_encode, t_string, 1, 1),
        "base64_decode_tostring" | "base64_decodestring" => def(s::base64_decode, t_string, 1, 1),
        "base64_decode_toarray" => def(s::base64_decode_array, t_dynamic, 1, 1),
        "parse_url" | "parseurl" => def(s::parse_url, t_dynamic, 1, 1),
        "parse_path" => def(s::parse_path, t_dynamic, 1, 1),
        "parse_command_line" => def(s::parse_command_line, t_dynamic, 1, 2),
        "parse_csv" => def(s::parse_csv, t_dynamic, 1, 1),
        "hash_sha256" => def(s::hash_sha256, t_string, 1, 1),
        "hash_md5" => def(s::hash_md5, t_string, 1, 1),
        "hash" => def(s::hash, t_long, 1, 2),
        "isascii" => def(s::isascii, t_bool, 1, 1),
        "unicode_codepoints_from_string" => def(s::codepoints_from_string, t_dynamic, 1, 1),
        "unicode_codepoints_to_string" => def(s::codepoints_to_string, t_string, 1, 1),
        "make_string" => def(s::make_string, t_string, 1, MANY),
        "has_any_index" => def(s::has_any_index, t_long, 2, 2),
        "format_bytes" => def(s::format_bytes, t_string, 1, 3),
        "parse_version" => def(s::parse_version, t_decimal, 1, 1),
        "translate" => def(s::translate, t_string, 3, 3),
        // conversions
        "tostring" => def(conv_string, t_string, 1, 1),
        "toint" => def(conv_int, t_int, 1, 1),
        "tolong" => def(conv_long, t_long, 1, 1),
        "toreal" | "todouble" => def(conv_real, t_real, 1, 1),
        "todecimal" => def(conv_decimal, t_decimal, 1, 1),
        "tobool" | "toboolean" => def(conv_bool, t_bool, 1, 1),
        "todatetime" => def(conv_datetime, t_datetime, 1, 1),
        "totimespan" | "time" => def(conv_timespan, t_timespan, 1, 1),
        "toguid" => def(conv_guid, t_guid, 1, 1),
        "todynamic" | "parse_json" | "parsejson" | "toobject" | "toarray" => def(y::parse_json, t_dynamic, 1, 1),
        "gettype" => def(gettype, t_string, 1, 1),
        // logic
        "iff" | "iif" => def(iff, t_iff, 3, 3),
        "case" => def(case, t_case, 3, MANY),
        "coalesce" => def(coalesce, t_common, 1, MANY),
        "isnull" => def(isnull, t_bool, 1, 1),
        "isnotnull" | "notnull" => def(isnotnull, t_bool, 1, 1),
        "isempty" => def(isempty, t_bool, 1, 1),
        "isnotempty" | "notempty" => def(isnotempty, t_bool, 1, 1),
        "not" => def(not, t_bool, 1, 1),
        "isnan" => def(isnan, t_bool, 1, 1),
        "isinf" => def(isinf, t_bool, 1, 1),
        "isfinite" => def(isfinite, t_bool, 1, 1),
        // math
        "abs" => def(abs, t_first, 1, 1),
        "round" => def(round, t_round, 1, 2),
        "ceiling" => def(ceiling, t_first, 1, 1),
        "sqrt" => def(|a| real1(a, f64::sqrt), t_real, 1, 1),
        "exp" => def(|a| real1(a, f64::exp), t_real, 1, 1),
        "exp2" => def(|a| real1(a, f64::exp2), t_real, 1, 1),
        "exp10" => def(|a| real1(a, |x| 10f64.powf(x)), t_real, 1, 1),
        // Logarithms of negative numbers are null in Kusto (not NaN); log(0) is -inf.
        "log" => def(|a| log_of(a, f64::ln), t_real, 1, 1),
        "log2" => def(|a| log_of(a, f64::log2), t_real, 1, 1),
        "log10" => def(|a| log_of(a, f64::log10), t_real, 1, 1),
        "sign" => def(
            |a| {
                real1(a, |x| {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        0.0
                    }
                })
            },
            t_real,
            1,
            1,
        ),
        "pow" => def(pow, t_real, 2, 2),
        "sin" => def(|a| real1(a, f64::sin), t_real, 1, 1),
        "cos" => def(|a| real1(a, f64::cos), t_real, 1, 1),
        "tan" => def(|a| real1(a, f64::tan), t_real, 1, 1),
        "asin" => def(|a| real1(a, f64::asin), t_real, 1, 1),
        "acos" => def(|a| real1(a, f64::acos), t_real, 1, 1),
        "atan" => def(|a| real1(a, f64::atan), t_real, 1, 1),
        "cot" => def(|a| real1(a, |x| 1.0 / x.tan()), t_real, 1, 1),
        "atan2" => def(
            |a| match (a[0].as_f64(), a[1].as_f64()) {
                (Some(y), Some(x)) => Value::Real(y.atan2(x)),
                _ => Value::Null,
            },
            t_real,
            2,
            2,
        ),
        "degrees" => def(|a| real1(a, f64::to_degrees), t_real, 1, 1),
        "radians" => def(|a| real1(a, f64::to_radians), t_real, 1, 1),
        "gamma" => def(|a| real1(a, gamma), t_real, 1, 1),
        "loggamma" => def(|a| real1(a, |x| gamma(x).abs().ln()), t_real, 1, 1),
        "pi" => def(|_| Value::Real(std::f64::consts::PI), t_real, 0, 0),
        "min_of" => def(min_of, t_common, 1, MANY),
        "max_of" => def(max_of, t_common, 1, MANY),
        "binary_and" => def(|a| long2(a, |x, y| Some(x & y)), t_long, 2, 2),
        "binary_or" => def(|a| long2(a, |x, y| Some(x | y)), t_long, 2, 2),
        "binary_xor" => def(|a| long2(a, |x, y| Some(x ^ y)), t_long, 2, 2),
        "binary_not" => def(|a| a[0].as_i64().map_or(Value::Null, |x| Value::Long(!x)), t_long, 1, 1),
        "binary_shift_left" => {
            def(|a| long2(a, |x, y| (0..64).contains(&y).then(|| x.wrapping_shl(y as u32))), t_long, 2, 2)
        }
        "binary_shift_right" => {
            def(|a| long2(a, |x, y| (0..64).contains(&y).then(|| x.wrapping_shr(y as u32))), t_long, 2, 2)
        }
        // datetime
        "bin" | "floor" => def(d::bin, t_first_exact, 2, 2),
        "bin_at" => def(d::bin_at, t_first_exact, 3, 3),
        "startofday" => def(d::startofday, t_datetime, 1, 2),
        "startofweek" => def(d::startofweek, t_datetime, 1, 2),
        "startofmonth" => def(d::startofmonth, t_datetime, 1, 2),
        "startofyear" => def(d::startofyear, t_datetime, 1, 2),
        "endofday" => def(d::endofday, t_datetime, 1, 2),
        "endofweek" => def(d::endofweek, t_datetime, 1, 2),
        "endofmonth" => def(d::endofmonth, t_datetime, 1, 2),
        "endofyear" => def(d::endofyear, t_datetime, 1, 2),
        "datetime_add" => def(d::datetime_add, t_datetime, 3, 3),
        "datetime_diff" => def(d::datetime_diff, t_long, 3, 3),
        "datetime_part" | "datepart" => def(d::datetime_part, t_int, 2, 2),
        "dayofweek" => def(d::dayofweek, t_timespan, 1, 1),
        "dayofmonth" => def(d::dayofmonth, t_int, 1, 1),
        "dayofyear" => def(d::dayofyear, t_int, 1, 1),
        "hourofday" => def(d::hourofday, t_int, 1, 1),
        "getmonth" | "monthofyear" => def(d::getmonth, t_int, 1, 1),
        "getyear" => def(d::getyear, t_int, 1, 1),
        "week_of_year" | "weekofyear" => def(d::week_of_year, t_int, 1, 1),
        "format_datetime" => def(d::format_datetime, t_string, 2, 2),
        "format_timespan" => def(d::format_timespan, t_string, 2, 2),
        "unixtime_seconds_todatetime" => def(|a| d::unixtime(a, value::TICKS_PER_SECOND as f64), t_datetime, 1, 1),
        "unixtime_milliseconds_todatetime" => def(|a| d::unixtime(a, 10_000.0), t_datetime, 1, 1),
        "unixtime_microseconds_todatetime" => def(|a| d::unixtime(a, 10.0), t_datetime, 1, 1),
        "unixtime_nanoseconds_todatetime" => def(|a| d::unixtime(a, 0.01), t_datetime, 1, 1),
        "make_datetime" => def(d::make_datetime, t_datetime, 3, 7),
        "make_timespan" => def(d::make_timespan, t_timespan, 2, 5),
        "datetime_utc_to_local" | "datetime_local_to_utc" => def(|a| a[0].clone(), t_datetime, 2, 2),
        // dynamic
        "array_length" => def(y::array_length, t_long, 1, 1),
        "range" => def(y::range, t_dynamic, 2, 3),
        "array_concat" => def(y::array_concat, t_dynamic, 1, MANY),
        "array_slice" => def(y::array_slice, t_dynamic, 3, 3),
        "array_reverse" => def(y::array_reverse, t_dynamic, 1, 1),
        "array_sort_asc" => def(y::array_sort_asc, t_dynamic, 1, 2),
        "array_sort_desc" => def(y::array_sort_desc, t_dynamic, 1, 2),
        "array_index_of" => def(y::array_index_of, t_long, 2, 4),
        "array_sum" => def(y::array_sum, t_real, 1, 1),
        "array_rotate_left" => def(y::array_rotate_left, t_dynamic, 2, 2),
        "array_rotate_right" => def(y::array_rotate_right, t_dynamic, 2, 2),
        "array_shift_left" => def(y::array_shift_left, t_dynamic, 2, 3),
        "array_shift_right" => def(y::array_shift_right, t_dynamic, 2, 3),
        "array_split" => def(y::array_split, t_dynamic, 2, 2),
        "bag_keys" => def(y::bag_keys, t_dynamic, 1, 1),
        "bag_merge" => def(y::bag_merge, t_dynamic, 1, MANY),
        "bag_remove_keys" => def(y::bag_remove_keys, t_dynamic, 2, 2),
        "bag_has_key" => def(y::bag_has_key, t_bool, 2, 2),
        "pack" | "bag_pack" | "pack_dictionary" => def(y::pack, t_dynamic, 0, MANY),
        "pack_array" => def(y::pack_array, t_dynamic, 0, MANY),
        "set_union" => def(y::set_union, t_dynamic, 1, MANY),
        "set_intersect" => def(y::set_intersect, t_dynamic, 1, MANY),
        "set_difference" => def(y::set_difference, t_dynamic, 1, MANY),
        "set_has_element" => def(y::set_has_element, t_bool, 2, 2),
        "zip" => def(y::zip, t_dynamic, 1, MANY),
        "jaccard_index" => def(y::jaccard_index, t_real, 2, 2),
        "extractjson" | "extract_json" => def(y::extract_json, t_extract_json, 2, 3),
        "dynamic_to_json" => def(|a| Value::string(a[0].to_dyn().to_json()), t_string, 1, 1),
        // series
        "series_stats" => def(q::stats_min, t_real, 1, 2),
        "series_stats_dynamic" => def(q::stats_dynamic, t_dynamic, 1, 2),
        "series_fill_linear" => def(q::fill_linear, t_dynamic, 1, 4),
        "series_fill_forward" => def(q::fill_forward, t_dynamic, 1, 2),
        "series_fill_backward" => def(q::fill_backward, t_dynamic, 1, 2),
        "series_fill_const" => def(q::fill_const, t_dynamic, 2, 3),
        "series_add" => def(|a| q::binary(a, q::Op::Add), t_dynamic, 2, 2),
        "series_subtract" => def(|a| q::binary(a, q::Op::Sub), t_dynamic, 2, 2),
        "series_multiply" => def(|a| q::binary(a, q::Op::Mul), t_dynamic, 2, 2),
        "series_divide" => def(|a| q::binary(a, q::Op::Div), t_dynamic, 2, 2),
        "series_pow" => def(|a| q::binary(a, q::Op::Pow), t_dynamic, 2, 2),
        "series_greater" => def(|a| q::binary(a, q::Op::Gt), t_dynamic, 2, 2),
        "series_greater_equals" => def(|a| q::binary(a, q::Op::Ge), t_dynamic, 2, 2),
        "series_less" => def(|a| q::binary(a, q::Op::Lt), t_dynamic, 2, 2),
        "series_less_equals" => def(|a| q::binary(a, q::Op::Le), t_dynamic, 2, 2),
        "series_equals" => def(|a| q::binary(a, q::Op::Eq), t_dynamic, 2, 2),
        "series_not_equals" => def(|a| q::binary(a, q::Op::Ne), t_dynamic, 2, 2),
        "series_abs" => def(|a| q::unary(a, f64::abs, true), t_dynamic, 1, 1),
        "series_sign" => def(|a| q::unary(a, f64::signum, false), t_dynamic, 1, 1),
        "series_ceiling" => def(|a| q::unary(a, f64::ceil, false), t_dynamic, 1, 1),
        "series_floor" => def(|a| q::unary(a, f64::floor, false), t_dynamic, 1, 1),
        "series_exp" => def(|a| q::unary(a, f64::exp, false), t_dynamic, 1, 1),
        "series_log" => def(|a| q::unary(a, f64::ln, false), t_dynamic, 1, 1),
        "series_sin" => def(|a| q::unary(a, f64::sin, false), t_dynamic, 1, 1),
        "series_cos" => def(|a| q::unary(a, f64::cos, false), t_dynamic, 1, 1),
        "series_tan" => def(|a| q::unary(a, f64::tan, false), t_dynamic, 1, 1),
        "series_asin" => def(|a| q::unary(a, f64::asin, false), t_dynamic, 1, 1),
        "series_acos" => def(|a| q::unary(a, f64::acos, false), t_dynamic, 1, 1),
        "series_atan" => def(|a| q::unary(a, f64::atan, false), t_dynamic, 1, 1),
        "series_fir" => def(q::fir, t_dynamic, 2, 4),
        "series_iir" => def(q::iir, t_dynamic, 3, 3),
        "series_fit_line" => def(q::fit_line_rsquare, t_real, 1, 1),
        "series_fit_line_dynamic" => def(q::fit_line_dynamic, t_dynamic, 1, 1),
        "series_pearson_correlation" => def(q::pearson, t_real, 2, 2),
        "series_dot_product" => def(q::dot_product, t_real, 2, 2),
        "series_magnitude" => def(q::magnitude, t_real, 1, 1),
        "series_cosine_similarity" => def(q::cosine_similarity, t_real, 2, 2),
        "series_sum" => def(|a| q::reduce(a, |v| v.iter().sum()), t_real, 1, 1),
        "series_avg" => def(|a| q::reduce(a, |v| v.iter().sum::<f64>() / v.len() as f64), t_real, 1, 1),
        "series_max" => def(|a| q::reduce(a, |v| v.iter().copied().fold(f64::NAN, f64::max)), t_real, 1, 1),
        "series_min" => def(|a| q::reduce(a, |v| v.iter().copied().fold(f64::NAN, f64::min)), t_real, 1, 1),
        // network
        "ipv4_is_private" => def(n::ipv4_is_private, t_bool, 1, 1),
        "ipv4_is_in_range" => def(n::ipv4_is_in_range, t_bool, 2, 2),
        "ipv4_is_in_any_range" => def(n::ipv4_is_in_any_range, t_bool, 2, MANY),
        "ipv4_is_match" => def(n::ipv4_is_match, t_bool, 2, 3),
        "ipv4_compare" => def(n::ipv4_compare, t_long, 2, 3),
        "parse_ipv4" => def(n::parse_ipv4, t_long, 1, 1),
        "parse_ipv4_mask" => def(n::parse_ipv4_mask, t_long, 2, 2),
        "format_ipv4" => def(n::format_ipv4, t_string, 1, 2),
        "format_ipv4_mask" => def(n::format_ipv4_mask, t_string, 1, 2),
        "ipv6_is_match" => def(n::ipv6_is_match, t_bool, 2, 3),
        _ => return None,
    })
}

fn t_extract(a: &[Type]) -> Result<Type, String> {
    Ok(if a.len() == 4 { Type::Dynamic } else { Type::String })
}
fn t_extract_json(_: &[Type]) -> Result<Type, String> {
    Ok(Type::String)
}
fn t_round(a: &[Type]) -> Result<Type, String> {
    Ok(match a.first() {
        Some(Type::Int | Type::Long) => Type::Long,
        Some(Type::Decimal) => Type::Decimal,
        _ => Type::Real,
    })
}

// ---------------------------------------------------------------------------------------------
// Conversions and logic
// ---------------------------------------------------------------------------------------------

fn conv_string(a: &[Value]) -> Value {
    value::convert(&a[0], Type::String)
}
fn conv_int(a: &[Value]) -> Value {
    value::convert(&a[0], Type::Int)
}
fn conv_long(a: &[Value]) -> Value {
    value::convert(&a[0], Type::Long)
}
fn conv_real(a: &[Value]) -> Value {
    value::convert(&a[0], Type::Real)
}
fn conv_decimal(a: &[Value]) -> Value {
    value::convert(&a[0], Type::Decimal)
}
fn conv_bool(a: &[Value]) -> Value {
    value::convert(&a[0], Type::Bool)
}
fn conv_datetime(a: &[Value]) -> Value {
    value::convert(&a[0], Type::DateTime)
}
fn conv_timespan(a: &[Value]) -> Value {
    value::convert(&a[0], Type::TimeSpan)
}
fn conv_guid(a: &[Value]) -> Value {
    value::convert(&a[0], Type::Guid)
}

/// `gettype()`: the value's type; for dynamics, the type of the JSON value inside.
fn gettype(a: &[Value]) -> Value {
    Value::str(match &a[0] {
        Value::Dynamic(d) => d.type_name(),
        v => v.ty().map_or("null", Type::name),
    })
}

/// `gettype(v)` with the name to report when `v` is null (its static type).
pub(crate) fn gettype_or(a: &[Value]) -> Value {
    if a[0].is_null() && !matches!(a[0], Value::Dynamic(_)) {
        return a[1].clone();
    }
    gettype(&a[..1])
}

/// Truthiness for predicates: only `true` passes; null and false do not.
pub fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true) | Value::Dynamic(Dyn::Bool(true)))
}

fn iff(a: &[Value]) -> Value {
    if truthy(&a[0]) { a[1].clone() } else { a[2].clone() }
}

fn case(a: &[Value]) -> Value {
    let mut i = 0;
    while i + 1 < a.len() {
        if truthy(&a[i]) {
            return a[i + 1].clone();
        }
        i += 2;
    }
    a.last().cloned().unwrap_or(Value::Null)
}

fn coalesce(a: &[Value]) -> Value {
    a.iter().find(|v| !v.is_empty()).cloned().unwrap_or_else(|| a.last().cloned().unwrap_or(Value::Null))
}

fn isnull(a: &[Value]) -> Value {
    Value::Bool(a[0].is_null())
}
fn isnotnull(a: &[Value]) -> Value {
    Value::Bool(!a[0].is_null())
}
fn isempty(a: &[Value]) -> Value {
    Value::Bool(a[0].is_empty())
}
fn isnotempty(a: &[Value]) -> Value {
    Value::Bool(!a[0].is_empty())
}
fn not(a: &[Value]) -> Value {
    match a[0].as_bool() {
        Some(b) => Value::Bool(!b),
        None => Value::Null,
    }
}
fn isnan(a: &[Value]) -> Value {
    a[0].as_f64().map_or(Value::Null, |f| Value::Bool(f.is_nan()))
}
fn isinf(a: &[Value]) -> Value {
    a[0].as_f64().map_or(Value::Null, |f| Value::Bool(f.is_infinite()))
}
fn isfinite(a: &[Value]) -> Value {
    a[0].as_f64().map_or(Value::Null, |f| Value::Bool(f.is_finite()))
}

// ---------------------------------------------------------------------------------------------
// Math
// ---------------------------------------------------------------------------------------------

/// The gamma function (Lanczos approximation, reflection below 1/2).
fn gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let mut s = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        s += g / (x + i as f64);
    }
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * s
}

fn log_of(a: &[Value], f: fn(f64) -> f64) -> Value {
    match a[0].as_f64() {
        Some(x) if x >= 0.0 || x.is_nan() => Value::Real(f(x)),
        _ => Value::Null,
    }
}

fn real1(a: &[Value], f: fn(f64) -> f64) -> Value {
    a[0].as_f64().map_or(Value::Null, |x| Value::Real(f(x)))
}

fn long2(a: &[Value], f: fn(i64, i64) -> Option<i64>) -> Value {
    match (a[0].as_i64(), a[1].as_i64()) {
        (Some(x), Some(y)) => f(x, y).map_or(Value::Null, Value::Long),
        _ => Value::Null,
    }
}

fn abs(a: &[Value]) -> Value {
    match &a[0] {
        Value::Int(i) => Value::Long((*i as i64).abs()),
        Value::Long(i) => i.checked_abs().map_or(Value::Null, Value::Long),
        Value::Real(f) => Value::Real(f.abs()),
        Value::Decimal(f) => Value::Decimal(f.abs()),
        Value::TimeSpan(t) => t.checked_abs().map_or(Value::Null, Value::TimeSpan),
        v => v.as_f64().map_or(Value::Null, |f| Value::Real(f.abs())),
    }
}

fn round(a: &[Value]) -> Value {
    let digits = a.get(1).and_then(Value::as_i64).unwrap_or(0).clamp(-15, 15) as i32;
    match &a[0] {
        Value::Int(_) | Value::Long(_) if digits >= 0 => Value::Long(a[0].as_i64().unwrap_or(0)),
        v => match v.as_f64() {
            None => Value::Null,
            Some(x) => {
                let m = 10f64.powi(digits);
                // Kusto rounds half away from zero.
                let r = (x * m).round() / m;
                match v {
                    Value::Int(_) | Value::Long(_) => Value::Long(r as i64),
                    Value::Decimal(_) => Value::Decimal(r),
                    _ => Value::Real(r),
                }
            }
        },
    }
}

fn ceiling(a: &[Value]) -> Value {
    match &a[0] {
        Value::Int(i) => Value::Long(*i as i64),
        Value::Long(i) => Value::Long(*i),
        v => v.as_f64().map_or(Value::Null, |f| Value::Real(f.ceil())),
    }
}

fn pow(a: &[Value]) -> Value {
    match (a[0].as_f64(), a[1].as_f64()) {
        (Some(x), Some(y)) => Value::Real(x.powf(y)),
        _ => Value::Null,
    }
}

fn min_of(a: &[Value]) -> Value {
    extreme_of(a, std::cmp::Ordering::Less)
}
fn max_of(a: &[Value]) -> Value {
    extreme_of(a, std::cmp::Ordering::Greater)
}
/// min_of / max_of ignore nulls; NaN wins (as Kusto's comparison makes it do).
fn extreme_of(a: &[Value], want: std::cmp::Ordering) -> Value {
    let mut best: Option<&Value> = None;
    for v in a.iter().filter(|v| !v.is_null()) {
        if v.as_f64().is_some_and(f64::is_nan) {
            return Value::Real(f64::NAN);
        }
        best = match best {
            None => Some(v),
            Some(b) if value::compare_values(v, b) == want => Some(v),
            keep => keep,
        };
    }
    best.cloned().unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Binary operators
// ---------------------------------------------------------------------------------------------

/// Result type of a binary operator, or an error for impossible operand types.
pub fn binary_type(op: BinOp, l: Type, r: Type) -> Result<Type, String> {
    use Type::*;
    if op.is_predicate() {
        return Ok(Bool);
    }
    let t = match (op, l, r) {
        (_, Dynamic, _) | (_, _, Dynamic) => Dynamic,
        (BinOp::Sub, DateTime, DateTime) => TimeSpan,
        (BinOp::Add | BinOp::Sub, DateTime, TimeSpan) => DateTime,
        (BinOp::Add, TimeSpan, DateTime) => DateTime,
        (BinOp::Add | BinOp::Sub | BinOp::Mod, TimeSpan, TimeSpan) => TimeSpan,
        (BinOp::Div, TimeSpan, TimeSpan) => Real,
        (BinOp::Mul | BinOp::Div, TimeSpan, t) if t.is_numeric() => TimeSpan,
        (BinOp::Mul, t, TimeSpan) if t.is_numeric() => TimeSpan,
        (_, a, b) if a.is_numeric() && b.is_numeric() => match common_type(&[a, b]) {
            Int => Long,
            t => t,
        },
        (_, a, b) if a == b && matches!(a, Int | Long) => Long,
        _ => {
            return Err(format!("operator `{}` cannot be applied to {} and {}", op.as_str(), l.name(), r.name()));
        }
    };
    Ok(t)
}

/// Evaluates a binary operator on two values. `and`/`or` use three-valued logic.
pub fn binary(op: BinOp, l: &Value, r: &Value) -> Value {
    match op {
        BinOp::And => and3(l, r),
        BinOp::Or => or3(l, r),
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => arith(op, l, r),
        _ => compare_op(op, l, r),
    }
}

fn and3(l: &Value, r: &Value) -> Value {
    match (l.as_bool(), r.as_bool()) {
        (Some(false), _) | (_, Some(false)) => Value::Bool(false),
        (Some(true), Some(true)) => Value::Bool(true),
        _ => Value::Null,
    }
}

fn or3(l: &Value, r: &Value) -> Value {
    match (l.as_bool(), r.as_bool()) {
        (Some(true), _) | (_, Some(true)) => Value::Bool(true),
        (Some(false), Some(false)) => Value::Bool(false),
        _ => Value::Null,
    }
}

/// Arithmetic with Kusto's rules: int widens to long, integer division truncates, `%` is
/// Euclidean (never negative), integer division by zero is null, datetime ranges are checked.
pub fn arith(op: BinOp, l: &Value, r: &Value) -> Value {
    use Value::*;
    if l.is_null() || r.is_null() {
        return Null;
    }
    match (l, r) {
        (DateTime(a), DateTime(b)) if op == BinOp::Sub => a.checked_sub(*b).map_or(Null, TimeSpan),
        (DateTime(a), TimeSpan(b)) => match op {
            BinOp::Add => a.checked_add(*b).and_then(value::datetime_in_range).map_or(Null, DateTime),
            BinOp::Sub => a.checked_sub(*b).and_then(value::datetime_in_range).map_or(Null, DateTime),
            _ => Null,
        },
        (TimeSpan(a), DateTime(b)) if op == BinOp::Add => {
            b.checked_add(*a).and_then(value::datetime_in_range).map_or(Null, DateTime)
        }
        (TimeSpan(a), TimeSpan(b)) => match op {
            BinOp::Add => a.checked_add(*b).map_or(Null, TimeSpan),
            BinOp::Sub => a.checked_sub(*b).map_or(Null, TimeSpan),
            BinOp::Div => Real(*a as f64 / *b as f64),
            BinOp::Mod => a.checked_rem_euclid(*b).map_or(Null, TimeSpan),
            _ => Null,
        },
        (TimeSpan(a), n) if matches!(op, BinOp::Mul | BinOp::Div) => match n.as_f64() {
            Some(f) => {
                let x = if op == BinOp::Mul { *a as f64 * f } else { *a as f64 / f };
                if x.is_finite() { TimeSpan(x.round() as i64) } else { Null }
            }
            None => Null,
        },
        (n, TimeSpan(a)) if op == BinOp::Mul => match n.as_f64() {
            Some(f) => TimeSpan((*a as f64 * f).round() as i64),
            None => Null,
        },
        (Dynamic(_), _) | (_, Dynamic(_)) => {
            let unwrap = |v: &Value| match v {
                Dynamic(Dyn::Long(i)) => Long(*i),
                Dynamic(Dyn::Real(f)) => Real(*f),
                Dynamic(_) => Null,
                other => other.clone(),
            };
            match arith(op, &unwrap(l), &unwrap(r)) {
                Null => Dynamic(Dyn::Null),
                v => Dynamic(v.to_dyn()),
            }
        }
        (Int(_) | Long(_), Int(_) | Long(_)) => {
            let (a, b) = (l.as_i64().unwrap_or(0), r.as_i64().unwrap_or(0));
            // Kusto's long arithmetic wraps around on overflow (two's complement), it does
            // not fail or yield null; only division by zero is null.
            let res = match op {
                BinOp::Add => Some(a.wrapping_add(b)),
                BinOp::Sub => Some(a.wrapping_sub(b)),
                BinOp::Mul => Some(a.wrapping_mul(b)),
                BinOp::Div => a.checked_div(b),
                BinOp::Mod => a.checked_rem_euclid(b),
                _ => None,
            };
            res.map_or(Null, Long)
        }
        _ => {
            let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else { return Null };
            let x = match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Mod => a.rem_euclid(b),
                _ => return Null,
            };
            let real = matches!(l, Real(_)) || matches!(r, Real(_));
            if real { Real(x) } else { Decimal(x) }
        }
    }
}

/// Equality as `==` sees it: numbers across types, strings exactly, dynamic against scalars.
pub fn values_equal(l: &Value, r: &Value) -> Option<bool> {
    if l.is_null() || r.is_null() {
        return None;
    }
    Some(match (l, r) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Dynamic(a), Value::Dynamic(b)) => a.equals(b),
        (Value::Dynamic(d), other) | (other, Value::Dynamic(d)) => d.equals(&other.to_dyn()),
        (Value::Guid(g), Value::String(s)) | (Value::String(s), Value::Guid(g)) => {
            value::format_guid(*g) == s.to_ascii_lowercase()
        }
        _ => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) if l.ty().is_some_and(Type::is_numeric) && r.ty().is_some_and(Type::is_numeric) => {
                match (l.as_i64(), r.as_i64(), l, r) {
                    (Some(a), Some(b), Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => a == b,
                    _ => a == b,
                }
            }
            _ => value::compare_values(l, r) == std::cmp::Ordering::Equal && l.ty() == r.ty(),
        },
    })
}

/// Ordering for `<`, `>`, … (`None` when either side is null or NaN is involved).
fn values_order(l: &Value, r: &Value) -> Option<std::cmp::Ordering> {
    if l.is_null() || r.is_null() {
        return None;
    }
    match (l.as_f64(), r.as_f64()) {
        (Some(a), Some(b))
            if !matches!(l, Value::Dynamic(Dyn::String(_))) && !matches!(r, Value::Dynamic(Dyn::String(_))) =>
        {
            if let (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) = (l, r) {
                return Some(l.as_i64().cmp(&r.as_i64()));
            }
            a.partial_cmp(&b)
        }
        _ => Some(value::compare_values(l, r)),
    }
}

/// Text of a value for string operators (`has`, `contains`, …): strings as is, others as
/// `tostring()` would print them.
pub fn text_of(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(&**s),
        Value::Dynamic(Dyn::String(s)) => std::borrow::Cow::Borrowed(&**s),
        other => std::borrow::Cow::Owned(other.to_kusto_string()),
    }
}

fn compare_op(op: BinOp, l: &Value, r: &Value) -> Value {
    use BinOp::*;
    use std::cmp::Ordering::*;
    let b = match op {
        Eq => values_equal(l, r).unwrap_or(false),
        Ne => values_equal(l, r).map_or(!(l.is_null() && r.is_null()), |e| !e),
        Lt | Le | Gt | Ge => match values_order(l, r) {
            None if l.is_null() || r.is_null() => return Value::Null,
            // NaN is unordered: every comparison with it is false.
            None => false,
            Some(o) => match op {
                Lt => o == Less,
                Le => o != Greater,
                Gt => o == Greater,
                _ => o != Less,
            },
        },
        _ => return Value::Bool(string_predicate(op, &text_of(l), &text_of(r))),
    };
    Value::Bool(b)
}

/// Case-insensitive string equality (Unicode-aware, ASCII fast path).
pub fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
}

/// The string operators of KQL over two texts.
pub fn string_predicate(op: BinOp, hay: &str, needle: &str) -> bool {
    use BinOp::*;
    match op {
        EqCi => eq_ci(hay, needle),
        NeCi => !eq_ci(hay, needle),
        Has => has_term(hay, needle, false, TermMatch::Whole),
        NotHas => !has_term(hay, needle, false, TermMatch::Whole),
        HasCs => has_term(hay, needle, true, TermMatch::Whole),
        NotHasCs => !has_term(hay, needle, true, TermMatch::Whole),
        HasPrefix => has_term(hay, needle, false, TermMatch::Prefix),
        NotHasPrefix => !has_term(hay, needle, false, TermMatch::Prefix),
        HasPrefixCs => has_term(hay, needle, true, TermMatch::Prefix),
        NotHasPrefixCs => !has_term(hay, needle, true, TermMatch::Prefix),
        HasSuffix => has_term(hay, needle, false, TermMatch::Suffix),
        NotHasSuffix => !has_term(hay, needle, false, TermMatch::Suffix),
        HasSuffixCs => has_term(hay, needle, true, TermMatch::Suffix),
        NotHasSuffixCs => !has_term(hay, needle, true, TermMatch::Suffix),
        Contains => contains_ci(hay, needle),
        NotContains => !contains_ci(hay, needle),
        ContainsCs => hay.contains(needle),
        NotContainsCs => !hay.contains(needle),
        StartsWith => starts_with_ci(hay, needle),
        NotStartsWith => !starts_with_ci(hay, needle),
        StartsWithCs => hay.starts_with(needle),
        NotStartsWithCs => !hay.starts_with(needle),
        EndsWith => ends_with_ci(hay, needle),
        NotEndsWith => !ends_with_ci(hay, needle),
        EndsWithCs => hay.ends_with(needle),
        NotEndsWithCs => !hay.ends_with(needle),
        MatchesRegex => regex_cached(needle).is_some_and(|re| re.is_match(hay)),
        Eq => hay == needle,
        Ne => hay != needle,
        _ => false,
    }
}

/// Which part of a term `has`-style operators match.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TermMatch {
    Whole,
    Prefix,
    Suffix,
}

pub fn starts_with_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        hay.len() >= needle.len() && hay.as_bytes()[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
    } else {
        hay.to_lowercase().starts_with(&needle.to_lowercase())
    }
}

pub fn ends_with_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        hay.len() >= needle.len() && hay.as_bytes()[hay.len() - needle.len()..].eq_ignore_ascii_case(needle.as_bytes())
    } else {
        hay.to_lowercase().ends_with(&needle.to_lowercase())
    }
}

/// Helper for dynamic results built from strings.
pub(crate) fn dyn_strings<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Value {
    Value::Dynamic(Dyn::array(items.into_iter().map(|s| Dyn::String(Arc::from(s.as_ref()))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> Value {
        (lookup(name).unwrap().imp)(args)
    }

    #[test]
    fn arithmetic_rules() {
        assert!(matches!(arith(BinOp::Mod, &Value::Long(-7), &Value::Long(3)), Value::Long(2)));
        assert!(matches!(arith(BinOp::Mod, &Value::Long(7), &Value::Long(-2)), Value::Long(1)));
        assert!(matches!(arith(BinOp::Div, &Value::Long(-7), &Value::Long(2)), Value::Long(-3)));
        assert!(matches!(arith(BinOp::Div, &Value::Long(1), &Value::Long(0)), Value::Null));
        assert!(matches!(arith(BinOp::Add, &Value::Int(i32::MAX), &Value::Int(1)), Value::Long(2147483648)));
        // Long arithmetic wraps, as in Kusto.
        assert!(matches!(arith(BinOp::Mul, &Value::Long(i64::MAX), &Value::Long(2)), Value::Long(-2)));
        assert!(matches!(arith(BinOp::Add, &Value::Long(i64::MAX), &Value::Long(1)), Value::Long(i64::MIN)));
    }

    #[test]
    fn comparisons_with_null() {
        assert!(matches!(binary(BinOp::Eq, &Value::Null, &Value::Long(0)), Value::Bool(false)));
        assert!(matches!(binary(BinOp::Lt, &Value::Null, &Value::Long(0)), Value::Null));
        assert!(matches!(binary(BinOp::And, &Value::Null, &Value::Bool(false)), Value::Bool(false)));
    }

    #[test]
    fn string_ops() {
        assert!(string_predicate(BinOp::Has, "hello world", "WORLD"));
        assert!(!string_predicate(BinOp::Has, "helloworld", "world"));
        assert!(string_predicate(BinOp::Has, "C:\\Windows\\cmd.exe", "cmd.exe"));
        assert!(string_predicate(BinOp::Contains, "PowerShell.EXE", "shell.exe"));
        assert!(string_predicate(BinOp::HasPrefix, "hello world", "wor"));
        assert!(string_predicate(BinOp::MatchesRegex, "abc123", "\\d+"));
    }

    #[test]
    fn library_smoke() {
        assert_eq!(call("strcat", &[Value::str("a"), Value::Long(1)]).to_kusto_string(), "a1");
        assert_eq!(call("substring", &[Value::str("abc"), Value::Long(-1), Value::Long(2)]).to_kusto_string(), "c");
        assert_eq!(
            call("extract", &[Value::str("(\\d+)"), Value::Long(1), Value::str("ab12c")]).to_kusto_string(),
            "12"
        );
        assert_eq!(call("coalesce", &[Value::Null, Value::Long(5)]).to_kusto_string(), "5");
        assert!(matches!(call("ipv4_is_private", &[Value::str("10.1.2.3")]), Value::Bool(true)));
        assert!(matches!(
            call("ipv4_is_in_range", &[Value::str("192.168.1.7"), Value::str("192.168.1.0/24")]),
            Value::Bool(true)
        ));
        assert_eq!(call("hash_sha256", &[Value::str("abc")]).to_kusto_string().len(), 64);
        assert_eq!(call("split", &[Value::str("a,b"), Value::str(",")]).to_kusto_string(), "[\"a\",\"b\"]");
    }
}
