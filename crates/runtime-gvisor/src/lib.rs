//! `gardener-extension-runtime-gvisor`: the gVisor container runtime for Gardener shoots.
//!
//! gardenlet creates a `ContainerRuntime` of type `gvisor` for every worker pool that asks for
//! gVisor. For each, this extension delivers through gardener-resource-manager:
//!
//! * `extension-runtime-gvisor` (once per shoot): ServiceAccount `kube-system/gvisor` and the
//!   RuntimeClass `gvisor` (handler `runsc`), scheduled onto the pool's nodes;
//! * `extension-runtime-gvisor-installation-<pool>`: a privileged DaemonSet on the pool's nodes that
//!   runs the installer script ([`installer`]): it copies `runsc` and its containerd shim to
//!   `spec.binaryPath`, registers the runtime in containerd's configuration (versions 1 to 4),
//!   writes `/etc/containerd/runsc.toml` from the `providerConfig` flags ([`config`]), and restarts
//!   containerd only when something changed.
//!
//! Deletion removes the pool's installation and, with the last gvisor ContainerRuntime, the base;
//! migration keeps the objects in the shoot. Health is reported as `SystemComponentsHealthy`.

pub mod actuator;
pub mod config;
pub mod health;
pub mod installer;
pub mod manifests;

use extension_framework::Manager;
use extension_framework::image_vector::ImageVector;

/// The ContainerRuntime type.
pub const TYPE: &str = "gvisor";
/// The extension's name: heartbeat holder and leader-election Lease `runtime-gvisor-leader-election`,
/// as upstream's.
pub const NAME: &str = "runtime-gvisor";
/// The embedded image vector.
pub const IMAGES: &str = include_str!("../images.yaml");

/// The extension's own flags.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Flags {
    /// Repository of test installation images: with a ContainerRuntime's `testImageTag`, the
    /// installation image is `<repository>:<testImageTag>`.
    #[arg(long, default_value = "")]
    pub gvisor_installation_test_repository: String,
}

/// The version installation images are tagged with by default.
pub fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// The extension: the ContainerRuntime controller, its health checks and the heartbeat. Images
/// come from the embedded vector with `IMAGEVECTOR_OVERWRITE` applied; a broken overwrite file is
/// logged and the embedded vector used.
pub fn manager(flags: &Flags) -> Manager {
    let images = ImageVector::with_overwrite_from_env(IMAGES).unwrap_or_else(|e| {
        tracing::error!(error = %e, "Ignoring the image vector overwrite");
        ImageVector::parse(IMAGES).unwrap_or_default()
    });
    manager_with(images, flags)
}

/// [`manager`] with a given image vector (tests).
pub fn manager_with(images: ImageVector, flags: &Flags) -> Manager {
    let actuator = actuator::GVisorActuator::new(
        images,
        &version(),
        &flags.gvisor_installation_test_repository,
    );
    Manager::new(NAME)
        .cache_managed_resources(actuator::ORIGIN)
        .container_runtime(TYPE, actuator)
        .with(health::registration())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_image_vector_has_the_installation_image() {
        let images = extension_framework::image_vector::ImageVector::parse(super::IMAGES).unwrap();
        assert_eq!(
            images
                .find(crate::actuator::INSTALLATION_IMAGE, "v1.2.3")
                .unwrap()
                .to_string(),
            "europe-docker.pkg.dev/gardener-project/releases/gardener/extensions/runtime-gvisor-installation:v1.2.3"
        );
    }
}
