//! Where things are in the archive's object store:
//!
//! ```text
//! tenant=<id>/table=<Table>/date=YYYY-MM-DD/part-<seq>.parquet      one flush of the writer
//! tenant=<id>/table=<Table>/date=YYYY-MM-DD/part-<seq>-c.parquet    a compaction of every part <= seq
//! _checkpoints/<stream>.json                                        the writer's last flush and its offsets
//! ```
//!
//! Hive-style `key=value` directories, so DuckDB or Spark read the same tree with partition
//! columns. `<seq>` is the writer's flush number, zero-padded so names sort in flush order. A
//! compacted file names the highest flush it contains: every part at or below it is garbage
//! (left by a compaction that stopped before deleting its inputs), and readers skip it.

use hunt::value::{TICKS_PER_DAY, UNIX_EPOCH_TICKS};
use object_store::path::Path;

/// One tenant × table × day.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub tenant: String,
    pub table: String,
    /// Days since 1970-01-01.
    pub day: i64,
}

impl Partition {
    pub fn prefix(&self) -> Path {
        Path::from(format!("tenant={}/table={}/date={}", self.tenant, self.table, date_text(self.day)))
    }

    pub fn part(&self, seq: u64) -> Path {
        self.prefix().join(format!("part-{seq:012}.parquet"))
    }

    pub fn compacted(&self, seq: u64) -> Path {
        self.prefix().join(format!("part-{seq:012}-c.parquet"))
    }

    /// The partition a file path lies in, if it is a data file of the archive.
    pub fn of_path(path: &Path) -> Option<(Partition, PartFile)> {
        let mut parts = path.parts();
        let tenant = parts.next()?.as_ref().strip_prefix("tenant=")?.to_string();
        let table = parts.next()?.as_ref().strip_prefix("table=")?.to_string();
        let day = parse_date(parts.next()?.as_ref().strip_prefix("date=")?)?;
        let file = PartFile::parse(parts.next()?.as_ref())?;
        parts.next().is_none().then_some((Partition { tenant, table, day }, file))
    }
}

/// A data file's name, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartFile {
    pub seq: u64,
    pub compacted: bool,
}

impl PartFile {
    fn parse(name: &str) -> Option<PartFile> {
        let stem = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
        let (digits, compacted) = match stem.strip_suffix("-c") {
            Some(d) => (d, true),
            None => (stem, false),
        };
        Some(PartFile { seq: digits.parse().ok()?, compacted })
    }
}

/// The files of one partition a reader should read: the newest compaction and the parts
/// flushed after it.
pub fn live_files(mut files: Vec<(Path, PartFile)>) -> Vec<(Path, PartFile)> {
    let floor = files.iter().filter(|(_, f)| f.compacted).map(|(_, f)| f.seq).max();
    files.retain(|(_, f)| match floor {
        Some(c) => (f.compacted && f.seq == c) || (!f.compacted && f.seq > c),
        None => true,
    });
    files.sort_by_key(|(_, f)| (f.seq, !f.compacted));
    files
}

pub fn checkpoint(stream: &str) -> Path {
    let safe: String = stream.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    Path::from(format!("_checkpoints/{safe}.json"))
}

/// Ticks since 0001-01-01 → days since 1970-01-01 (floor).
pub fn day_of_ticks(t: i64) -> i64 {
    (t - UNIX_EPOCH_TICKS).div_euclid(TICKS_PER_DAY)
}

/// The first tick of a day.
pub fn day_start_ticks(day: i64) -> i64 {
    UNIX_EPOCH_TICKS + day * TICKS_PER_DAY
}

/// `YYYY-MM-DD` of a day number.
pub fn date_text(day: i64) -> String {
    let date = time::Date::from_julian_day(UNIX_JULIAN_DAY + day as i32)
        .unwrap_or_else(|_| time::Date::from_julian_day(UNIX_JULIAN_DAY).expect("1970-01-01 is a date"));
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

pub fn parse_date(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt).ok()?;
    Some(i64::from(d.to_julian_day() - UNIX_JULIAN_DAY))
}

/// Julian day number of 1970-01-01.
const UNIX_JULIAN_DAY: i32 = 2_440_588;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let p = Partition {
            tenant: "t1".into(),
            table: "DeviceProcessEvents".into(),
            day: parse_date("2026-12-07").unwrap(),
        };
        assert_eq!(p.part(7).as_ref(), "tenant=t1/table=DeviceProcessEvents/date=2026-12-07/part-000000000007.parquet");
        assert_eq!(Partition::of_path(&p.compacted(9)), Some((p.clone(), PartFile { seq: 9, compacted: true })));
        assert_eq!(Partition::of_path(&Path::from("tenant=t1/x.json")), None);
        let t = hunt::value::parse_datetime("2026-12-07T23:59:59Z").unwrap();
        assert_eq!(day_of_ticks(t), p.day);
        assert_eq!(date_text(day_of_ticks(day_start_ticks(p.day))), "2026-12-07");
    }

    #[test]
    fn a_compaction_hides_the_parts_it_contains() {
        let f = |seq, compacted| (Path::from(format!("{seq}{compacted}")), PartFile { seq, compacted });
        let live = live_files(vec![f(1, false), f(2, false), f(2, true), f(1, true), f(3, false)]);
        let seqs: Vec<_> = live.iter().map(|(_, f)| (f.seq, f.compacted)).collect();
        assert_eq!(seqs, vec![(2, true), (3, false)]);
    }
}
