//! Extension binaries as processes: started, signalled, killed, their output kept.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use test_apiserver::RunningServer;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The path under which the multi-call `extensions` executable runs as extension `name`
/// (`gardener-extension-mwe`, ...): a symbolic link beside it, made on first use.
///
/// # Panics
/// When the link cannot be made (a read-only target directory).
pub fn binary(multicall: &Path, name: &str) -> PathBuf {
    let dir = multicall
        .parent()
        .expect("the executable is in a directory")
        .join("reliability-links");
    std::fs::create_dir_all(&dir).expect("creating the link directory");
    let link = dir.join(name);
    if std::fs::read_link(&link).ok().as_deref() != Some(multicall) {
        let _ = std::fs::remove_file(&link);
        // A parallel test may have made it in between: only a missing link is an error.
        if let Err(e) = std::os::unix::fs::symlink(multicall, &link)
            && !link.exists()
        {
            panic!("linking {}: {e}", link.display());
        }
    }
    link
}

/// A running extension process. Killed on drop, so a failed scenario leaves nothing behind.
pub struct Process {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    lines: watch::Sender<usize>,
    /// The tasks reading stdout and stderr: they end at the streams' end.
    collectors: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Starts `binary` against `server` (a kubeconfig file written for it) with `args` after
    /// `--kubeconfig`; stdout and stderr are collected line by line.
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn start(binary: &Path, server: &RunningServer, args: &[&str]) -> Self {
        Self::start_with_env(binary, server, args, &[])
    }

    /// [`Process::start`] with environment variables set (`HOSTNAME` names a replica).
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn start_with_env(
        binary: &Path,
        server: &RunningServer,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("writing the kubeconfig");
        Self::spawn(
            Command::new(binary)
                .arg(format!("--kubeconfig={}", kubeconfig.display()))
                .args(args)
                .envs(env.iter().copied()),
            dir,
        )
    }

    /// Starts `binary` with a kubeconfig given as text (wrong tokens, other servers).
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn start_with_kubeconfig(binary: &Path, kubeconfig: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, kubeconfig).expect("writing the kubeconfig");
        Self::spawn(
            Command::new(binary)
                .arg(format!("--kubeconfig={}", path.display()))
                .args(args),
            dir,
        )
    }

    fn spawn(command: &mut Command, dir: tempfile::TempDir) -> Self {
        let mut child = command
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the extension binary starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (lines, _) = watch::channel(0);
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let collectors = vec![
            tokio::spawn(collect(stdout, output.clone(), lines.clone())),
            tokio::spawn(collect(stderr, output.clone(), lines.clone())),
        ];
        Self {
            child,
            output,
            lines,
            collectors,
            _dir: dir,
        }
    }

    /// Every line written so far, stdout and stderr interleaved as read.
    pub fn output(&self) -> Vec<String> {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until a line contains `needle`; `false` when `within` passes first.
    pub async fn wait_for_line(&self, needle: &str, within: Duration) -> bool {
        let mut lines = self.lines.subscribe();
        tokio::time::timeout(within, async {
            loop {
                if self.output().iter().any(|l| l.contains(needle)) {
                    return;
                }
                if lines.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .is_ok()
    }

    /// Sends SIGTERM (kubelet's stop).
    pub fn terminate(&self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }

    /// Sends SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.start_kill();
    }

    /// Waits for the exit, at most `within`, and then for the rest of its output: a process's last
    /// lines can still be in the pipes when its exit is seen.
    ///
    /// # Panics
    /// When the process is still running after `within`.
    pub async fn wait(&mut self, within: Duration) -> ExitStatus {
        let status = match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("waiting for the child"),
            Err(_) => panic!(
                "the process did not exit within {within:?}; its output:\n{}",
                self.output().join("\n")
            ),
        };
        for collector in self.collectors.drain(..) {
            // The pipes close with the process; a child of it that kept them open is not waited for.
            let _ = tokio::time::timeout(Duration::from_secs(5), collector).await;
        }
        status
    }
}

/// Appends every line of `stream` to `output`, announcing the count on `lines`.
async fn collect(
    stream: impl AsyncRead + Unpin,
    output: Arc<Mutex<Vec<String>>>,
    lines: watch::Sender<usize>,
) {
    let mut reader = BufReader::new(stream).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        let n = {
            let mut output = output.lock().unwrap_or_else(|p| p.into_inner());
            output.push(line);
            output.len()
        };
        lines.send_replace(n);
    }
}
