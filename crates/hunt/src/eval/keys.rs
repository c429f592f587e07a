//! Typed hash keys for `summarize`, `join` and `distinct`-style grouping.
//!
//! The generic path builds a `Vec<Value>` per row (an allocation, refcount traffic and a
//! SipHash over the value). Here a key column is read as its typed slice (`&str`,
//! `Option<i64>`, …) and mapped to dense `u32` ids — numbered by first appearance, so
//! results keep the generic path's group order — with a fast multiplicative hash and no
//! per-row allocation. Several key columns combine pairwise into one id.
//!
//! Equality matches the generic path for the storage kinds handled (strings by content,
//! null equal to null); reals (NaN, ±0) and dynamics are left to the generic path.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use crate::table::ColumnData;

/// The multiply-rotate hash used by rustc (FxHash): not DoS resistant, which does not matter
/// for keys of a query the caller runs over its own data, and several times faster than SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    /// The product's high bits depend on every input bit, its low bits only on the input's low
    /// bits; hashbrown picks the bucket from the low bits. Keys whose low bits hardly vary
    /// (datetimes binned to whole seconds end in zero bits; paired ids `a << 32 | b` vary only
    /// by `b` there) would all land in a few buckets, so the well-mixed high half is rotated
    /// down (as rustc-hash 2 does).
    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxMap<K, V> = HashMap<K, V, FxBuild>;

/// Whether a column's storage can be keyed here.
pub(crate) fn keyable(c: &ColumnData) -> bool {
    matches!(
        c,
        ColumnData::Bool(_)
            | ColumnData::Int(_)
            | ColumnData::Long(_)
            | ColumnData::String(_)
            | ColumnData::DateTime(_)
            | ColumnData::TimeSpan(_)
            | ColumnData::Guid(_)
    )
}

/// Whether two columns' values compare by the same typed equality (same storage kind; for
/// datetime vs timespan the generic path never equates them either).
pub(crate) fn same_kind(a: &ColumnData, b: &ColumnData) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b) && keyable(a)
}

/// Which rows of a column an id pass walks: a contiguous range (a partition of the input, see
/// [`super::parallel`]) or an explicit list.
#[derive(Clone, Copy)]
pub(crate) enum RowSet<'a> {
    Range(usize, usize),
    List(&'a [usize]),
}

impl RowSet<'_> {
    /// `rows`, or every row of an `n`-row column when `None`.
    pub(crate) fn of(rows: Option<&[usize]>, n: usize) -> RowSet<'_> {
        rows.map_or(RowSet::Range(0, n), RowSet::List)
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            RowSet::Range(a, b) => b - a,
            RowSet::List(l) => l.len(),
        }
    }

    /// The `k`-th row of the set.
    #[inline]
    pub(crate) fn get(&self, k: usize) -> usize {
        match self {
            RowSet::Range(a, _) => a + k,
            RowSet::List(l) => l[k],
        }
    }
}

/// Dense ids for the rows `rows` (all rows when `None`) of one column: `(ids, first row of
/// each id)`; `None` if the storage kind is not keyable.
#[cfg(test)]
pub(crate) fn dense_ids(c: &ColumnData, rows: Option<&[usize]>) -> Option<(Vec<u32>, Vec<usize>)> {
    dense_ids_in(c, RowSet::of(rows, c.len()))
}

/// [`dense_ids`] over a [`RowSet`]; `first` holds row numbers of the column.
pub(crate) fn dense_ids_in(c: &ColumnData, rows: RowSet<'_>) -> Option<(Vec<u32>, Vec<usize>)> {
    fn go<'a, K: Hash + Eq + 'a>(key: impl Fn(usize) -> K, rows: RowSet<'_>) -> (Vec<u32>, Vec<usize>) {
        let mut map: FxMap<K, u32> = FxMap::default();
        let mut first = Vec::new();
        let mut ids = Vec::with_capacity(rows.len());
        for k in 0..rows.len() {
            let r = rows.get(k);
            let next = first.len() as u32;
            let id = *map.entry(key(r)).or_insert(next);
            if id == next {
                first.push(r);
            }
            ids.push(id);
        }
        (ids, first)
    }
    Some(match c {
        ColumnData::String(v) => string_ids(v, rows),
        ColumnData::Bool(v) => go(|r| v[r], rows),
        ColumnData::Int(v) => go(|r| v[r], rows),
        ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v) => go(|r| v[r], rows),
        ColumnData::Guid(v) => go(|r| v[r], rows),
        _ => return None,
    })
}

/// Address of a shared string: equal addresses mean equal text (strings are immutable and
/// kept alive by the column), so a pointer lookup can stand in for hashing the text.
#[inline]
fn addr(s: &std::sync::Arc<str>) -> usize {
    std::sync::Arc::as_ptr(s) as *const u8 as usize
}

/// Dense ids of a string column. Strings copied by `where` / `join` / generators share one
/// allocation per distinct value, so rows are first looked up by address (an integer hash)
/// and only a new address hashes the text. When addresses turn out mostly distinct (text
/// parsed cell by cell) the address map stops paying for itself and is dropped.
fn string_ids(v: &[std::sync::Arc<str>], rows: RowSet<'_>) -> (Vec<u32>, Vec<usize>) {
    let len = rows.len();
    let mut by_text: FxMap<&str, u32> = FxMap::default();
    let mut by_addr: Option<FxMap<usize, u32>> = Some(FxMap::default());
    let mut first = Vec::new();
    let mut ids = Vec::with_capacity(len);
    let mut addr_misses = 0usize;
    for k in 0..len {
        let r = rows.get(k);
        let s = &v[r];
        if let Some(m) = by_addr.as_mut() {
            if let Some(&id) = m.get(&addr(s)) {
                ids.push(id);
                continue;
            }
            addr_misses += 1;
            if k >= 4096 && addr_misses * 2 > k {
                by_addr = None;
            }
        }
        let next = first.len() as u32;
        let id = *by_text.entry(&**s).or_insert(next);
        if id == next {
            first.push(r);
        }
        if let Some(m) = by_addr.as_mut() {
            m.insert(addr(s), id);
        }
        ids.push(id);
    }
    (ids, first)
}

/// Combines two id vectors (`b` has ids below `nb`) into dense ids of the pairs, numbered by
/// first appearance; returns the ids and how many there are.
pub(crate) fn combine(a: &[u32], b: &[u32], nb: usize) -> (Vec<u32>, usize) {
    let na = a.iter().copied().max().map_or(0, |m| m as usize + 1);
    let (out, next, _) = combine_indexed(a, na, b, nb);
    (out, next)
}

/// Where [`combine_indexed`] keeps its pairs, so a probe can look a pair up afterwards.
pub(crate) enum PairIndex {
    /// A direct table over the whole `na × nb` pair space (`u32::MAX` = absent).
    Table {
        slot: Vec<u32>,
        nb: usize,
    },
    Map(FxMap<u64, u32>),
}

impl PairIndex {
    #[inline]
    pub(crate) fn get(&self, a: u32, b: u32) -> Option<u32> {
        match self {
            PairIndex::Table { slot, nb } => {
                let id = *slot.get(a as usize * nb + b as usize)?;
                (id != u32::MAX).then_some(id)
            }
            PairIndex::Map(m) => m.get(&(((a as u64) << 32) | b as u64)).copied(),
        }
    }
}

/// [`combine`] for `a` with ids below `na`, also returning the pair index. The pair space is
/// a direct table when it is small, or not much larger than the input (a table of `8 × len`
/// slots is cheaper to fill than a hash map of `len` pairs is to grow); a hash map otherwise.
pub(crate) fn combine_indexed(a: &[u32], na: usize, b: &[u32], nb: usize) -> (Vec<u32>, usize, PairIndex) {
    let mut out = Vec::with_capacity(a.len());
    let mut next = 0u32;
    let space = na.saturating_mul(nb);
    if space <= (1usize << 22).max(a.len().saturating_mul(8)) {
        let mut slot = vec![u32::MAX; space];
        for (&x, &y) in a.iter().zip(b) {
            let s = &mut slot[x as usize * nb + y as usize];
            if *s == u32::MAX {
                *s = next;
                next += 1;
            }
            out.push(*s);
        }
        (out, next as usize, PairIndex::Table { slot, nb })
    } else {
        let mut map: FxMap<u64, u32> = FxMap::default();
        for (&x, &y) in a.iter().zip(b) {
            let id = *map.entry(((x as u64) << 32) | y as u64).or_insert(next);
            if id == next {
                next += 1;
            }
            out.push(id);
        }
        (out, next as usize, PairIndex::Map(map))
    }
}

/// Group ids over several key columns (rows `rows`, or all): `(ids, group count, first row
/// of each group)`. `None` when a column is not keyable. With no columns every row is group 0.
pub(crate) fn group_ids(
    cols: &[&ColumnData],
    n: usize,
    rows: Option<&[usize]>,
) -> Option<(Vec<u32>, usize, Vec<usize>)> {
    group_ids_in(cols, RowSet::of(rows, n))
}

/// [`group_ids`] over a [`RowSet`].
pub(crate) fn group_ids_in(cols: &[&ColumnData], rows: RowSet<'_>) -> Option<(Vec<u32>, usize, Vec<usize>)> {
    let len = rows.len();
    let Some((first_col, rest)) = cols.split_first() else {
        return Some((vec![0; len], usize::from(len > 0), if len > 0 { vec![rows.get(0)] } else { vec![] }));
    };
    let (mut ids, mut first) = dense_ids_in(first_col, rows)?;
    let mut count = first.len();
    for c in rest {
        let (b, bfirst) = dense_ids_in(c, rows)?;
        let (combined, k) = combine(&ids, &b, bfirst.len());
        ids = combined;
        count = k;
    }
    if !rest.is_empty() {
        // First row per combined id, in id order (ids are numbered by first appearance).
        first = Vec::with_capacity(count);
        for (i, &id) in ids.iter().enumerate() {
            if id as usize == first.len() {
                first.push(rows.get(i));
            }
        }
    }
    Some((ids, count, first))
}

/// Join keys in one id space: the `build` side's rows are numbered by first appearance of
/// their key, and the `probe` side's rows looked up (so only the build side's distinct keys are
/// ever put in a table). Returns `(build ids, probe ids, key count)`; a probe id is `None` when
/// its key is not on the build side. `None` when the sides' key columns are not the same
/// keyable kind.
///
/// Column by column: each build column gets dense ids (on every core when the build side is
/// whole columns, see [`super::parallel::group_ids`]) and a map from its distinct values to
/// those ids; columns after the first pair the running ids with theirs ([`combine_indexed`]).
/// A probe row is then one value lookup per column and one pair lookup per further column,
/// every core taking a range of probe rows.
pub(crate) fn join_ids(
    build: &[&ColumnData],
    build_rows: &[usize],
    probe: &[&ColumnData],
    probe_n: usize,
) -> Option<(Vec<u32>, Vec<Option<u32>>, usize)> {
    if build.len() != probe.len() || build.is_empty() || !build.iter().zip(probe).all(|(a, b)| same_kind(a, b)) {
        return None;
    }
    let whole =
        build_rows.iter().enumerate().all(|(i, &r)| i == r) && build.iter().all(|c| c.len() == build_rows.len());
    let mut maps: Vec<KeyMap<'_>> = Vec::with_capacity(build.len());
    let mut pairs: Vec<PairIndex> = Vec::with_capacity(build.len().saturating_sub(1));
    let mut bids: Vec<u32> = Vec::new();
    let mut count = 0usize;
    for (k, bc) in build.iter().enumerate() {
        let (ids, distinct, first) = if whole {
            super::parallel::group_ids(&[*bc], build_rows.len())?
        } else {
            let (ids, first) = dense_ids_in(bc, RowSet::List(build_rows))?;
            (ids, first.len(), first)
        };
        maps.push(KeyMap::new(bc, &first)?);
        if k == 0 {
            (bids, count) = (ids, distinct);
        } else {
            let (combined, n, index) = combine_indexed(&bids, count, &ids, distinct);
            (bids, count) = (combined, n);
            pairs.push(index);
        }
    }
    let (maps, pairs) = (&maps, &pairs);
    let probe_n = probe_n.min(probe.iter().map(|c| c.len()).min().unwrap_or(0));
    let parts: Vec<Option<Vec<Option<u32>>>> = super::parallel::map_partitions(probe_n, |rows| {
        let mut ids = maps[0].probe(probe[0], rows.clone())?;
        for ((map, col), index) in maps[1..].iter().zip(&probe[1..]).zip(pairs) {
            let this = map.probe(col, rows.clone())?;
            for (id, b) in ids.iter_mut().zip(this) {
                *id = match (*id, b) {
                    (Some(a), Some(b)) => index.get(a, b),
                    _ => None,
                };
            }
        }
        Some(ids)
    });
    let pids = super::parallel::concat(parts.into_iter().collect::<Option<Vec<_>>>()?);
    Some((bids, pids, count))
}

/// A build column's distinct values (taken at `first`, the first row of each id) mapped to
/// their ids, for probing with a column of the same kind.
enum KeyMap<'a> {
    Bool(FxMap<Option<bool>, u32>),
    Int(FxMap<Option<i32>, u32>),
    Long(FxMap<Option<i64>, u32>),
    Str(FxMap<&'a str, u32>),
    Guid(FxMap<Option<u128>, u32>),
}

impl<'a> KeyMap<'a> {
    fn new(c: &'a ColumnData, first: &[usize]) -> Option<KeyMap<'a>> {
        fn go<K: Hash + Eq>(key: impl Fn(usize) -> K, first: &[usize]) -> FxMap<K, u32> {
            let mut map = FxMap::default();
            map.reserve(first.len());
            for (id, &r) in first.iter().enumerate() {
                map.insert(key(r), id as u32);
            }
            map
        }
        Some(match c {
            ColumnData::Bool(v) => KeyMap::Bool(go(|r| v[r], first)),
            ColumnData::Int(v) => KeyMap::Int(go(|r| v[r], first)),
            ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v) => {
                KeyMap::Long(go(|r| v[r], first))
            }
            ColumnData::String(v) => KeyMap::Str(go(|r| &*v[r], first)),
            ColumnData::Guid(v) => KeyMap::Guid(go(|r| v[r], first)),
            _ => return None,
        })
    }

    /// Ids of the probe column's `rows` (`None`: the value is not on the build side); `None`
    /// when the probe column is of another kind.
    fn probe(&self, c: &ColumnData, rows: std::ops::Range<usize>) -> Option<Vec<Option<u32>>> {
        fn go<K: Hash + Eq>(map: &FxMap<K, u32>, v: &[K]) -> Vec<Option<u32>> {
            v.iter().map(|k| map.get(k).copied()).collect()
        }
        Some(match (self, c) {
            (KeyMap::Bool(m), ColumnData::Bool(v)) => go(m, &v[rows]),
            (KeyMap::Int(m), ColumnData::Int(v)) => go(m, &v[rows]),
            (KeyMap::Long(m), ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v)) => {
                go(m, &v[rows])
            }
            (KeyMap::Guid(m), ColumnData::Guid(v)) => go(m, &v[rows]),
            (KeyMap::Str(m), ColumnData::String(v)) => probe_strings(m, &v[rows]),
            _ => return None,
        })
    }
}

/// String probes, looked up by address first (see [`string_ids`]); misses, including keys
/// absent from the build side, fall back to the text.
fn probe_strings(map: &FxMap<&str, u32>, probe: &[std::sync::Arc<str>]) -> Vec<Option<u32>> {
    let mut by_addr: Option<FxMap<usize, Option<u32>>> = Some(FxMap::default());
    let mut misses = 0usize;
    let mut pids = Vec::with_capacity(probe.len());
    for (k, s) in probe.iter().enumerate() {
        if let Some(m) = by_addr.as_ref() {
            if let Some(&id) = m.get(&addr(s)) {
                pids.push(id);
                continue;
            }
            misses += 1;
            if k >= 4096 && misses * 2 > k {
                by_addr = None;
            }
        }
        let id = map.get(&**s).copied();
        if let Some(m) = by_addr.as_mut() {
            m.insert(addr(s), id);
        }
        pids.push(id);
    }
    pids
}

/// Per-id row lists in compressed form (counting sort, stable): rows of id `k` are
/// `rows[start[k]..start[k + 1]]`, in ascending row order.
pub(crate) struct Buckets {
    pub start: Vec<usize>,
    pub rows: Vec<usize>,
}

impl Buckets {
    /// [`Buckets::new`] on every core for long inputs: each partition counts its rows per
    /// id, the counts give every (id, partition) pair its own slice of the output (partition
    /// slices of one id in partition order, so each id's rows stay ascending), and the
    /// partitions fill their slices at the same time. One pass when there are so many ids
    /// that per-partition counts would outweigh the rows.
    pub fn build(ids: &[Option<u32>], count: usize) -> Buckets {
        let parts = super::parallel::partitions(ids.len());
        if parts.len() <= 1 || count.saturating_mul(parts.len()) > ids.len() {
            return Buckets::new(ids, count);
        }
        let counts: Vec<Vec<usize>> = super::parallel::run(parts.clone(), |r| {
            let mut c = vec![0usize; count];
            for id in ids[r].iter().flatten() {
                c[*id as usize] += 1;
            }
            c
        });
        let mut start = vec![0usize; count + 1];
        for k in 0..count {
            start[k + 1] = start[k] + counts.iter().map(|c| c[k]).sum::<usize>();
        }
        let mut rows = vec![0usize; start[count]];
        // Carve the output into per-partition slices: for each id, partition 0's rows, then 1's, ...
        let mut slices: Vec<Vec<&mut [usize]>> = (0..parts.len()).map(|_| Vec::with_capacity(count)).collect();
        let mut rest: &mut [usize] = &mut rows;
        for k in 0..count {
            for (p, c) in counts.iter().enumerate() {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(c[k]);
                slices[p].push(head);
                rest = tail;
            }
        }
        let tasks: Vec<(std::ops::Range<usize>, Vec<&mut [usize]>)> = parts.into_iter().zip(slices).collect();
        super::parallel::run(tasks, |(r, mut out)| {
            let mut fill = vec![0usize; count];
            for row in r {
                if let Some(id) = ids[row] {
                    let k = id as usize;
                    out[k][fill[k]] = row;
                    fill[k] += 1;
                }
            }
        });
        Buckets { start, rows }
    }

    pub fn new(ids: &[Option<u32>], count: usize) -> Buckets {
        let mut start = vec![0usize; count + 1];
        for id in ids.iter().flatten() {
            start[*id as usize + 1] += 1;
        }
        for k in 0..count {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut rows = vec![0usize; start[count]];
        for (r, id) in ids.iter().enumerate() {
            if let Some(id) = id {
                let f = &mut fill[*id as usize];
                rows[*f] = r;
                *f += 1;
            }
        }
        Buckets { start, rows }
    }

    pub fn get(&self, id: u32) -> &[usize] {
        let k = id as usize;
        &self.rows[self.start[k]..self.start[k + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ids_follow_first_appearance_and_combine() {
        let s = ColumnData::String(["b", "a", "b", "c", "a"].iter().map(|x| Arc::from(*x)).collect());
        let l = ColumnData::Long(vec![Some(1), Some(1), None, Some(1), Some(1)]);
        let (ids, first) = dense_ids(&s, None).expect("keyable");
        assert_eq!(ids, vec![0, 1, 0, 2, 1]);
        assert_eq!(first, vec![0, 1, 3]);
        let (g, n, first) = group_ids(&[&s, &l], 5, None).expect("keyable");
        assert_eq!((g, n, first), (vec![0, 1, 2, 3, 1], 4, vec![0, 1, 2, 3]));
        let (g, n, first) = group_ids(&[&s], 5, Some(&[3, 4, 1])).expect("keyable");
        assert_eq!((g, n, first), (vec![0, 1, 1], 2, vec![3, 4]));
        assert!(dense_ids(&ColumnData::Real(vec![Some(1.0)]), None).is_none());
    }

    #[test]
    fn join_ids_share_one_space() {
        let b = ColumnData::String(["x", "y", "x"].iter().map(|x| Arc::from(*x)).collect());
        let p = ColumnData::String(["y", "z", "x"].iter().map(|x| Arc::from(*x)).collect());
        let (bids, pids, n) = join_ids(&[&b], &[0, 1, 2], &[&p], 3).expect("same kind");
        assert_eq!((bids, pids, n), (vec![0, 1, 0], vec![Some(1), None, Some(0)], 2));
        let buckets = Buckets::new(&[Some(1), None, Some(0), Some(1)], 2);
        assert_eq!(buckets.get(1), &[0, 3]);
        assert_eq!(buckets.get(0), &[2]);
        assert!(join_ids(&[&b], &[0], &[&ColumnData::Long(vec![Some(1)])], 1).is_none());
    }
}
