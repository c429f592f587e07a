//! The `series_*` functions: element-wise maths, gap filling, filters, line fitting and
//! statistics over dynamic arrays (the output of `make-series`), following Microsoft's
//! documentation of each.
//!
//! Conventions: an element that is not a number counts as missing (null); an argument that is
//! not an array gives a null result; integer inputs stay integers where Kusto keeps them
//! (element-wise `+ - *`, gap filling), everything computed is a real.

use crate::value::{Dyn, Value};

fn arr(v: &Value) -> Option<Vec<Dyn>> {
    match v.to_dyn() {
        Dyn::Array(a) => Some(a.as_ref().clone()),
        _ => None,
    }
}

fn nums(v: &Value) -> Option<Vec<Option<f64>>> {
    arr(v).map(|a| a.iter().map(Dyn::as_f64).collect())
}

fn real(f: f64) -> Dyn {
    Dyn::Real(f)
}

fn out(v: Vec<Dyn>) -> Value {
    Value::Dynamic(Dyn::array(v))
}

fn reals(v: &[f64]) -> Value {
    out(v.iter().map(|f| real(*f)).collect())
}

/// Whether `d` is the placeholder for a missing value (`null` unless given).
fn is_missing(d: &Dyn, placeholder: &Dyn) -> bool {
    match placeholder {
        Dyn::Null => d.is_null() || d.as_f64().is_none(),
        p => d.equals(p),
    }
}

fn placeholder(a: &[Value], i: usize) -> Dyn {
    a.get(i).map_or(Dyn::Null, Value::to_dyn)
}

// ---------------------------------------------------------------------------------------------
// Gap filling
// ---------------------------------------------------------------------------------------------

/// `series_fill_forward(series [, missing_value_placeholder])`.
pub fn fill_forward(a: &[Value]) -> Value {
    let Some(mut x) = arr(&a[0]) else {
        return Value::Null;
    };
    let ph = placeholder(a, 1);
    let mut last: Option<Dyn> = None;
    for d in x.iter_mut() {
        if is_missing(d, &ph) {
            if let Some(l) = &last {
                *d = l.clone();
            }
        } else {
            last = Some(d.clone());
        }
    }
    out(x)
}

/// `series_fill_backward(series [, missing_value_placeholder])`.
pub fn fill_backward(a: &[Value]) -> Value {
    let Some(mut x) = arr(&a[0]) else {
        return Value::Null;
    };
    let ph = placeholder(a, 1);
    let mut next: Option<Dyn> = None;
    for d in x.iter_mut().rev() {
        if is_missing(d, &ph) {
            if let Some(n) = &next {
                *d = n.clone();
            }
        } else {
            next = Some(d.clone());
        }
    }
    out(x)
}

/// `series_fill_const(series, constant [, missing_value_placeholder])`.
pub fn fill_const(a: &[Value]) -> Value {
    let Some(mut x) = arr(&a[0]) else {
        return Value::Null;
    };
    let c = a.get(1).map_or(Dyn::Null, Value::to_dyn);
    let ph = placeholder(a, 2);
    for d in x.iter_mut() {
        if is_missing(d, &ph) {
            *d = c.clone();
        }
    }
    out(x)
}

/// `series_fill_linear(series [, missing_value_placeholder [, fill_edges [, constant_value]]])`:
/// interior gaps are interpolated linearly; edges take the nearest value when `fill_edges`
/// (the default), else `constant_value` (null by default).
pub fn fill_linear(a: &[Value]) -> Value {
    let Some(mut x) = arr(&a[0]) else {
        return Value::Null;
    };
    let ph = placeholder(a, 1);
    let fill_edges = a.get(2).and_then(Value::as_bool).unwrap_or(true);
    let constant = a.get(3).map_or(Dyn::Null, Value::to_dyn);
    let known: Vec<usize> = (0..x.len()).filter(|&i| !is_missing(&x[i], &ph)).collect();
    if known.is_empty() {
        return out(x);
    }
    let n = x.len();
    for w in known.windows(2) {
        let (i, j) = (w[0], w[1]);
        let (Some(y0), Some(y1)) = (x[i].as_f64(), x[j].as_f64()) else {
            continue;
        };
        for (k, slot) in x.iter_mut().enumerate().take(j).skip(i + 1) {
            *slot = real(y0 + (y1 - y0) * (k - i) as f64 / (j - i) as f64);
        }
    }
    let (first, last) = (known[0], known[known.len() - 1]);
    for k in (0..first).chain(last + 1..n) {
        x[k] = if fill_edges { x[if k < first { first } else { last }].clone() } else { constant.clone() };
    }
    out(x)
}

// ---------------------------------------------------------------------------------------------
// Element-wise arithmetic and comparison
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

/// One operand: an array, or a scalar broadcast over the other's length.
fn operand(v: &Value) -> Option<Result<Vec<Dyn>, Dyn>> {
    match v.to_dyn() {
        Dyn::Array(a) => Some(Ok(a.as_ref().clone())),
        Dyn::Null => None,
        d => Some(Err(d)),
    }
}

pub fn binary(a: &[Value], op: Op) -> Value {
    let (Some(l), Some(r)) = (operand(&a[0]), operand(&a[1])) else {
        return Value::Null;
    };
    let len = match (&l, &r) {
        (Ok(x), Ok(y)) => x.len().max(y.len()),
        (Ok(x), Err(_)) | (Err(_), Ok(x)) => x.len(),
        (Err(_), Err(_)) => 1,
    };
    let at = |o: &Result<Vec<Dyn>, Dyn>, i: usize| match o {
        Ok(v) => v.get(i).cloned().unwrap_or(Dyn::Null),
        Err(d) => d.clone(),
    };
    let mut res = Vec::with_capacity(len);
    for i in 0..len {
        let (x, y) = (at(&l, i), at(&r, i));
        res.push(element(&x, &y, op));
    }
    out(res)
}

fn element(x: &Dyn, y: &Dyn, op: Op) -> Dyn {
    let (Some(fx), Some(fy)) = (x.as_f64(), y.as_f64()) else {
        return Dyn::Null;
    };
    if let (Dyn::Long(a), Dyn::Long(b)) = (x, y) {
        match op {
            Op::Add => return Dyn::Long(a.wrapping_add(*b)),
            Op::Sub => return Dyn::Long(a.wrapping_sub(*b)),
            Op::Mul => return Dyn::Long(a.wrapping_mul(*b)),
            _ => {}
        }
    }
    match op {
        Op::Add => real(fx + fy),
        Op::Sub => real(fx - fy),
        Op::Mul => real(fx * fy),
        Op::Div => real(fx / fy),
        Op::Pow => real(fx.powf(fy)),
        Op::Gt => Dyn::Bool(fx > fy),
        Op::Ge => Dyn::Bool(fx >= fy),
        Op::Lt => Dyn::Bool(fx < fy),
        Op::Le => Dyn::Bool(fx <= fy),
        Op::Eq => Dyn::Bool(fx == fy),
        Op::Ne => Dyn::Bool(fx != fy),
    }
}

/// Applies `f` to every numeric element (others become null); integers stay integers when
/// `f` maps them to whole numbers and `keep_int` is set.
pub fn unary(a: &[Value], f: fn(f64) -> f64, keep_int: bool) -> Value {
    let Some(x) = arr(&a[0]) else {
        return Value::Null;
    };
    out(x
        .iter()
        .map(|d| match (d, d.as_f64()) {
            (Dyn::Long(_), Some(v)) if keep_int => Dyn::Long(f(v) as i64),
            (_, Some(v)) => real(f(v)),
            _ => Dyn::Null,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------------

/// `series_fir(series, filter [, normalize [, center]])`: y[i] = Σ filter[j]·x[i−j]; with
/// `normalize` the filter is divided by its sum; `center` aligns the filter's middle on i.
pub fn fir(a: &[Value]) -> Value {
    let (Some(x), Some(filter)) = (nums(&a[0]), nums(&a[1])) else {
        return Value::Null;
    };
    let mut filter: Vec<f64> = filter.into_iter().map(|f| f.unwrap_or(0.0)).collect();
    let normalize = a.get(2).and_then(Value::as_bool).unwrap_or(true);
    let center = a.get(3).and_then(Value::as_bool).unwrap_or(false);
    let sum: f64 = filter.iter().sum();
    if normalize && filter.iter().any(|f| *f < 0.0) {
        // Documented: a filter with negative coefficients cannot be normalized.
        return Value::Null;
    }
    if normalize && sum != 0.0 {
        filter.iter_mut().for_each(|f| *f /= sum);
    }
    let shift = if center { filter.len() / 2 } else { 0 } as i64;
    let n = x.len() as i64;
    let y: Vec<f64> = (0..n)
        .map(|i| {
            filter
                .iter()
                .enumerate()
                .map(|(j, f)| {
                    let k = i + shift - j as i64;
                    if (0..n).contains(&k) { f * x[k as usize].unwrap_or(0.0) } else { 0.0 }
                })
                .sum()
        })
        .collect();
    reals(&y)
}

/// `series_iir(series, numerators, denominators)`:
/// y[i] = (Σ b[j]·x[i−j] − Σ_{j≥1} a[j]·y[i−j]) / a[0].
pub fn iir(a: &[Value]) -> Value {
    let (Some(x), Some(b), Some(den)) = (nums(&a[0]), nums(&a[1]), nums(&a[2])) else {
        return Value::Null;
    };
    let b: Vec<f64> = b.into_iter().map(|f| f.unwrap_or(0.0)).collect();
    let den: Vec<f64> = den.into_iter().map(|f| f.unwrap_or(0.0)).collect();
    let a0 = den.first().copied().unwrap_or(1.0);
    let mut y: Vec<f64> = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let mut acc = 0.0;
        for (j, bj) in b.iter().enumerate() {
            if j <= i {
                acc += bj * x[i - j].unwrap_or(0.0);
            }
        }
        for (j, aj) in den.iter().enumerate().skip(1) {
            if j <= i {
                acc -= aj * y[i - j];
            }
        }
        y.push(acc / a0);
    }
    reals(&y)
}

// ---------------------------------------------------------------------------------------------
// Fitting and statistics
// ---------------------------------------------------------------------------------------------

/// Least-squares line over x = 1..n: (rsquare, slope, variance, rvariance, interception, line).
fn fit_line(y: &[f64]) -> (f64, f64, f64, f64, f64, Vec<f64>) {
    let n = y.len() as f64;
    if y.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, vec![]);
    }
    let mx = (n + 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = (i + 1) as f64 - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    let intercept = my - slope * mx;
    let line: Vec<f64> = (0..y.len()).map(|i| intercept + slope * (i + 1) as f64).collect();
    let sst: f64 = y.iter().map(|v| (v - my) * (v - my)).sum();
    let sse: f64 = y.iter().zip(&line).map(|(v, l)| (v - l) * (v - l)).sum();
    let rsquare = if sst == 0.0 { 1.0 } else { 1.0 - sse / sst };
    let denom = if n > 1.0 { n - 1.0 } else { 1.0 };
    (rsquare, slope, sst / denom, sse / denom, intercept, line)
}

fn values(v: &Value) -> Option<Vec<f64>> {
    nums(v).map(|x| x.into_iter().map(|f| f.unwrap_or(0.0)).collect())
}

/// `series_fit_line(series)` in a single-column context: its first output, `rsquare`.
pub fn fit_line_rsquare(a: &[Value]) -> Value {
    values(&a[0]).map_or(Value::Null, |y| Value::Real(fit_line(&y).0))
}

/// `series_fit_line_dynamic(series)`: the fit as a property bag.
pub fn fit_line_dynamic(a: &[Value]) -> Value {
    let Some(y) = values(&a[0]) else {
        return Value::Null;
    };
    let (rsquare, slope, variance, rvariance, interception, line) = fit_line(&y);
    Value::Dynamic(Dyn::object(vec![
        ("rsquare".into(), real(rsquare)),
        ("slope".into(), real(slope)),
        ("variance".into(), real(variance)),
        ("rvariance".into(), real(rvariance)),
        ("interception".into(), real(interception)),
        ("line_fit".into(), Dyn::array(line.into_iter().map(real).collect())),
    ]))
}

/// Statistics of the numeric elements: (min, min_idx, max, max_idx, avg, variance, stdev).
fn stats(x: &[Option<f64>]) -> Option<(f64, usize, f64, usize, f64, f64, f64)> {
    let vals: Vec<(usize, f64)> = x.iter().enumerate().filter_map(|(i, v)| v.map(|f| (i, f))).collect();
    let &(i0, f0) = vals.first()?;
    let (mut min, mut min_i, mut max, mut max_i) = (f0, i0, f0, i0);
    for &(i, f) in &vals {
        if f < min {
            min = f;
            min_i = i;
        }
        if f > max {
            max = f;
            max_i = i;
        }
    }
    let n = vals.len() as f64;
    let avg = vals.iter().map(|(_, f)| f).sum::<f64>() / n;
    let ss: f64 = vals.iter().map(|(_, f)| (f - avg) * (f - avg)).sum();
    let variance = if vals.len() > 1 { ss / (n - 1.0) } else { 0.0 };
    Some((min, min_i, max, max_i, avg, variance, variance.sqrt()))
}

/// `series_stats_dynamic(series)`: min, min_idx, max, max_idx, avg, variance, stdev.
pub fn stats_dynamic(a: &[Value]) -> Value {
    let Some(x) = nums(&a[0]) else {
        return Value::Null;
    };
    let Some((min, min_i, max, max_i, avg, variance, stdev)) = stats(&x) else {
        return Value::Dynamic(Dyn::object(vec![]));
    };
    Value::Dynamic(Dyn::object(vec![
        ("min".into(), real(min)),
        ("min_idx".into(), Dyn::Long(min_i as i64)),
        ("max".into(), real(max)),
        ("max_idx".into(), Dyn::Long(max_i as i64)),
        ("avg".into(), real(avg)),
        ("variance".into(), real(variance)),
        ("stdev".into(), real(stdev)),
    ]))
}

/// `series_stats(series)` in a single-column context: its first output, `min`.
pub fn stats_min(a: &[Value]) -> Value {
    nums(&a[0]).and_then(|x| stats(&x)).map_or(Value::Null, |s| Value::Real(s.0))
}

/// `series_pearson_correlation(s1, s2)`.
pub fn pearson(a: &[Value]) -> Value {
    let (Some(x), Some(y)) = (values(&a[0]), values(&a[1])) else {
        return Value::Null;
    };
    let n = x.len().min(y.len());
    if n == 0 {
        return Value::Null;
    }
    let (x, y) = (&x[..n], &y[..n]);
    let nf = n as f64;
    let (mx, my) = (x.iter().sum::<f64>() / nf, y.iter().sum::<f64>() / nf);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    Value::Real(sxy / (sxx * syy).sqrt())
}

/// `series_dot_product(s1, s2)` (a scalar second argument is broadcast).
pub fn dot_product(a: &[Value]) -> Value {
    let Value::Dynamic(Dyn::Array(p)) = binary(a, Op::Mul) else {
        return Value::Null;
    };
    Value::Real(p.iter().filter_map(Dyn::as_f64).sum())
}

/// `series_magnitude(series)`: the Euclidean norm.
pub fn magnitude(a: &[Value]) -> Value {
    values(&a[0]).map_or(Value::Null, |x| Value::Real(x.iter().map(|f| f * f).sum::<f64>().sqrt()))
}

/// `series_cosine_similarity(s1, s2)`.
pub fn cosine_similarity(a: &[Value]) -> Value {
    let (Some(x), Some(y)) = (values(&a[0]), values(&a[1])) else {
        return Value::Null;
    };
    let n = x.len().min(y.len());
    let dot: f64 = (0..n).map(|i| x[i] * y[i]).sum();
    let nx: f64 = x.iter().map(|f| f * f).sum::<f64>().sqrt();
    let ny: f64 = y.iter().map(|f| f * f).sum::<f64>().sqrt();
    Value::Real(dot / (nx * ny))
}

/// `series_sum` / `series_avg`-style reductions over the numeric elements.
pub fn reduce(a: &[Value], f: fn(&[f64]) -> f64) -> Value {
    let Some(x) = nums(&a[0]) else {
        return Value::Null;
    };
    let v: Vec<f64> = x.into_iter().flatten().collect();
    Value::Real(f(&v))
}
