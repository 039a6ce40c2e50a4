//! Reliability and security scenarios for the extensions: what the test API server's faults,
//! killed processes, lost leaders, outages and hostile objects do to them, and whether a secret
//! ever leaks. The scenarios are the tests in `tests/reliability/`; this library holds what they
//! share:
//!
//! * [`Scale`]: object counts and time bounds, scaled down for CI unless `RELIABILITY_FULL=1`
//!   (`cargo xtask reliability` runs the full counts).
//! * [`Guarded`]: wraps any actuator and records every call per object, catching two reconciles of
//!   one object at the same time.
//! * [`seed`]: a test API server with the Gardener CRDs, a shoot namespace and its Cluster.
//! * [`Process`]: a real extension binary started, signalled, killed and restarted as kubelet
//!   would, with its log lines kept.

mod guard;
mod process;
mod seed;

pub use guard::{Guard, Guarded, ROUND_ANNOTATION, Record};
pub use process::{Process, binary};
pub use seed::{NS, seed, shoot_cluster};

use std::time::Duration;

/// How large and how long the scenarios run.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Objects per kind in the load scenarios.
    pub objects: usize,
    /// The bound on convergence of the load scenarios.
    pub converge: Duration,
    /// How long the API server stays away in the outage scenario.
    pub outage: Duration,
}

impl Scale {
    /// The counts with `RELIABILITY_FULL=1`, CI's otherwise.
    pub fn from_env() -> Self {
        if std::env::var_os("RELIABILITY_FULL").is_some_and(|v| v == "1") {
            Self {
                objects: 500,
                converge: Duration::from_secs(300),
                outage: Duration::from_secs(30),
            }
        } else {
            Self {
                objects: 60,
                converge: Duration::from_secs(120),
                outage: Duration::from_secs(4),
            }
        }
    }
}
