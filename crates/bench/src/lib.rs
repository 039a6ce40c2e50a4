//! Whole-system benchmarks of the extensions (the `bench` binary writes them as JSON; `cargo
//! xtask bench` turns that into `docs/performance.md`).
//!
//! * API calls per reconcile step, by verb and resource (deterministic);
//! * throughput of the real binaries against the test API server, and the floor: the same API
//!   calls replayed bare at the same concurrency;
//! * memory (VmRSS, VmHWM) idle and with objects and large Clusters cached;
//! * exec → `/readyz` 200;
//! * idle API traffic per minute.
//!
//! Everything runs against the workspace's test API server, in this process; the extensions run
//! as their real binaries (throughput, memory, start-up, idle), or in-process on a client with
//! its own user agent (API calls, which are deterministic and asserted in `tests/`; with the
//! `extensions` feature, on by default).

#[cfg(feature = "extensions")]
pub mod api_calls;
pub mod fixtures;
pub mod process;
pub mod throughput;
