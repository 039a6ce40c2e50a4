//! `extensions.gardener.cloud/v1alpha1`.

mod cluster;
mod common;
mod container_runtime;
mod extension;
mod operating_system_config;

pub use crate::wire::UnknownValue;
pub use cluster::*;
pub use common::*;
pub use container_runtime::*;
pub use extension::*;
pub use operating_system_config::*;

/// API group of the extension kinds.
pub const GROUP: &str = "extensions.gardener.cloud";
/// API version of the extension kinds.
pub const VERSION: &str = "v1alpha1";
