//! `resources.gardener.cloud/v1alpha1`: objects applied by gardener-resource-manager.

mod managed_resource;
pub use managed_resource::*;

/// API group of ManagedResources.
pub const GROUP: &str = "resources.gardener.cloud";
