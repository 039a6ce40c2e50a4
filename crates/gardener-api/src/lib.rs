//! Typed models of the Gardener APIs that extension controllers read and write.
//!
//! * [`extensions`]: `extensions.gardener.cloud/v1alpha1`: [`Extension`](extensions::Extension),
//!   [`ContainerRuntime`](extensions::ContainerRuntime),
//!   [`OperatingSystemConfig`](extensions::OperatingSystemConfig) and the cluster-scoped
//!   [`Cluster`](extensions::Cluster), with the shared [`DefaultSpec`](extensions::DefaultSpec) and
//!   [`DefaultStatus`](extensions::DefaultStatus).
//! * [`resources`]: `resources.gardener.cloud/v1alpha1` [`ManagedResource`](resources::ManagedResource).
//! * [`core`]: `core.gardener.cloud` `ControllerRegistration` (v1beta1), `ControllerDeployment` (v1) and a
//!   read-only view of the `Shoot` embedded in a `Cluster`.
//! * [`operator`]: `operator.gardener.cloud/v1alpha1` [`Extension`](operator::Extension), the
//!   registration gardener-operator reads.
//! * [`autoscaling`]: `autoscaling.k8s.io/v1` [`VerticalPodAutoscaler`](autoscaling::VerticalPodAutoscaler),
//!   for checking the charts.
//! * [`constants`]: the exact annotation, label and finalizer strings of the contract.
//!
//! Every type serializes to the same JSON as Gardener's Go types. Opaque blobs (`providerConfig`,
//! `providerStatus`, `state`, the Cluster's `spec.*`) are kept as [`serde_json::Value`], so unknown fields
//! survive a read-modify-write byte for byte. The CRDs in `charts/crds` are generated from these types
//! (`cargo xtask crds`).
//!
//! ```
//! use gardener_api::extensions::{Extension, ExtensionSpec, DefaultSpec};
//! let ext = Extension::new("mwe", ExtensionSpec { default_spec: DefaultSpec::of_type("mwe") });
//! assert_eq!(serde_json::to_value(&ext).unwrap()["spec"]["type"], "mwe");
//! ```

pub mod autoscaling;
pub mod blob;
pub mod constants;
pub mod core;
pub mod crds;
pub mod extensions;
pub mod operator;
pub mod patch;
pub mod resources;
mod schema;
pub mod wire;
