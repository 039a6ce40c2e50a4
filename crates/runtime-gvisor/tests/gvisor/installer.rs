//! The installer script, run for real under bash in a throwaway root: stub containerd configs of
//! each version, a stub `chroot` that records the restart, and (for version 2) the real containerd
//! loading the patched configuration (checklist item 40).

use runtime_gvisor::installer::script;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN_DIR: &str = "/var/bin/containerruntimes";

struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    /// A node whose containerd configuration is `config`.
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let node = Self { dir };
        fs::create_dir_all(node.host("etc/containerd")).unwrap();
        fs::write(node.host("etc/containerd/config.toml"), config).unwrap();
        fs::create_dir_all(node.path("content")).unwrap();
        node.set_binary("runsc", "runsc v1");
        node.set_binary("containerd-shim-runsc-v1", "shim v1");
        fs::create_dir_all(node.path("stubs")).unwrap();
        let chroot = node.path("stubs/chroot");
        fs::write(&chroot, "#!/bin/sh\necho \"$*\" >> \"$STUB_LOG\"\n").unwrap();
        fs::set_permissions(&chroot, fs::Permissions::from_mode(0o755)).unwrap();
        node
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn host(&self, p: &str) -> PathBuf {
        self.path("host").join(p)
    }

    fn set_binary(&self, name: &str, content: &str) {
        fs::write(self.path("content").join(name), content).unwrap();
    }

    /// Runs the script for `flags`; returns the exit status.
    fn install(&self, flags: &[(&str, &str)]) -> std::process::ExitStatus {
        let flags: Vec<(String, String)> = flags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let file = self.path("install.sh");
        fs::write(&file, script(BIN_DIR, &flags).unwrap()).unwrap();
        let path = format!(
            "{}:{}",
            self.path("stubs").display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::new("bash")
            .arg(&file)
            .env("HOST_ROOT", self.path("host"))
            .env("CONTENT_DIR", self.path("content"))
            .env("ONESHOT", "true")
            .env("STUB_LOG", self.path("restarts.log"))
            .env("PATH", path)
            .output()
            .unwrap();
        eprintln!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.status
    }

    fn config(&self) -> String {
        fs::read_to_string(self.host("etc/containerd/config.toml")).unwrap()
    }

    fn restarts(&self) -> Vec<String> {
        fs::read_to_string(self.path("restarts.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

fn tables(version: Option<u8>) -> &'static str {
    match version {
        Some(3 | 4) => r#"plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc"#,
        Some(2) => r#"plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc"#,
        _ => "plugins.cri.containerd.runtimes.runsc",
    }
}

#[test]
fn installs_registers_and_restarts_once_for_every_config_version() {
    for version in [None, Some(1), Some(2), Some(3), Some(4)] {
        let header = version
            .map(|v| format!("version = {v}\n"))
            .unwrap_or_default();
        let node = Node::new(&format!("{header}# the node's own settings\n"));
        assert!(
            node.install(&[("net-raw", "true")]).success(),
            "{version:?}"
        );
        let table = tables(version);
        let config = node.config();
        assert!(
            config.contains(&format!(
                "[{table}]\n  runtime_type = \"io.containerd.runsc.v1\"\n"
            )),
            "{version:?}: {config}"
        );
        assert!(config.contains(&format!("[{table}.options]\n  TypeUrl = \"io.containerd.runsc.v1.options\"\n  ConfigPath = \"/etc/containerd/runsc.toml\"\n")));
        assert!(
            config.starts_with(&format!("{header}# the node's own settings\n")),
            "the node's settings stay"
        );
        toml::from_str::<toml::Table>(&config)
            .unwrap_or_else(|e| panic!("{version:?}: not TOML: {e}"));
        assert_eq!(
            fs::read_to_string(node.host("etc/containerd/runsc.toml")).unwrap(),
            "[runsc_config]\n  net-raw = \"true\"\n"
        );
        for binary in ["runsc", "containerd-shim-runsc-v1"] {
            let installed = node.host(&format!("{}/{binary}", &BIN_DIR[1..]));
            assert_eq!(
                fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        let host = node.path("host");
        assert_eq!(
            node.restarts(),
            [format!("{} systemctl restart containerd", host.display())]
        );

        // Idempotent: nothing changes, nothing restarts.
        assert!(node.install(&[("net-raw", "true")]).success());
        assert_eq!(node.config(), config);
        assert_eq!(node.restarts().len(), 1, "{version:?}: no second restart");
    }
}

#[test]
fn changes_restart_only_when_containerd_must_reread() {
    let node = Node::new("version = 2\n");
    assert!(node.install(&[]).success());
    let config = node.config();
    assert_eq!(node.restarts().len(), 1);
    // New flags: runsc.toml changes, the runtime block is not appended again, containerd restarts.
    assert!(
        node.install(&[
            ("debug", "true"),
            ("debug-log", "/var/log/runsc/%ID%/gvisor-%COMMAND%.log")
        ])
        .success()
    );
    assert_eq!(node.config(), config, "appended once only");
    assert_eq!(
        node.config().matches("containerd.runtimes.runsc]").count(),
        1
    );
    assert_eq!(node.restarts().len(), 2);
    // A new runsc: replaced on disk, no restart (new sandboxes use it).
    node.set_binary("runsc", "runsc v2");
    assert!(
        node.install(&[
            ("debug", "true"),
            ("debug-log", "/var/log/runsc/%ID%/gvisor-%COMMAND%.log")
        ])
        .success()
    );
    assert_eq!(
        fs::read_to_string(node.host("var/bin/containerruntimes/runsc")).unwrap(),
        "runsc v2"
    );
    assert_eq!(node.restarts().len(), 2);
    // A runtime registered by someone else is left alone.
    let foreign = Node::new(
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runsc]\n  runtime_type = \"custom\"\n",
    );
    assert!(foreign.install(&[]).success());
    assert!(!foreign.config().contains("io.containerd.runsc.v1.options"));
}

#[test]
fn a_node_without_containerd_configuration_fails_visibly() {
    let node = Node::new("");
    fs::remove_file(node.host("etc/containerd/config.toml")).unwrap();
    assert!(!node.install(&[]).success());
    assert!(node.restarts().is_empty());
}

/// The real containerd (Debian's package, 1.6; `.ci/run` installs it) must load what the script
/// wrote and show the runsc runtime with its options; a broken patch must make it fail.
#[test]
fn containerd_loads_the_patched_version_2_config() {
    let Some(containerd) = which("containerd") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install containerd (apt-get install containerd)"
        );
        eprintln!("containerd not installed: skipping the real-containerd check");
        return;
    };
    let node = Node::new(
        "version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"runc\"\n",
    );
    assert!(node.install(&[("net-raw", "true")]).success());
    let config = node.host("etc/containerd/config.toml");
    let dump = Command::new(&containerd)
        .arg("--config")
        .arg(&config)
        .args(["config", "dump"])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8(dump.stdout).unwrap();
    let runtime = dump
        .split_once("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runsc]")
        .map(|(_, rest)| rest)
        .expect("containerd knows the runsc runtime");
    assert!(runtime.contains("runtime_type = \"io.containerd.runsc.v1\""));
    assert!(runtime.contains("ConfigPath = \"/etc/containerd/runsc.toml\""));
    assert!(runtime.contains("TypeUrl = \"io.containerd.runsc.v1.options\""));
    // Appending the block a second time (what the absence check prevents) breaks the config.
    let twice = format!(
        "{}{}",
        fs::read_to_string(&config).unwrap(),
        "\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runsc]\n  runtime_type = \"io.containerd.runsc.v1\"\n"
    );
    fs::write(&config, twice).unwrap();
    let broken = Command::new(&containerd)
        .arg("--config")
        .arg(&config)
        .args(["config", "dump"])
        .output()
        .unwrap();
    assert!(
        !broken.status.success(),
        "containerd rejects a duplicated runtime table"
    );
}

fn which(binary: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(binary))
        .find(|p| p.is_file())
}
