//! Ignition's validation rules for what os-coreos puts into a config: unit and drop-in names,
//! systemd INI syntax, absolute, simplified and unique paths, base64 that decodes, and no file
//! where a unit or drop-in is written.
//! Each message names the unit or file.

use crate::ignition::{Content, FileSpec, UnitSpec};
use base64::Engine;
use std::collections::BTreeSet;

/// systemd unit suffixes Ignition accepts.
pub const UNIT_SUFFIXES: &[&str] = &[
    ".service",
    ".socket",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".target",
    ".path",
    ".timer",
    ".snapshot",
    ".slice",
    ".scope",
];

/// A line-level check of systemd's INI format: sections, `key=value`, comments, continuations.
fn ini_error(contents: &str) -> Option<String> {
    let mut continued = false;
    for (n, line) in contents.lines().enumerate() {
        let text = line.trim();
        let ok = continued
            || text.is_empty()
            || text.starts_with('#')
            || text.starts_with(';')
            || (text.starts_with('[') && text.ends_with(']'))
            || text
                .split_once('=')
                .is_some_and(|(key, _)| !key.trim().is_empty());
        if !ok {
            return Some(format!(
                "line {}: not a section, key=value or comment",
                n + 1
            ));
        }
        continued = text.ends_with('\\');
    }
    None
}

/// All violations, empty when the config is valid.
pub fn check(files: &[&FileSpec], links: &[&str], units: &[&UnitSpec]) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut units_seen = BTreeSet::new();
    let mut systemd_paths = BTreeSet::new();
    for unit in units {
        if !UNIT_SUFFIXES.iter().any(|s| unit.name.ends_with(s)) {
            errors.push(format!(
                "unit {:?}: invalid systemd unit extension",
                unit.name
            ));
        }
        if !units_seen.insert(unit.name.as_str()) {
            errors.push(format!("unit {:?}: duplicate entry defined", unit.name));
        }
        if let Some(contents) = &unit.contents {
            systemd_paths.insert(format!("/etc/systemd/system/{}", unit.name));
            if let Some(e) = ini_error(contents) {
                errors.push(format!("unit {:?}: invalid unit content: {e}", unit.name));
            }
        }
        for (name, contents) in &unit.dropins {
            if !name.ends_with(".conf") {
                errors.push(format!(
                    "unit {:?} drop-in {name:?}: invalid systemd unit dropin extension",
                    unit.name
                ));
            }
            systemd_paths.insert(format!("/etc/systemd/system/{}.d/{name}", unit.name));
            if let Some(e) = ini_error(contents) {
                errors.push(format!(
                    "unit {:?} drop-in {name:?}: invalid unit content: {e}",
                    unit.name
                ));
            }
        }
    }
    for file in files {
        // Ignition reads the source as a data URL: base64 passed through must decode, and must
        // not carry line breaks or other control characters (not a URL then).
        if let Content::Base64(data) = &file.content
            && let Err(e) = base64::engine::general_purpose::STANDARD.decode(data)
        {
            errors.push(format!("file {:?}: invalid base64 content: {e}", file.path));
        }
    }
    let mut paths = BTreeSet::new();
    for path in files
        .iter()
        .map(|f| f.path.as_str())
        .chain(links.iter().copied())
    {
        if !path.starts_with('/') {
            errors.push(format!("file {path:?}: path not absolute"));
        } else if !is_simplified(path) {
            errors.push(format!("file {path:?}: path is not fully simplified"));
        }
        if !paths.insert(path) {
            errors.push(format!("file {path:?}: duplicate entry defined"));
        }
        if systemd_paths.contains(path) {
            errors.push(format!(
                "file {path:?}: path conflicts with systemd unit or dropin"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Whether an absolute path is what Go's `path.Clean` makes of it (Ignition rejects others): no
/// empty, `.` or `..` segment and no trailing slash.
fn is_simplified(path: &str) -> bool {
    path == "/"
        || path
            .strip_prefix('/')
            .is_some_and(|rest| rest.split('/').all(|s| !matches!(s, "" | "." | "..")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_simplified_as_go_cleans_them() {
        for clean in ["/", "/a", "/a/b.c", "/a/..b/.c"] {
            assert!(is_simplified(clean), "{clean}");
        }
        for dirty in ["//a", "/a/", "/a//b", "/a/./b", "/a/../b", "/.", "/.."] {
            assert!(!is_simplified(dirty), "{dirty}");
        }
    }

    #[test]
    fn ini_accepts_systemd_and_rejects_prose() {
        assert_eq!(
            ini_error("[Unit]\nDescription=x\n# comment\nExecStart=/bin/a \\\n  --flag\n"),
            None
        );
        assert!(ini_error("[Unit]\nthis is prose\n").is_some());
    }
}
