//! runtime-gvisor end to end: extensions.md checklist items 32–40 against the test API server,
//! the rendered manifests, and the installer script run for real.

#[path = "gvisor/harness.rs"]
mod harness;

#[path = "gvisor/binary.rs"]
mod binary;
#[path = "gvisor/checklist.rs"]
mod checklist;
#[path = "gvisor/installer.rs"]
mod installer;
#[path = "gvisor/manifests.rs"]
mod manifests;
