//! `gardener-extension-shoot-flux` (work in progress): Flux GitOps for Gardener shoots.
//!
//! So far: the `FluxConfig` providerConfig API ([`api`]) with upstream's defaulting and validation.

pub mod api;
