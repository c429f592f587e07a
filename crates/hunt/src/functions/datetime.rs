//! Datetime and timespan functions.

use crate::value::{
    self, Civil, TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND, Value, days_in_month, from_civil,
    to_civil,
};

fn dt(v: &Value) -> Option<i64> {
    match v {
        Value::DateTime(t) => Some(*t),
        Value::String(_) | Value::Dynamic(_) => v.as_str().and_then(value::parse_datetime),
        _ => None,
    }
}

fn ts(v: &Value) -> Option<i64> {
    match v {
        Value::TimeSpan(t) => Some(*t),
        Value::String(_) | Value::Dynamic(_) => v.as_str().and_then(value::parse_timespan),
        _ => None,
    }
}

fn opt_dt(t: Option<i64>) -> Value {
    t.and_then(value::datetime_in_range).map_or(Value::Null, Value::DateTime)
}

/// `bin(value, size)` / `floor(value, size)`: rounds down to a multiple of `size`.
pub fn bin(a: &[Value]) -> Value {
    bin_impl(&a[0], &a[1], None)
}

/// `bin_at(value, size, fixed_point)`.
pub fn bin_at(a: &[Value]) -> Value {
    bin_impl(&a[0], &a[1], Some(&a[2]))
}

fn bin_impl(v: &Value, size: &Value, at: Option<&Value>) -> Value {
    match v {
        Value::DateTime(t) => {
            let Some(step) = ts(size).or_else(|| size.as_i64()) else { return Value::Null };
            if step <= 0 {
                return Value::Null;
            }
            let origin = at.and_then(dt).unwrap_or(0);
            opt_dt(Some(origin + (t - origin).div_euclid(step) * step))
        }
        Value::TimeSpan(t) => {
            let Some(step) = ts(size).or_else(|| size.as_i64()) else { return Value::Null };
            if step <= 0 {
                return Value::Null;
            }
            let origin = at.and_then(ts).unwrap_or(0);
            Value::TimeSpan(origin + (t - origin).div_euclid(step) * step)
        }
        Value::Int(_) | Value::Long(_) if matches!(size, Value::Int(_) | Value::Long(_)) => {
            let (x, step) = (v.as_i64().unwrap_or(0), size.as_i64().unwrap_or(0));
            if step <= 0 {
                return Value::Null;
            }
            let origin = at.and_then(Value::as_i64).unwrap_or(0);
            let r = origin + (x - origin).div_euclid(step) * step;
            if matches!(v, Value::Int(_)) { Value::Int(r as i32) } else { Value::Long(r) }
        }
        _ => {
            let (Some(x), Some(step)) = (v.as_f64(), size.as_f64()) else { return Value::Null };
            if step <= 0.0 {
                return Value::Null;
            }
            let origin = at.and_then(Value::as_f64).unwrap_or(0.0);
            let r = origin + ((x - origin) / step).floor() * step;
            match v {
                Value::Int(_) => Value::Int(r as i32),
                Value::Long(_) => Value::Long(r as i64),
                Value::Decimal(_) => Value::Decimal(r),
                _ => Value::Real(r),
            }
        }
    }
}

fn offset(a: &[Value]) -> i64 {
    a.get(1).and_then(Value::as_i64).unwrap_or(0)
}

fn start_of_day(t: i64) -> i64 {
    t.div_euclid(TICKS_PER_DAY) * TICKS_PER_DAY
}

/// Sunday-based week start.
fn start_of_week(t: i64) -> i64 {
    let days = t.div_euclid(TICKS_PER_DAY);
    // 0001-01-01 was a Monday.
    let dow = (days + 1).rem_euclid(7);
    (days - dow) * TICKS_PER_DAY
}

fn add_months(t: i64, months: i64) -> Option<i64> {
    let c = to_civil(t);
    let total = c.year * 12 + (c.month as i64 - 1) + months;
    let year = total.div_euclid(12);
    let month = (total.rem_euclid(12) + 1) as u32;
    let day = c.day.min(days_in_month(year, month));
    let base = from_civil(&Civil { year, month, day, hour: 0, minute: 0, second: 0, frac: 0 })?;
    Some(base + t.rem_euclid(TICKS_PER_DAY))
}

fn month_start(t: i64, add: i64) -> Option<i64> {
    let c = to_civil(t);
    let first = from_civil(&Civil { day: 1, hour: 0, minute: 0, second: 0, frac: 0, ..c })?;
    add_months(first, add)
}

fn year_start(t: i64, add: i64) -> Option<i64> {
    let c = to_civil(t);
    from_civil(&Civil { year: c.year + add, month: 1, day: 1, hour: 0, minute: 0, second: 0, frac: 0 })
}

pub fn startofday(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).map(|t| start_of_day(t) + offset(a) * TICKS_PER_DAY))
}
pub fn startofweek(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).map(|t| start_of_week(t) + offset(a) * 7 * TICKS_PER_DAY))
}
pub fn startofmonth(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).and_then(|t| month_start(t, offset(a))))
}
pub fn startofyear(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).and_then(|t| year_start(t, offset(a))))
}
pub fn endofday(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).map(|t| start_of_day(t) + (offset(a) + 1) * TICKS_PER_DAY - 1))
}
pub fn endofweek(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).map(|t| start_of_week(t) + (offset(a) + 1) * 7 * TICKS_PER_DAY - 1))
}
/// The last tick before the start of a later month / year. The next period's start may lie past
/// 9999-12-31 (so it is computed unchecked); only the result has to be in range.
pub fn endofmonth(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).and_then(|t| {
        let c = to_civil(t);
        let m = (c.year * 12 + c.month as i64 - 1).checked_add(offset(a).checked_add(1)?)?;
        let (y, mo) = (m.div_euclid(12), m.rem_euclid(12) as u32 + 1);
        (-20_000..=20_000).contains(&y).then(|| value::days_from_civil(y, mo, 1) * TICKS_PER_DAY - 1)
    }))
}
pub fn endofyear(a: &[Value]) -> Value {
    opt_dt(dt(&a[0]).and_then(|t| {
        let y = to_civil(t).year.checked_add(offset(a).checked_add(1)?)?;
        (-20_000..=20_000).contains(&y).then(|| value::days_from_civil(y, 1, 1) * TICKS_PER_DAY - 1)
    }))
}

fn unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit {
        "week" | "weeks" => 7 * TICKS_PER_DAY,
        "day" | "days" => TICKS_PER_DAY,
        "hour" | "hours" => TICKS_PER_HOUR,
        "minute" | "minutes" => TICKS_PER_MINUTE,
        "second" | "seconds" => TICKS_PER_SECOND,
        "millisecond" | "milliseconds" => 10_000,
        "microsecond" | "microseconds" => 10,
        "nanosecond" | "nanoseconds" => 1,
        _ => return None,
    })
}

/// `datetime_add(part, amount, datetime)`.
pub fn datetime_add(a: &[Value]) -> Value {
    let unit = a[0].to_kusto_string().to_ascii_lowercase();
    let (Some(n), Some(t)) = (a[1].as_i64(), dt(&a[2])) else { return Value::Null };
    let r = match unit.as_str() {
        "year" | "years" => n.checked_mul(12).and_then(|m| add_months(t, m)),
        "quarter" | "quarters" => n.checked_mul(3).and_then(|m| add_months(t, m)),
        "month" | "months" => add_months(t, n),
        u => unit_ticks(u)
            .and_then(|k| n.checked_mul(if u.starts_with("nano") { 0 } else { k }))
            .and_then(|d| t.checked_add(d)),
    };
    opt_dt(r)
}

/// `datetime_diff(part, dt1, dt2)`: number of `part` boundaries crossed from dt2 to dt1.
pub fn datetime_diff(a: &[Value]) -> Value {
    let unit = a[0].to_kusto_string().to_ascii_lowercase();
    let (Some(t1), Some(t2)) = (dt(&a[1]), dt(&a[2])) else { return Value::Null };
    let (c1, c2) = (to_civil(t1), to_civil(t2));
    let months = |c: &Civil| c.year * 12 + c.month as i64 - 1;
    let r = match unit.as_str() {
        "year" | "years" => c1.year - c2.year,
        "quarter" | "quarters" => (months(&c1) / 3) - (months(&c2) / 3),
        "month" | "months" => months(&c1) - months(&c2),
        "week" | "weeks" => (start_of_week(t1) - start_of_week(t2)) / (7 * TICKS_PER_DAY),
        "day" | "days" => t1.div_euclid(TICKS_PER_DAY) - t2.div_euclid(TICKS_PER_DAY),
        "hour" | "hours" => t1.div_euclid(TICKS_PER_HOUR) - t2.div_euclid(TICKS_PER_HOUR),
        "minute" | "minutes" => t1.div_euclid(TICKS_PER_MINUTE) - t2.div_euclid(TICKS_PER_MINUTE),
        "second" | "seconds" => t1.div_euclid(TICKS_PER_SECOND) - t2.div_euclid(TICKS_PER_SECOND),
        "millisecond" | "milliseconds" => t1.div_euclid(10_000) - t2.div_euclid(10_000),
        "microsecond" | "microseconds" => t1.div_euclid(10) - t2.div_euclid(10),
        "nanosecond" | "nanoseconds" => (t1 - t2).saturating_mul(100),
        _ => return Value::Null,
    };
    Value::Long(r)
}

/// `datetime_part(part, datetime)`.
pub fn datetime_part(a: &[Value]) -> Value {
    let unit = a[0].to_kusto_string().to_ascii_lowercase();
    let Some(t) = dt(&a[1]) else { return Value::Null };
    let c = to_civil(t);
    let r = match unit.as_str() {
        "year" => c.year,
        "quarter" => (c.month as i64 - 1) / 3 + 1,
        "month" => c.month as i64,
        "weekofyear" | "week_of_year" => iso_week(t),
        "day" => c.day as i64,
        "dayofyear" => day_of_year(&c),
        "hour" => c.hour as i64,
        "minute" => c.minute as i64,
        "second" => c.second as i64,
        "millisecond" => c.frac as i64 / 10_000,
        "microsecond" => c.frac as i64 / 10,
        "nanosecond" => c.frac as i64 * 100,
        _ => return Value::Null,
    };
    Value::Int(r as i32)
}

fn day_of_year(c: &Civil) -> i64 {
    value::days_from_civil(c.year, c.month, c.day) - value::days_from_civil(c.year, 1, 1) + 1
}

/// ISO 8601 week number.
fn iso_week(t: i64) -> i64 {
    let days = t.div_euclid(TICKS_PER_DAY);
    let dow_mon0 = days.rem_euclid(7); // 0001-01-01 is Monday → 0
    let thursday = days - dow_mon0 + 3;
    let (y, _, _) = value::civil_from_days(thursday);
    let jan1 = value::days_from_civil(y, 1, 1);
    (thursday - jan1) / 7 + 1
}

pub fn dayofweek(a: &[Value]) -> Value {
    dt(&a[0]).map_or(Value::Null, |t| {
        let days = t.div_euclid(TICKS_PER_DAY);
        Value::TimeSpan((days + 1).rem_euclid(7) * TICKS_PER_DAY)
    })
}
pub fn dayofmonth(a: &[Value]) -> Value {
    dt(&a[0]).map_or(Value::Null, |t| Value::Int(to_civil(t).day as i32))
}
pub fn dayofyear(a: &[Value]) -> Value {
    dt(&a[0]).map_or(Value::Null, |t| Value::Int(day_of_year(&to_civil(t)) as i32))
}
pub fn hourofday(a: &[Value]) -> Value {
    dt(&a[0]).map_or(Value::Null, |t| Value::Int(to_civil(t).hour as i32))
}
pub fn getmonth(a: &[Value]) -> Value {
    dt(&a[0]).map_or(Value::Null, |t| Value::Int(to_civil(t).month as i32))
}
pub fn getyear(a: &[Value]) -> Value {
    dt(&a[0]).map_or(Value::Null, |t| Value::Int(to_civil(t).year as i32))
}
pub fn week_of_year(a: &[Value]) -> Value {
    dt(&a[0]).map_or(Value::Null, |t| Value::Int(iso_week(t) as i32))
}

/// `unixtime_*_todatetime(n)`; `per_unit` is ticks per unit.
pub fn unixtime(a: &[Value], per_unit: f64) -> Value {
    let Some(n) = a[0].as_f64() else { return Value::Null };
    let t = n * per_unit;
    if !t.is_finite() || t.abs() > 4e18 {
        return Value::Null;
    }
    opt_dt(Some(value::UNIX_EPOCH_TICKS + t.round() as i64))
}

pub fn make_datetime(a: &[Value]) -> Value {
    let get = |i: usize| a.get(i).and_then(Value::as_i64);
    let (Some(y), Some(mo), Some(d)) = (get(0), get(1), get(2)) else { return Value::Null };
    let sec = a.get(5).and_then(Value::as_f64).unwrap_or(0.0);
    let (h, mi) = (get(3).unwrap_or(0), get(4).unwrap_or(0));
    if !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0.0..60.0).contains(&sec)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
    {
        return Value::Null;
    }
    let c = Civil {
        year: y,
        month: mo as u32,
        day: d as u32,
        hour: h as u32,
        minute: mi as u32,
        second: sec.trunc() as u32,
        frac: ((sec.fract() * 1e7).round() as u32).min(9_999_999),
    };
    opt_dt(from_civil(&c))
}

/// `make_timespan(hours, minutes)`, `(hours, minutes, seconds)`, `(days, hours, minutes, seconds)`.
pub fn make_timespan(a: &[Value]) -> Value {
    let nums: Vec<Option<f64>> = a.iter().map(Value::as_f64).collect();
    if nums.iter().any(Option::is_none) {
        return Value::Null;
    }
    let n: Vec<f64> = nums.into_iter().flatten().collect();
    let (d, h, m, s) = match n.len() {
        2 => (0.0, n[0], n[1], 0.0),
        3 => (0.0, n[0], n[1], n[2]),
        _ => (n[0], n[1], n[2], n[3]),
    };
    if d < 0.0 || !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&m) || !(0.0..60.0).contains(&s) {
        return Value::Null;
    }
    let ticks = d * TICKS_PER_DAY as f64
        + h * TICKS_PER_HOUR as f64
        + m * TICKS_PER_MINUTE as f64
        + s * TICKS_PER_SECOND as f64;
    Value::TimeSpan(ticks.round() as i64)
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// Splits a .NET custom format string into runs of the same letter and literal text.
fn format_tokens(fmt: &str) -> Vec<(char, usize)> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        if c.is_ascii_alphabetic() {
            out.push((c, j - i));
        } else {
            for _ in i..j {
                out.push((c, 0));
            }
        }
        i = j;
    }
    out
}

/// Kusto's `format_datetime` knows only the one- and two-letter forms of `d M h H m s t`
/// (no day or month names), `y`/`yy`/`yyyy` and up to seven `f`/`F`: a longer run is read as
/// several specifiers (`dddd` is `dd` `dd`, `MMM` is `MM` `M`).
fn datetime_tokens(fmt: &str) -> Vec<(char, usize)> {
    let mut out = Vec::new();
    for (c, n) in format_tokens(fmt) {
        let max = match c {
            'd' | 'M' | 'h' | 'H' | 'm' | 's' | 't' => 2,
            'y' => 4,
            'f' | 'F' => 7,
            _ => usize::MAX,
        };
        let mut left = n;
        while left > max {
            out.push((c, max));
            left -= max;
        }
        out.push((c, left));
    }
    out
}

/// `format_datetime(dt, "yyyy-MM-dd HH:mm:ss.fff tt")` with .NET custom format letters.
pub fn format_datetime(a: &[Value]) -> Value {
    let Some(t) = dt(&a[0]) else { return Value::str("") };
    let fmt = a[1].to_kusto_string();
    let c = to_civil(t);
    let mut out = String::new();
    for (ch, n) in datetime_tokens(&fmt) {
        if n == 0 {
            out.push(ch);
            continue;
        }
        let piece = match ch {
            'y' => match n {
                1 => (c.year % 100).to_string(),
                2 => format!("{:02}", c.year % 100),
                _ => format!("{:0n$}", c.year),
            },
            'M' => match n {
                1 => c.month.to_string(),
                2 => format!("{:02}", c.month),
                3 => MONTH_NAMES[c.month as usize - 1][..3].to_string(),
                _ => MONTH_NAMES[c.month as usize - 1].to_string(),
            },
            'd' => match n {
                1 => c.day.to_string(),
                2 => format!("{:02}", c.day),
                _ => {
                    let dow = (t.div_euclid(TICKS_PER_DAY) + 1).rem_euclid(7) as usize;
                    if n == 3 { DAY_NAMES[dow][..3].to_string() } else { DAY_NAMES[dow].to_string() }
                }
            },
            'H' => pad(c.hour as i64, n),
            'h' => pad(((c.hour + 11) % 12 + 1) as i64, n),
            'm' => pad(c.minute as i64, n),
            's' => pad(c.second as i64, n),
            'f' | 'F' => {
                let digits = format!("{:07}", c.frac);
                let d = &digits[..n.min(7)];
                if ch == 'F' { d.trim_end_matches('0').to_string() } else { d.to_string() }
            }
            't' => {
                let ampm = if c.hour < 12 { "AM" } else { "PM" };
                if n == 1 { ampm[..1].to_string() } else { ampm.to_string() }
            }
            other => other.to_string().repeat(n),
        };
        out.push_str(&piece);
    }
    Value::string(out)
}

fn pad(v: i64, n: usize) -> String {
    if n >= 2 { format!("{v:02}") } else { v.to_string() }
}

/// `format_timespan(ts, "d.hh:mm:ss.fff")`.
pub fn format_timespan(a: &[Value]) -> Value {
    let Some(t) = ts(&a[0]) else { return Value::str("") };
    let fmt = a[1].to_kusto_string();
    let neg = t < 0;
    let u = t.unsigned_abs() as i64;
    let days = u / TICKS_PER_DAY;
    let h = u % TICKS_PER_DAY / TICKS_PER_HOUR;
    let m = u % TICKS_PER_HOUR / TICKS_PER_MINUTE;
    let s = u % TICKS_PER_MINUTE / TICKS_PER_SECOND;
    let frac = u % TICKS_PER_SECOND;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for (ch, n) in format_tokens(&fmt) {
        if n == 0 {
            out.push(ch);
            continue;
        }
        let piece = match ch {
            'd' => format!("{days:0n$}"),
            'h' | 'H' => format!("{h:0n$}"),
            'm' => format!("{m:0n$}"),
            's' => format!("{s:0n$}"),
            'f' | 'F' => {
                let digits = format!("{frac:07}");
                let d = &digits[..n.min(7)];
                if ch == 'F' { d.trim_end_matches('0').to_string() } else { d.to_string() }
            }
            other => other.to_string().repeat(n),
        };
        out.push_str(&piece);
    }
    Value::string(out)
}
