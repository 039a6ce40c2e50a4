//! os-coreos: the Ignition and reconcile outputs (extensions.md checklist items 17–29, upstream
//! case E6), checked by the real `ignition-validate`; the controller end to end against the test
//! API server; the binary's `render` command and `--config` validation.

#[path = "coreos/fixtures.rs"]
mod fixtures;

#[path = "coreos/binary.rs"]
mod binary;
#[path = "coreos/cloud_config.rs"]
mod cloud_config;
#[path = "coreos/controller.rs"]
mod controller;
#[path = "coreos/golden.rs"]
mod golden;
#[path = "coreos/ignition.rs"]
mod ignition;
#[path = "coreos/properties.rs"]
mod properties;
#[path = "coreos/reconcile.rs"]
mod reconcile;
