//! Library file names: what MDE's library and every blob backend accept without escaping.

use crate::LibraryError;

/// Longest file name accepted.
pub const MAX_NAME_CHARS: usize = 128;

/// A library file name: 1–128 characters of letters, digits, `.`, `_` and `-`, not starting
/// with `.` (no hidden files, no `..`). `field` is the input that carried the name, for the error.
pub fn check_name(name: &str, field: &'static str) -> Result<(), LibraryError> {
    let bad = |message: String| LibraryError::InvalidName {
        field,
        message,
        hint: "use letters, digits, '.', '_' and '-' only, e.g. \"collect-triage.ps1\" (at most 128 characters)"
            .to_string(),
    };
    if name.is_empty() {
        return Err(bad("is empty".into()));
    }
    let count = name.chars().count();
    if count > MAX_NAME_CHARS {
        return Err(bad(format!("is {count} characters long; at most {MAX_NAME_CHARS} allowed")));
    }
    if name.starts_with('.') {
        return Err(bad(format!("'{}' starts with '.'", shorten(name))));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(bad(format!("'{}' contains '{}'", shorten(name), c.escape_default())));
    }
    Ok(())
}

/// A safe library name for a file retrieved from a device path (`C:\\Logs\\a b.evtx` →
/// `a_b.evtx`): the last path segment, other characters replaced by `_`, never empty.
pub fn sanitize(device_path: &str) -> String {
    let leaf = device_path.rsplit(['\\', '/']).next().unwrap_or("");
    let mut out: String = leaf
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .take(MAX_NAME_CHARS)
        .collect();
    while out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() { "file".to_string() } else { out }
}

fn shorten(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("collect-triage.ps1", "fileName").is_ok());
        for bad in ["", ".hidden", "../x", "a/b", "a b", "ü.ps1", &"x".repeat(129)] {
            let err = check_name(bad, "fileName").unwrap_err();
            assert!(matches!(err, LibraryError::InvalidName { field: "fileName", .. }), "{bad}");
        }
    }

    #[test]
    fn device_paths_become_safe_names() {
        assert_eq!(sanitize(r"C:\Windows\Temp\a b.evtx"), "a_b.evtx");
        assert_eq!(sanitize("/var/log/syslog"), "syslog");
        assert_eq!(sanitize(r"C:\dir\"), "file");
        assert_eq!(sanitize(".."), "_.");
        assert!(check_name(&sanitize(r"C:\x\..\weird:name?.txt"), "f").is_ok());
    }
}
