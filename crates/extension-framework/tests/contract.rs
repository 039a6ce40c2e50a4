//! gardener-contract §11: every checklist item as a test against the test API server, driving the
//! real wiring (Manager → controller → reconciler → actuator). Test names start with the item number.

#[path = "contract/harness.rs"]
mod harness;
#[path = "contract/wire.rs"]
mod wire;

#[path = "contract/building_blocks.rs"]
mod building_blocks;
#[path = "contract/deletion.rs"]
mod deletion;
#[path = "contract/filters.rs"]
mod filters;
#[path = "contract/healthcheck.rs"]
mod healthcheck;
#[path = "contract/managed_resources.rs"]
mod managed_resources;
#[path = "contract/migration.rs"]
mod migration;
#[path = "contract/odd.rs"]
mod odd;
#[path = "contract/osc.rs"]
mod osc;
#[path = "contract/process.rs"]
mod process;
#[path = "contract/reconcile.rs"]
mod reconcile;
