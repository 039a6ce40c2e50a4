//! The node installer script (`installer/install-gvisor-containerd.sh`), rendered for one worker
//! pool: the binary directory and the runsc configuration are filled in.

use crate::config::flags_toml;

const TEMPLATE: &str = include_str!("../installer/install-gvisor-containerd.sh");

/// Why a script cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum InstallerError {
    /// `spec.binaryPath` is not a clean absolute path.
    #[error("binaryPath {0:?} must be an absolute path of letters, digits, '/', '.', '_' and '-'")]
    BinaryPath(String),
}

/// `/etc/containerd/runsc.toml`: `[runsc_config]` and the flags, two-space indented.
pub fn runsc_toml(flags: &[(String, String)]) -> String {
    let mut out = String::from("[runsc_config]\n");
    for line in flags_toml(flags).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn check_binary_path(path: &str) -> Result<&str, InstallerError> {
    let clean = path.starts_with('/')
        && !path.contains("..")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
    if clean {
        Ok(path)
    } else {
        Err(InstallerError::BinaryPath(path.into()))
    }
}

/// The script for binaries in `binary_path` and the given runsc flags.
///
/// # Errors
/// [`InstallerError::BinaryPath`] for a path that could break out of its shell quoting.
pub fn script(binary_path: &str, flags: &[(String, String)]) -> Result<String, InstallerError> {
    let bin_dir = check_binary_path(binary_path)?;
    let toml = runsc_toml(flags);
    Ok(TEMPLATE
        .replace("__BIN_DIR__", &format!("'{bin_dir}'"))
        .replace("__RUNSC_TOML__\n", &toml))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_path_and_the_flags() {
        let flags = vec![("net-raw".to_string(), "true".to_string())];
        let s = script("/var/bin/containerruntimes", &flags).unwrap();
        assert!(s.contains("BIN_DIR='/var/bin/containerruntimes'\n"));
        assert!(
            s.contains("<<'RUNSC_TOML'\n[runsc_config]\n  net-raw = \"true\"\nRUNSC_TOML\n"),
            "{s}"
        );
        assert!(!s.contains("__"), "every placeholder filled");
        for bad in [
            "relative",
            "/a b",
            "/x'y",
            "/a/../b",
            "/a\n/b",
            "/$(reboot)",
        ] {
            assert!(script(bad, &flags).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn runsc_toml_is_toml_with_runsc_flag_names() {
        let flags = crate::config::runsc_flags(Some(&crate::config::GVisorConfiguration {
            config_flags: Some(
                [
                    ("debug", "true"),
                    ("net-raw", "false"),
                    ("panic-signal", "6"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            ),
            test_image_tag: None,
        }));
        let text = runsc_toml(&flags);
        let parsed: toml::Table = text.parse().unwrap();
        let keys: Vec<&String> = parsed["runsc_config"].as_table().unwrap().keys().collect();
        assert_eq!(keys, ["debug", "debug-log", "net-raw", "panic-signal"]);
        assert_eq!(runsc_toml(&[]), "[runsc_config]\n");
    }
}
