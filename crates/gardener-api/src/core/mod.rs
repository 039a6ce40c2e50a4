//! `core.gardener.cloud`: registration kinds and the read-only Shoot view.

mod controller_deployment;
mod controller_registration;
mod shoot;

pub use controller_deployment::*;
pub use controller_registration::*;
pub use shoot::*;
