//! File hashes as the scanner keys them: one algorithm, lower-case hex of the right length.
//!
//! Defender fills `SHA1` most often and `SHA256` rarely; MD5 only ever arrives inside
//! `AdditionalFields` (enrichment.md §3.2). A value that is empty, all zeros or not hex of the
//! algorithm's length is not a hash and is dropped rather than looked up.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The three algorithms the threat-intelligence providers accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
}

impl HashKind {
    pub const ALL: [HashKind; 3] = [HashKind::Md5, HashKind::Sha1, HashKind::Sha256];

    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
        }
    }

    /// Hex digits in a value of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            HashKind::Md5 => 32,
            HashKind::Sha1 => 40,
            HashKind::Sha256 => 64,
        }
    }

    /// The algorithm a name stands for: `SHA1`, `sha-256`, `FileHashMd5`, `Sha256Hash`...
    /// (`Sha256ac`, Microsoft's Authenticode hash, is not a file hash and is refused.)
    pub fn from_name(name: &str) -> Option<HashKind> {
        let n: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        if n.contains("sha256ac") {
            None
        } else if n.contains("sha256") {
            Some(HashKind::Sha256)
        } else if n.contains("sha1") {
            Some(HashKind::Sha1)
        } else if n.contains("md5") {
            Some(HashKind::Md5)
        } else {
            None
        }
    }

    /// The algorithm whose length this hex value has.
    pub fn from_len(len: usize) -> Option<HashKind> {
        HashKind::ALL.into_iter().find(|k| k.hex_len() == len)
    }

    pub fn parse(s: &str) -> Option<HashKind> {
        HashKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A normalised file hash. Construct with [`FileHash::new`] or [`FileHash::guess`], so every value
/// in the system is trimmed, lower-case, of its algorithm's length and not all zeros.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileHash {
    pub kind: HashKind,
    pub value: String,
}

impl FileHash {
    /// `None` when `raw` is empty, all zeros, not hex, or not `kind`'s length.
    pub fn new(kind: HashKind, raw: &str) -> Option<FileHash> {
        let value = raw.trim().to_ascii_lowercase();
        let hex = value.len() == kind.hex_len() && value.bytes().all(|b| b.is_ascii_hexdigit());
        let zero = value.bytes().all(|b| b == b'0');
        (hex && !zero).then_some(FileHash { kind, value })
    }

    /// A hash whose algorithm is told by its length (CLI and API input).
    pub fn guess(raw: &str) -> Option<FileHash> {
        HashKind::from_len(raw.trim().len()).and_then(|k| FileHash::new(k, raw))
    }
}

impl fmt::Display for FileHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses_non_hashes() {
        let h = FileHash::new(HashKind::Sha1, " D481DFAE3461AFC11D7441B5B83C8411E079ACE8 ").expect("valid");
        assert_eq!(h.value, "d481dfae3461afc11d7441b5b83c8411e079ace8");
        assert_eq!(FileHash::new(HashKind::Sha1, ""), None);
        assert_eq!(FileHash::new(HashKind::Sha1, &"0".repeat(40)), None);
        assert_eq!(FileHash::new(HashKind::Md5, "d481dfae3461afc11d7441b5b83c8411e079ace8"), None);
        assert_eq!(FileHash::new(HashKind::Md5, "zz5e620855918916962d8fc9e144c705e"), None);
        assert_eq!(FileHash::guess("85e620855918916962d8fc9e144c705e").map(|h| h.kind), Some(HashKind::Md5));
    }

    #[test]
    fn names_of_algorithms() {
        assert_eq!(HashKind::from_name("SHA256"), Some(HashKind::Sha256));
        assert_eq!(HashKind::from_name("FileHashMd5"), Some(HashKind::Md5));
        assert_eq!(HashKind::from_name("sha-1"), Some(HashKind::Sha1));
        assert_eq!(HashKind::from_name("Sha256Ac"), None);
        assert_eq!(HashKind::from_name("MergeByKeyHex"), None);
    }
}
