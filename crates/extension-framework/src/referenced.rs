//! Resources a shoot references in `spec.resources[]`: gardenlet copies each into the shoot
//! namespace of the seed as `ref-<name>`, where extensions read them (shoot-flux's Git credentials,
//! for example).
//!
//! ```no_run
//! # async fn reconcile(ctx: &extension_framework::Context, namespace: &str) -> Result<(), extension_framework::Error> {
//! if let Some(shoot) = ctx.cluster.as_ref().and_then(|c| c.shoot.as_ref()) {
//!     // The shoot lists `{name: flux-git, resourceRef: {kind: Secret, name: git-credentials}}`;
//!     // this reads the seed's `ref-git-credentials`.
//!     let secret = extension_framework::referenced::secret(&ctx.client, namespace, shoot, "flux-git").await?;
//!     let _keys = secret.data.unwrap_or_default().into_keys();
//! }
//! # Ok(()) }
//! ```

use crate::Error;
use gardener_api::constants::REFERENCED_RESOURCES_PREFIX;
use gardener_api::core::Shoot;
use gardener_api::extensions::ErrorCode;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

/// The seed name of a referenced resource (`ref-<resourceRef.name>`).
pub fn seed_name(resource_name: &str) -> String {
    format!("{REFERENCED_RESOURCES_PREFIX}{resource_name}")
}

/// Reads the Secret the shoot references as `spec.resources[].name == name`.
///
/// # Errors
/// * `ERR_CONFIGURATION_PROBLEM` when the shoot has no such reference, or it is not a Secret: the
///   user must fix the shoot.
/// * A plain (retried) error when the copy `ref-<resourceRef.name>` is not in the seed yet, or
///   cannot be read. The message names the Secret, never its data.
pub async fn secret(
    client: &Client,
    namespace: &str,
    shoot: &Shoot,
    name: &str,
) -> Result<Secret, Error> {
    let reference = shoot
        .spec
        .resources
        .iter()
        .flatten()
        .find(|r| r.name == name)
        .ok_or_else(|| {
            Error::msg(format!(
                "resource {name:?} is not referenced in the shoot's spec.resources"
            ))
            .with_codes([ErrorCode::ConfigurationProblem])
        })?;
    if reference.resource_ref.kind != "Secret" {
        return Err(Error::msg(format!(
            "resource {name:?} in the shoot's spec.resources is a {}, not a Secret",
            reference.resource_ref.kind
        ))
        .with_codes([ErrorCode::ConfigurationProblem]));
    }
    let copy = seed_name(&reference.resource_ref.name);
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(&copy)
        .await
        .map_err(|e| Error::context(format!("reading referenced secret {namespace}/{copy}"), e))?
        .ok_or_else(|| {
            Error::msg(format!(
                "referenced secret {namespace}/{copy} not found (gardenlet copies it from the shoot's project)"
            ))
        })
}
