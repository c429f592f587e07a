//! Every core for the evaluator: how many threads, how work is cut, and the typed kernels that
//! run on them (gathering rows, interning keys, merging per-partition partial results).
//!
//! The model is morsel-style data parallelism over the columnar batches with plain
//! `std::thread::scope` workers (no thread pool crate: a query spawns its workers per parallel
//! step, which costs tens of microseconds against steps that only go parallel above
//! [`min_rows`] rows). An operator cuts its rows into [`partitions`] — contiguous row ranges,
//! a few per thread so a core slowed by another process does not hold the others up — runs a
//! kernel per partition, and combines the partial results **in partition order**. That order is
//! what keeps results deterministic and identical to the serial path: ids numbered by first
//! appearance, `first` rows, join output order and `arg_max` ties all come out as if one thread
//! had walked the rows from the top.
//!
//! Threads: [`set_threads`] (the CLI's `--threads`), else `RIPOSTE_KQL_THREADS`, else
//! `std::thread::available_parallelism`. The setting is process-wide on purpose: a query may be
//! run on a thread of its own (see `crate::limits`), where a thread-local setting would be lost.
//!
//! Strings are `Arc<str>` cells that usually share one allocation per distinct value (see
//! `keys::string_ids`). Cloning such a cell from two cores at once would bounce the shared
//! reference count between them on every row, so string gathers on a worker clone through a
//! small per-worker cache of private copies of the popular values ([`LocalStrings`]).

use std::ops::Range;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::table::{Column, ColumnData, Table};
use crate::value::Dyn;

/// Configured worker count; 0 = not configured (environment, then the machine decides).
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Rows below which an operator stays on the calling thread.
static MIN_ROWS: AtomicUsize = AtomicUsize::new(DEFAULT_MIN_ROWS);

/// Below this many rows, spawning workers costs more than it saves.
pub const DEFAULT_MIN_ROWS: usize = 1 << 16;

/// Partitions per thread (more than one so that uneven partitions and busy cores even out).
const PARTITIONS_PER_THREAD: usize = 4;

/// Smallest partition worth a task of its own.
const MIN_PARTITION_ROWS: usize = 1 << 14;

/// Makes the allocator keep freed memory for reuse instead of handing it back to the kernel:
/// columnar operators allocate and free vectors of tens to hundreds of megabytes per step, and
/// served fresh from the kernel every time, each page is faulted in and zeroed again, which
/// measured as most of a 10 M-row join's time (with glibc's malloc, which needed its trim and
/// `mmap` thresholds raised and every thread kept on one arena, whose lock then serialised the
/// gateway's threads). The allocator is mimalloc (`limits::CountingAlloc`): this sets its purge
/// delay to "never" (`mi_option_purge_delay` = -1), so freed pages stay committed in its
/// per-thread heaps. The cost: the process keeps its peak heap (as a database keeps its buffer
/// pool). Call once at start-up, before the first large allocation.
pub fn retain_freed_memory() {
    /// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (mimalloc.h); the Rust bindings
    /// do not name it.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option only changes mimalloc's tuning; -1 is documented ("no purging
    // at all"), and options may be set before or after the allocator's first use.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// The unit-test binary tunes the allocator as the `riposte` binary does first thing in
/// `main`: libtest runs each test on a thread of its own, created before any test body could
/// call [`retain_freed_memory`] early enough, so the call runs as a load-time constructor here.
#[cfg(all(test, target_os = "linux"))]
#[used]
#[unsafe(link_section = ".init_array")]
static TEST_BINARY_ALLOCATOR: extern "C" fn() = {
    extern "C" fn tune() {
        retain_freed_memory();
    }
    tune
};

/// Sets the evaluator's worker count for the whole process; `0` goes back to the default
/// (`RIPOSTE_KQL_THREADS`, else every core).
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// The evaluator's worker count (at least 1).
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

fn default_threads() -> usize {
    std::env::var("RIPOSTE_KQL_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Sets how many rows an operator needs before it goes parallel (tests lower it to push small
/// tables through the parallel kernels); `0` restores [`DEFAULT_MIN_ROWS`].
pub fn set_min_rows(n: usize) {
    MIN_ROWS.store(if n == 0 { DEFAULT_MIN_ROWS } else { n }, Ordering::Relaxed);
}

/// See [`set_min_rows`].
pub fn min_rows() -> usize {
    MIN_ROWS.load(Ordering::Relaxed)
}

/// Whether `n` rows are worth several workers.
pub(crate) fn worth_it(n: usize) -> bool {
    n >= min_rows() && threads() > 1
}

/// `0..n` cut into contiguous ranges, in order: one range when `n` is too small to share,
/// else a few per thread.
pub(crate) fn partitions(n: usize) -> Vec<Range<usize>> {
    if !worth_it(n) {
        return std::iter::once(0..n).collect();
    }
    let min_part = MIN_PARTITION_ROWS.min(min_rows().max(1));
    let k = (threads() * PARTITIONS_PER_THREAD).min(n.div_ceil(min_part)).max(1);
    split(n, k)
}

/// `0..n` in `k` near-equal contiguous ranges.
pub(crate) fn split(n: usize, k: usize) -> Vec<Range<usize>> {
    let k = k.max(1);
    (0..k).map(|i| (i * n / k)..((i + 1) * n / k)).collect()
}

/// Runs `f` on every task and returns the results in task order. Tasks are handed out to
/// [`threads`] scoped workers one at a time; with one task or one thread it all runs here.
pub(crate) fn run<T: Send, R: Send>(tasks: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = threads().min(tasks.len());
    if workers <= 1 {
        return tasks.into_iter().map(f).collect();
    }
    let n = tasks.len();
    let slots: Vec<Mutex<Option<T>>> = tasks.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let work = || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let task = slots[i].lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(task) = task {
                    let r = f(task);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            }
        };
        for _ in 1..workers {
            s.spawn(work);
        }
        // The calling thread is a worker too.
        work();
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every task ran: scope joins all workers"))
        .collect()
}

/// Runs `f` over the [`partitions`] of `0..n`, results in row order.
pub(crate) fn map_partitions<R: Send>(n: usize, f: impl Fn(Range<usize>) -> R + Sync) -> Vec<R> {
    run(partitions(n), f)
}

/// Concatenates per-partition vectors in order.
pub(crate) fn concat<T>(parts: Vec<Vec<T>>) -> Vec<T> {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for mut p in parts {
        out.append(&mut p);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Gathering rows
// ---------------------------------------------------------------------------------------------

/// Private copies of popular strings for one worker, so clones touch a reference count no
/// other core is touching. Direct-mapped by the source allocation's address; a value shared by
/// few cells (its count is low) is cloned as is, which contends with nobody. A slot keeps the
/// first popular value that lands in it: evicting would make a fresh copy (an allocation, and
/// later a free) every time two values sharing a slot alternate, which with thousands of
/// distinct values (remote addresses) cost more than the sharing it saves; the value that
/// finds its slot taken is cloned as is.
pub(crate) struct LocalStrings {
    slots: Vec<Option<(usize, Arc<str>)>>,
}

const LOCAL_SLOTS_LOG2: u32 = 12;
const LOCAL_SLOTS: usize = 1 << LOCAL_SLOTS_LOG2;

/// A value held by more cells than this is worth a private copy per worker.
const POPULAR: usize = 8;

impl LocalStrings {
    pub(crate) fn new() -> LocalStrings {
        LocalStrings { slots: vec![None; LOCAL_SLOTS] }
    }

    #[inline]
    pub(crate) fn clone_of(&mut self, s: &Arc<str>) -> Arc<str> {
        let addr = Arc::as_ptr(s) as *const u8 as usize;
        // Fibonacci hashing: the product's top bits depend on every bit of the address.
        let slot = &mut self.slots
            [((addr as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - LOCAL_SLOTS_LOG2)) as usize];
        match slot {
            Some((a, local)) if *a == addr => return local.clone(),
            Some(_) => return s.clone(),
            None => {}
        }
        if Arc::strong_count(s) <= POPULAR {
            return s.clone();
        }
        let local: Arc<str> = Arc::from(&**s);
        *slot = Some((addr, local.clone()));
        local
    }
}

/// `v[idx]` for a string column, on several workers when `idx` is long.
fn gather_strings(v: &[Arc<str>], idx: &[usize]) -> Vec<Arc<str>> {
    if !worth_it(idx.len()) {
        return idx.iter().map(|&i| v[i].clone()).collect();
    }
    concat(map_partitions(idx.len(), |r| {
        if v.len() * SMALL_SOURCE_FACTOR <= r.len() {
            // A small source (the build side of a join): a private copy of every cell, then
            // plain clones by index, with no cache to probe or evict.
            let local: Vec<Arc<str>> = v.iter().map(|s| Arc::from(&**s)).collect();
            return idx[r].iter().map(|&i| local[i].clone()).collect();
        }
        let mut local = LocalStrings::new();
        idx[r].iter().map(|&i| local.clone_of(&v[i])).collect()
    }))
}

/// A gather copies its whole source privately when the source has at most this many times
/// fewer rows than the gather's partition.
const SMALL_SOURCE_FACTOR: usize = 16;

fn gather_copy<T: Clone + Send + Sync>(v: &[T], idx: &[usize]) -> Vec<T> {
    if !worth_it(idx.len()) {
        return idx.iter().map(|&i| v[i].clone()).collect();
    }
    concat(map_partitions(idx.len(), |r| idx[r].iter().map(|&i| v[i].clone()).collect()))
}

/// Rows `idx` of a column's storage, in that order (parallel for long `idx`).
pub(crate) fn gather_data(c: &ColumnData, idx: &[usize]) -> ColumnData {
    match c {
        ColumnData::Bool(v) => ColumnData::Bool(gather_copy(v, idx)),
        ColumnData::Int(v) => ColumnData::Int(gather_copy(v, idx)),
        ColumnData::Long(v) => ColumnData::Long(gather_copy(v, idx)),
        ColumnData::Real(v) => ColumnData::Real(gather_copy(v, idx)),
        ColumnData::String(v) => ColumnData::String(gather_strings(v, idx)),
        ColumnData::DateTime(v) => ColumnData::DateTime(gather_copy(v, idx)),
        ColumnData::TimeSpan(v) => ColumnData::TimeSpan(gather_copy(v, idx)),
        ColumnData::Guid(v) => ColumnData::Guid(gather_copy(v, idx)),
        // Dynamic cells share nested `Arc`s; copied on the calling thread.
        ColumnData::Dynamic(v) => ColumnData::Dynamic(idx.iter().map(|&i| v[i].clone()).collect::<Vec<Dyn>>()),
    }
}

/// Rows `idx` of a column.
pub(crate) fn gather_column(c: &Column, idx: &[usize]) -> Column {
    Column { name: c.name.clone(), ty: c.ty, data: Arc::new(gather_data(&c.data, idx)) }
}

/// Rows `idx` of a table.
pub(crate) fn gather_table(t: &Table, idx: &[usize]) -> Table {
    Table::new(t.columns.iter().map(|c| gather_column(c, idx)).collect())
}

// ---------------------------------------------------------------------------------------------
// Dropping
// ---------------------------------------------------------------------------------------------

/// A pointer handed to workers that touch disjoint parts of what it points to.
struct SharedPtr<T>(*mut T);

impl<T> SharedPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}

// SAFETY: only used by `drop_in_parallel`, whose workers each drop a disjoint range of
// elements that are `Send`.
unsafe impl<T: Send> Send for SharedPtr<T> {}
// SAFETY: as above; the pointer itself is only read.
unsafe impl<T: Send> Sync for SharedPtr<T> {}

/// Drops the cells of `v` on every core, partition by partition. A string cell's drop is a
/// reference-count decrement on the cell's allocation; ten million of them on one thread cost
/// as much as the operator that produced them. The partitions are the ones [`gather_data`]
/// filled, so each worker decrements the private copies its own partition cloned
/// ([`LocalStrings`]) and no count bounces between cores.
fn drop_in_parallel<T: Send>(mut v: Vec<T>) {
    let parts = partitions(v.len());
    if parts.len() <= 1 {
        return;
    }
    let base = SharedPtr(v.as_mut_ptr());
    // SAFETY: from here the vector owns no elements (it only frees its buffer when dropped);
    // each element is dropped exactly once below, by the worker whose range holds it, and the
    // ranges cover `0..len` without overlap. Should a drop panic, the rest leak (safe).
    unsafe { v.set_len(0) };
    run(parts, |r| {
        // SAFETY: `r` lies within the former length; no other worker touches it.
        unsafe { std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(base.get().add(r.start), r.len())) }
    });
}

/// Frees a column's cells on every core when this is its last reference and they hold
/// reference counts (strings, dynamics); otherwise an ordinary drop.
pub(crate) fn drop_column_data(data: Arc<ColumnData>) {
    match Arc::try_unwrap(data) {
        Ok(ColumnData::String(v)) => drop_in_parallel(v),
        Ok(ColumnData::Dynamic(v)) => drop_in_parallel(v),
        _ => {}
    }
}

/// [`drop_column_data`] for every column of a table an operator is done with.
pub(crate) fn drop_table(t: Table) {
    for c in t.columns {
        drop_column_data(c.data);
    }
}

// ---------------------------------------------------------------------------------------------
// Dense ids across partitions
// ---------------------------------------------------------------------------------------------

/// Merges per-partition dense ids into one id space numbered by first appearance over the
/// whole input. Each partition numbered its keys by first appearance within itself; walking
/// the partitions in order and, within one, its keys in local id order, the first time a key
/// is seen is its first appearance overall. `keys[p][local]` is partition `p`'s key `local`,
/// `remap` receives `(partition, local → global)`, and the result is the global key count
/// with the partition and local id of each global key's first appearance.
pub(crate) fn merge_dictionaries<K: std::hash::Hash + Eq + Clone>(
    keys: &[Vec<K>],
) -> (Vec<Vec<u32>>, Vec<(usize, u32)>) {
    let mut global: super::keys::FxMap<K, u32> = super::keys::FxMap::default();
    let mut origin: Vec<(usize, u32)> = Vec::new();
    let mut maps = Vec::with_capacity(keys.len());
    for (p, part) in keys.iter().enumerate() {
        let mut map = Vec::with_capacity(part.len());
        for (local, k) in part.iter().enumerate() {
            let next = origin.len() as u32;
            let id = *global.entry(k.clone()).or_insert(next);
            if id == next {
                origin.push((p, local as u32));
            }
            map.push(id);
        }
        maps.push(map);
    }
    (maps, origin)
}

/// One cell of a grouping key, compared by the same typed equality as [`super::keys`].
#[derive(Clone, PartialEq, Eq, Hash)]
enum KeyCell<'a> {
    Bool(Option<bool>),
    Int(Option<i32>),
    Long(Option<i64>),
    Str(&'a str),
    Guid(Option<u128>),
}

fn key_cell(c: &ColumnData, row: usize) -> KeyCell<'_> {
    match c {
        ColumnData::Bool(v) => KeyCell::Bool(v[row]),
        ColumnData::Int(v) => KeyCell::Int(v[row]),
        ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v) => KeyCell::Long(v[row]),
        ColumnData::String(v) => KeyCell::Str(&v[row]),
        ColumnData::Guid(v) => KeyCell::Guid(v[row]),
        // Callers check `keys::keyable` first.
        ColumnData::Real(_) | ColumnData::Dynamic(_) => KeyCell::Bool(None),
    }
}

/// [`super::keys::group_ids`] over all `n` rows, on every core for large inputs: each
/// partition numbers its own groups, the partitions' dictionaries are merged in order
/// ([`merge_dictionaries`]) and the ids remapped, so ids, count and first rows are exactly
/// the serial ones. `None` when a column is not keyable.
pub(crate) fn group_ids(cols: &[&ColumnData], n: usize) -> Option<(Vec<u32>, usize, Vec<usize>)> {
    let parts = partitions(n);
    if parts.len() <= 1 || cols.is_empty() {
        return super::keys::group_ids(cols, n, None);
    }
    if !cols.iter().all(|c| super::keys::keyable(c)) {
        return None;
    }
    let locals: Vec<(Vec<u32>, usize, Vec<usize>)> = run(parts, |r| {
        super::keys::group_ids_in(cols, super::keys::RowSet::Range(r.start, r.end))
            .expect("key columns checked keyable above")
    });
    let dictionaries: Vec<Vec<Vec<KeyCell<'_>>>> = locals
        .iter()
        .map(|(_, _, first)| first.iter().map(|&row| cols.iter().map(|c| key_cell(c, row)).collect()).collect())
        .collect();
    let (maps, origin) = merge_dictionaries(&dictionaries);
    let first: Vec<usize> = origin.iter().map(|&(p, local)| locals[p].2[local as usize]).collect();
    let tasks: Vec<(Vec<u32>, Vec<u32>)> = locals.into_iter().zip(maps).map(|((ids, _, _), m)| (ids, m)).collect();
    let ids = concat(run(tasks, |(mut ids, m)| {
        for id in ids.iter_mut() {
            *id = m[*id as usize];
        }
        ids
    }));
    Some((ids, first.len(), first))
}

/// Rows per group id (`count()` by group), counted per partition and summed.
pub(crate) fn count_by_group(gids: &[u32], groups: usize) -> Vec<i64> {
    let parts = map_partitions(gids.len(), |r| {
        let mut c = vec![0i64; groups];
        for &g in &gids[r] {
            c[g as usize] += 1;
        }
        c
    });
    let mut it = parts.into_iter();
    let mut total = it.next().unwrap_or_else(|| vec![0; groups]);
    for p in it {
        for (t, x) in total.iter_mut().zip(p) {
            *t += x;
        }
    }
    total
}

/// Distinct `(group, value)` pairs per group (`dcount(v)` by group) from group ids and value
/// ids (`values` distinct values); rows where `is_null` holds do not count. Each partition
/// marks its pairs (a bitmap when the pair space is small, a hash set otherwise) and the marks
/// are united before counting.
pub(crate) fn distinct_pairs_by_group(
    gids: &[u32],
    vids: &[u32],
    groups: usize,
    values: usize,
    is_null: &(dyn Fn(usize) -> bool + Sync),
) -> Vec<i64> {
    let mut out = vec![0i64; groups];
    let space = groups.saturating_mul(values);
    let parts = partitions(gids.len());
    if space <= (1 << 24) || (parts.len() == 1 && space <= 1 << 27) {
        let words = space.div_ceil(64);
        let maps = run(parts, |r| {
            let mut seen = vec![0u64; words];
            for row in r {
                if !is_null(row) {
                    let bit = gids[row] as usize * values + vids[row] as usize;
                    seen[bit / 64] |= 1u64 << (bit % 64);
                }
            }
            seen
        });
        let mut it = maps.into_iter();
        let mut all = it.next().unwrap_or_default();
        for m in it {
            for (a, b) in all.iter_mut().zip(m) {
                *a |= b;
            }
        }
        for (w, mut word) in all.into_iter().enumerate() {
            while word != 0 {
                let bit = w * 64 + word.trailing_zeros() as usize;
                out[bit / values] += 1;
                word &= word - 1;
            }
        }
    } else {
        let sets = run(parts, |r| {
            let mut seen: std::collections::HashSet<u64, super::keys::FxBuild> = Default::default();
            for row in r {
                if !is_null(row) {
                    seen.insert(((gids[row] as u64) << 32) | vids[row] as u64);
                }
            }
            seen
        });
        let mut it = sets.into_iter();
        let mut all = it.next().unwrap_or_default();
        for s in it {
            all.extend(s);
        }
        for pair in all {
            out[(pair >> 32) as usize] += 1;
        }
    }
    out
}

/// [`super::expr::eval_column`] on every core: each partition evaluates its rows with its own
/// copy of the expression; the pieces are joined in order. Expressions with row state run in
/// one pass here.
pub(crate) fn eval_column(e: &super::expr::CExpr, ty: crate::value::Type, t: &Table) -> Arc<ColumnData> {
    let n = t.num_rows();
    let parts = partitions(n);
    if parts.len() <= 1 || e.has_row_state() || matches!(e, super::expr::CExpr::Col(_) | super::expr::CExpr::Const(_)) {
        return super::expr::eval_column(e, ty, t);
    }
    if let Some(k) = super::expr::column_kernel(e, ty, t) {
        return Arc::new(concat_data(ty, run(parts, |r| k.run(r))));
    }
    let tasks: Vec<(Range<usize>, super::expr::CExpr)> = parts.into_iter().map(|r| (r, e.clone())).collect();
    let pieces = run(tasks, |(r, e)| {
        let mut data = ColumnData::new(ty, r.len());
        for row in r {
            data.push(ty, &e.eval(t, row));
        }
        data
    });
    Arc::new(concat_data(ty, pieces))
}

/// Joins column pieces of one storage kind, in order.
pub(crate) fn concat_data(ty: crate::value::Type, pieces: Vec<ColumnData>) -> ColumnData {
    let mut it = pieces.into_iter();
    let mut out = it.next().unwrap_or_else(|| ColumnData::new(ty, 0));
    for p in it {
        match (&mut out, p) {
            (ColumnData::Bool(a), ColumnData::Bool(mut b)) => a.append(&mut b),
            (ColumnData::Int(a), ColumnData::Int(mut b)) => a.append(&mut b),
            (ColumnData::Long(a), ColumnData::Long(mut b)) => a.append(&mut b),
            (ColumnData::Real(a), ColumnData::Real(mut b)) => a.append(&mut b),
            (ColumnData::String(a), ColumnData::String(mut b)) => a.append(&mut b),
            (ColumnData::DateTime(a), ColumnData::DateTime(mut b)) => a.append(&mut b),
            (ColumnData::TimeSpan(a), ColumnData::TimeSpan(mut b)) => a.append(&mut b),
            (ColumnData::Guid(a), ColumnData::Guid(mut b)) => a.append(&mut b),
            (ColumnData::Dynamic(a), ColumnData::Dynamic(mut b)) => a.append(&mut b),
            (a, b) => {
                let col = Column::with_data("", ty, b);
                a.extend_from(ty, &col);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_every_row_once_in_order() {
        for n in [0usize, 1, 7, 1000, 1 << 20] {
            for k in [1usize, 2, 3, 8] {
                let parts = split(n, k);
                assert_eq!(parts.len(), k);
                let mut at = 0;
                for p in parts {
                    assert_eq!(p.start, at);
                    at = p.end;
                }
                assert_eq!(at, n);
            }
        }
    }

    #[test]
    fn run_keeps_task_order() {
        let out = run((0..100).collect(), |i: i32| i * 2);
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn dictionaries_merge_by_first_appearance() {
        let parts = vec![vec!["b", "a"], vec!["c", "a"], vec!["d", "b"]];
        let (maps, origin) = merge_dictionaries(&parts);
        assert_eq!(maps, vec![vec![0, 1], vec![2, 1], vec![3, 0]]);
        assert_eq!(origin, vec![(0, 0), (0, 1), (1, 0), (2, 0)]);
    }

    #[test]
    fn local_strings_are_equal_text() {
        let shared: Arc<str> = Arc::from("powershell.exe");
        let cells: Vec<Arc<str>> = (0..20).map(|_| shared.clone()).collect();
        let mut local = LocalStrings::new();
        let copies: Vec<Arc<str>> = cells.iter().map(|c| local.clone_of(c)).collect();
        assert!(copies.iter().all(|c| &**c == "powershell.exe"));
        // One private copy serves every clone.
        assert!(Arc::ptr_eq(&copies[0], &copies[19]) && !Arc::ptr_eq(&copies[0], &shared));
    }
}
