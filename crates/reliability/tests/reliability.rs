//! Reliability and security scenarios (issue: faults survived, bad input rejected, nothing lost).
//! CI runs them scaled down; `RELIABILITY_FULL=1` (or `cargo xtask reliability`) at full size.

#[path = "reliability/common.rs"]
mod common;
#[path = "reliability/crash.rs"]
mod crash;
#[path = "reliability/faults.rs"]
mod faults;
#[path = "reliability/hostile.rs"]
mod hostile;
#[path = "reliability/leader.rs"]
mod leader;
#[path = "reliability/lifecycle.rs"]
mod lifecycle;
#[path = "reliability/security.rs"]
mod security;
