//! `gardener-extension-os-coreos`: Flatcar Container Linux nodes for Gardener shoots.
//!
//! gardenlet writes two OperatingSystemConfigs per worker pool; this extension handles the types
//! `coreos`, `flatcar` and the Flatcar channels `flatcar-alpha`, `-beta`, `-stable`, `-lts`, which
//! behave identically:
//!
//! * **provision**: the user data a new machine boots with, an Ignition v3.3.0 config
//!   ([`ignition`]) with the containerd setup, the masked auto-updaters, docker's sysext switch and
//!   the OSC's units and files. The framework stores it in the Secret `osc-result-<name>`.
//! * **reconcile**: the units and files gardener-node-agent applies besides the OSC's own
//!   ([`render::extension_units_and_files`]): updaters stopped, NTP, the sctp blacklist, the
//!   kubelet cgroup-driver script and the containerd drop-in.
//!
//! With `userDataFormat: cloud-config`, both purposes produce the original coreos-cloudinit
//! `#cloud-config` instead ([`cloud_config`]).
//!
//! The extension configuration (`--config`, [`config`]) chooses docker and NTP; a worker pool's
//! machine image `providerConfig` overrides it per shoot. `gardener-extension-os-coreos render`
//! prints what the controller would store, from files, without a cluster.

pub mod actuator;
pub mod cloud_config;
pub mod config;
pub mod golang;
pub mod ignition;
pub mod nodes;
pub mod render;
pub mod validate;
pub mod yaml_v2;

use extension_framework::Manager;
use extension_framework::config::ConfigFile;

/// The extension's name: heartbeat holder and leader-election Lease `os-coreos-leader-election`.
pub const NAME: &str = "os-coreos";
/// The OperatingSystemConfig types handled.
pub const TYPES: &[&str] = &[
    "coreos",
    "flatcar",
    "flatcar-alpha",
    "flatcar-beta",
    "flatcar-stable",
    "flatcar-lts",
];

/// The extension: the OperatingSystemConfig controller for [`TYPES`] and the heartbeat, with the
/// `--config` file loaded at start-up.
pub fn manager() -> Manager {
    let config = ConfigFile::<config::ExtensionConfig>::new();
    Manager::new(NAME)
        .config_file(config.clone())
        .operating_system_config(TYPES, actuator::CoreOsActuator::new(config))
}
