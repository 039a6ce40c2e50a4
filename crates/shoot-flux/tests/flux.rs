//! shoot-flux: the FluxConfig API (defaulting and validation tables, checklist items 44 and 47),
//! the Flux manifests, and the extension end to end against the test API server.

#[path = "flux/api.rs"]
mod api;
#[path = "flux/binary.rs"]
mod binary;
#[path = "flux/extension.rs"]
mod extension;
#[path = "flux/garden.rs"]
mod garden;
#[path = "flux/manifests.rs"]
mod manifests;
