//! x
pub mod actuator;
pub mod controller;
pub mod error;
pub mod kind;
pub mod metrics;
pub mod operation;
pub mod osc;
pub mod predicate;
pub mod reconciler;

pub use actuator::{Actuator, ClusterContext, Context};
pub use error::Error;
pub use kind::ExtensionKind;
pub mod heartbeat;
pub mod leader;
pub mod logging;
pub mod managed_resources;
pub mod options;

pub mod client;
pub mod runtime;
pub mod server;
pub use runtime::{Manager, Registration, RunError, RunningExtension};
pub mod healthcheck;
