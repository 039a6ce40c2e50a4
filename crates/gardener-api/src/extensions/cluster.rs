use crate::blob::Blob;
use crate::core::Shoot;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a [`Cluster`]: the shoot, seed and cloud profile as gardenlet serialized them.
///
/// The blobs are kept as raw JSON so that every field survives; [`Cluster::shoot`] decodes the few
/// fields extensions read.
// Raw JSON is [`Blob`]: held as text, a Cluster costs its size in memory, not ten times that.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "extensions.gardener.cloud",
    version = "v1alpha1",
    kind = "Cluster",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// The `core.gardener.cloud/v1beta1` CloudProfile (or NamespacedCloudProfile).
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    #[schemars(extend("title" = "x-required"))]
    pub cloud_profile: Blob,
    /// The `core.gardener.cloud/v1beta1` Seed; absent for self-hosted shoots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub seed: Option<Blob>,
    /// The `core.gardener.cloud/v1beta1` Shoot.
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    #[schemars(extend("title" = "x-required"))]
    pub shoot: Blob,
}

/// Error decoding a blob of a [`Cluster`].
#[derive(Debug)]
pub struct ClusterDecodeError {
    /// Which blob (`shoot`, `seed`, `cloudProfile`).
    pub field: &'static str,
    /// The serde error.
    pub source: serde_json::Error,
}

impl std::fmt::Display for ClusterDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot decode cluster spec.{}: {}",
            self.field, self.source
        )
    }
}

impl std::error::Error for ClusterDecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Cluster {
    /// Decodes the shoot (`None` when the blob is null, as `GetCluster` treats a nil raw object).
    pub fn shoot(&self) -> Result<Option<Shoot>, ClusterDecodeError> {
        decode(&self.spec.shoot, "shoot")
    }

    /// The seed blob, if present.
    pub fn seed(&self) -> Option<&Blob> {
        self.spec.seed.as_ref().filter(|v| !v.is_null())
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    raw: &Blob,
    field: &'static str,
) -> Result<Option<T>, ClusterDecodeError> {
    if raw.is_null() {
        return Ok(None);
    }
    raw.decode()
        .map(Some)
        .map_err(|source| ClusterDecodeError { field, source })
}
