//! Records the commit the binaries are built from, for `--version`: `$GIT_COMMIT` when set (the
//! image build passes it, as its context has no `.git`), else `git rev-parse HEAD`, else
//! `unknown`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GIT_COMMIT");
    let commit = std::env::var("GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".into());
    let short: String = commit.trim().chars().take(12).collect();
    println!("cargo:rustc-env=EXTENSION_COMMIT={short}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn git_head() -> Option<String> {
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, and packed refs.
    for name in ["HEAD", "packed-refs"] {
        rerun_if_changed(git(&["rev-parse", "--git-path", name]));
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        rerun_if_changed(git(&["rev-parse", "--git-path", &branch]));
    }
    git(&["rev-parse", "HEAD"])
}

fn rerun_if_changed(path: Option<String>) {
    if let Some(path) = path {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
