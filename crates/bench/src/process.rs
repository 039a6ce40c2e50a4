//! An extension binary as a process: start it against a server, wait for `/readyz`, read its
//! memory, count what it sends while idle.

use crate::fixtures::{self, Kind};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use test_apiserver::RunningServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running extension binary; killed on drop.
pub struct Extension {
    child: Child,
    health_port: u16,
    _dir: tempfile::TempDir,
}

impl Extension {
    /// Starts `kind`'s binary from `bin_dir` against `server`, concurrency 5 as in the charts.
    pub fn start(
        bin_dir: &Path,
        kind: Kind,
        server: &RunningServer,
        leader_election: bool,
    ) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig)?;
        let health_port = free_port()?;
        let binary = bin_dir.join(kind.binary());
        // `BENCH_LOG_DIR` keeps the extensions' logs (at info level) for a look afterwards.
        let (log_path, level) = match std::env::var_os("BENCH_LOG_DIR") {
            Some(logs) => (
                Path::new(&logs).join(format!("{}-{health_port}.log", kind.binary())),
                std::env::var("BENCH_LOG_LEVEL").unwrap_or_else(|_| "info".into()),
            ),
            None => (dir.path().join("log"), "error".into()),
        };
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(&binary)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg(format!("--leader-election={leader_election}"))
            .args([
                "--leader-election-namespace=garden",
                "--heartbeat-namespace=garden",
                "--max-concurrent-reconciles=5",
                "--metrics-bind-address=127.0.0.1:0",
            ])
            .arg(format!("--health-bind-address=127.0.0.1:{health_port}"))
            .arg(format!("--log-level={level}"))
            .env_remove("KUBECONFIG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self {
            child,
            health_port,
            _dir: dir,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if readyz(self.health_port).await {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the extension exited with {status} before it was ready");
            }
            if Instant::now() > deadline {
                bail!("not ready after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// (VmRSS, VmHWM) in KiB.
    pub fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("{name} in /proc/<pid>/status"))
        };
        let exe = std::fs::read_link(format!("/proc/{}/exe", self.pid()))?;
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", self.pid()))?;
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
            shared_libraries_kib: shared_libraries_kib(&smaps, &exe),
        })
    }

    /// CPU seconds (user + system) so far, from `/proc/<pid>/stat`.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the command name (which may contain spaces) start at ") ".
        let rest = stat
            .rsplit_once(") ")
            .map(|(_, r)| r)
            .context("/proc/<pid>/stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
        Ok(ticks / 100.0)
    }
}

impl Drop for Extension {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Memory {
    /// VmRSS.
    pub rss_kib: u64,
    /// VmHWM: the peak.
    pub hwm_kib: u64,
    /// Of VmRSS, the pages of shared libraries (libc, libm, the loader): the dynamically linked
    /// build measured here maps them, the statically linked images do not.
    pub shared_libraries_kib: u64,
}

/// The resident KiB of file mappings other than the executable itself, from `/proc/<pid>/smaps`.
fn shared_libraries_kib(smaps: &str, exe: &Path) -> u64 {
    let mut library = false;
    let mut total = 0;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // A mapping's header: address range, permissions, offset, device, inode[, path].
        if fields.len() >= 5 && fields[0].contains('-') && !fields[0].ends_with(':') {
            library = fields
                .get(5)
                .is_some_and(|path| path.starts_with('/') && Path::new(path) != exe);
        } else if library && fields.first() == Some(&"Rss:") {
            total += fields
                .get(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn readyz(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream
        .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.is_ok() && head.ends_with(b"200")
}

/// exec → `/readyz` 200, repeated.
#[derive(Debug, Serialize)]
pub struct Startup {
    /// The kind's extension.
    pub kind: Kind,
    /// Objects of the kind in the server.
    pub objects: usize,
    /// Each run, in milliseconds.
    pub millis: Vec<f64>,
    /// Median.
    pub p50_ms: f64,
}

/// Measures exec → `/readyz` 200 `repeats` times, with `objects` objects of `kind` present.
pub async fn startup(
    bin_dir: &Path,
    kind: Kind,
    objects: usize,
    repeats: usize,
) -> Result<Startup> {
    let server = fixtures::seed(10, 1024).await?;
    fixtures::create_objects(&server, kind, objects, 10)?;
    let mut millis = Vec::new();
    for _ in 0..repeats {
        let started = Instant::now();
        let mut extension = Extension::start(bin_dir, kind, &server, false)?;
        extension.wait_ready(Duration::from_secs(30)).await?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let p50_ms = percentile(&millis, 50.0);
    Ok(Startup {
        kind,
        objects,
        millis,
        p50_ms,
    })
}

/// What an extension does while idle.
#[derive(Debug, Serialize)]
pub struct Idle {
    /// The kind's extension.
    pub kind: Kind,
    /// How long it was watched.
    pub seconds: u64,
    /// Requests per minute, by `verb resource`.
    pub requests_per_minute: std::collections::BTreeMap<String, f64>,
    /// All requests per minute.
    pub total_per_minute: f64,
    /// Memory at the end.
    pub memory: Memory,
    /// CPU seconds used in the window.
    pub cpu_seconds: f64,
}

/// Runs `kind`'s binary with leader election and the heartbeat, on an empty seed, for `seconds`
/// after it is ready.
pub async fn idle(bin_dir: &Path, kind: Kind, seconds: u64) -> Result<Idle> {
    let server = fixtures::seed(1, 1024).await?;
    let mut extension = Extension::start(bin_dir, kind, &server, true)?;
    extension.wait_ready(Duration::from_secs(30)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.clear_requests();
    let cpu_before = extension.cpu_seconds()?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu_seconds = extension.cpu_seconds()? - cpu_before;
    let agent = format!("{}/", kind.binary());
    let mut counts = std::collections::BTreeMap::new();
    for record in server
        .requests()
        .iter()
        .filter(|r| r.user_agent.starts_with(&agent))
    {
        *counts
            .entry(format!("{} {}", record.verb, record.full_resource()))
            .or_insert(0.0) += 60.0 / seconds as f64;
    }
    Ok(Idle {
        kind,
        seconds,
        total_per_minute: counts.values().sum(),
        requests_per_minute: counts,
        memory: extension.memory()?,
        cpu_seconds,
    })
}

/// The `p`th percentile (nearest rank) of `values`.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_libraries_are_the_file_mappings_besides_the_executable() {
        let smaps = "\
55e0-55f0 r-xp 00000000 08:01 12 /bin/ext
Rss:                4676 kB
7f00-7f10 r-xp 00000000 08:01 13 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1088 kB
Anonymous:             0 kB
7f20-7f30 rw-p 00000000 00:00 0 
Rss:                 180 kB
7f40-7f50 r--p 00000000 08:01 14 /usr/lib/x86_64-linux-gnu/libm.so.6
Rss:                 128 kB
7ffc-7ffd rw-p 00000000 00:00 0                          [stack]
Rss:                 180 kB
";
        assert_eq!(shared_libraries_kib(smaps, Path::new("/bin/ext")), 1216);
    }
}
