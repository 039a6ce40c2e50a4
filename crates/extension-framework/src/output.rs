//! What can go wrong while writing an actuator's output (the OSC result Secret and status fields).

use crate::Error;
use crate::operation::Operation;

/// An error while writing the reconcile output (OSC result Secret or status fields).
#[derive(Debug)]
pub struct OutputError {
    /// Description prefix for the Error status.
    pub description: &'static str,
    /// Operation type to record instead of the current one (an upstream quirk for OSC status).
    pub record_as: Option<Operation>,
    /// What failed.
    pub source: Error,
}
