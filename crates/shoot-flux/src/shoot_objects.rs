//! The objects shoot-flux puts into the shoot, grouped by ManagedResource: the source and
//! Kustomization, and the synced Secrets with the `shoot-info` ConfigMap.

use crate::api::{FluxConfig, KUSTOMIZE_API_VERSION};
use extension_framework::Error;
use extension_framework::config::{FieldError, FieldPath};
use gardener_api::core::Shoot;
use gardener_api::extensions::ErrorCode;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The label on every Secret and ConfigMap the extension manages in the shoot.
pub const MANAGED_BY: (&str, &str) = (
    "app.kubernetes.io/managed-by",
    "gardener-extension-shoot-flux",
);
/// A seed Secret with this annotation (`true`) has its labels copied too.
pub const COPY_LABELS_ANNOTATION: &str = "gardener-extension-shoot-flux/copy-labels";
/// The ConfigMap with facts about the shoot, for `substituteFrom`.
pub const SHOOT_INFO: &str = "shoot-info";

/// The source and the Kustomization, complete (the Kustomization template may omit its type).
pub fn source_objects(config: &FluxConfig) -> Vec<Value> {
    let mut objects = Vec::new();
    if let Some(source) = config.source.as_ref().and_then(|s| s.template.clone()) {
        objects.push(source);
    }
    if let Some(mut kustomization) = config
        .kustomization
        .as_ref()
        .and_then(|k| k.template.clone())
    {
        if let Some(map) = kustomization.as_object_mut() {
            map.insert("apiVersion".into(), json!(KUSTOMIZE_API_VERSION));
            map.insert("kind".into(), json!("Kustomization"));
        }
        objects.push(kustomization);
    }
    objects
}

/// A Secret to copy: its name in `shoot.spec.resources` and its name in the shoot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretCopy {
    /// The name in `shoot.spec.resources`.
    pub resource: String,
    /// The Secret's name in the shoot (`None`: the referenced Secret's name).
    pub target: Option<String>,
}

/// The Secrets the config asks for: `additionalSecretResources`, then the source's credentials.
pub fn secret_copies(config: &FluxConfig) -> Vec<SecretCopy> {
    let mut copies: Vec<SecretCopy> = config
        .additional_secret_resources
        .iter()
        .map(|r| SecretCopy {
            resource: r.name.clone(),
            target: r.target_name.clone(),
        })
        .collect();
    if let Some(source) = &config.source
        && let Some(resource) = &source.secret_resource_name
    {
        let target = source
            .template
            .as_ref()
            .and_then(|t| t.pointer("/spec/secretRef/name"))
            .and_then(Value::as_str);
        if let Some(target) = target {
            copies.push(SecretCopy {
                resource: resource.clone(),
                target: Some(target.into()),
            });
        }
    }
    copies
}

/// Upstream's checks against `shoot.spec.resources`: every referenced name exists and is a Secret.
pub fn validate_references(config: &FluxConfig, shoot: &Shoot) -> Vec<FieldError> {
    let resources = shoot.spec.resources.clone().unwrap_or_default();
    let check = |name: &str, path: FieldPath| -> Option<FieldError> {
        match resources.iter().find(|r| r.name == name) {
            None => Some(FieldError::invalid(
                path,
                name,
                "secret resource name does not match any of the resource names in Shoot.spec.resources[].name",
            )),
            Some(r) if r.resource_ref.kind != "Secret" => Some(FieldError::invalid(
                path,
                name,
                "secret resource name references a resource which is not a secret",
            )),
            Some(_) => None,
        }
    };
    let mut errors = Vec::new();
    if let Some(name) = config
        .source
        .as_ref()
        .and_then(|s| s.secret_resource_name.as_deref())
    {
        errors.extend(check(
            name,
            FieldPath::new("source").child("secretResourceName"),
        ));
    }
    for (i, r) in config.additional_secret_resources.iter().enumerate() {
        errors.extend(check(
            &r.name,
            FieldPath::new("additionalSecretResources")
                .index(i)
                .child("name"),
        ));
    }
    errors
}

fn labels(extra: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = extra.into_iter().collect();
    labels.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    labels
}

/// The shoot Secret for a seed Secret: data and type kept, the managed-by label set, the seed
/// labels copied when the seed Secret asks for it.
pub fn shoot_secret(seed: &Secret, name: &str, namespace: &str) -> Value {
    let copy_labels = seed
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(COPY_LABELS_ANNOTATION))
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True"));
    let seed_labels = if copy_labels {
        seed.metadata.labels.clone().unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    let mut secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(seed_labels)},
        "data": seed.data.clone().unwrap_or_default(),
    });
    if let Some(type_) = &seed.type_ {
        secret["type"] = json!(type_);
    }
    secret
}

/// Reads the seed copies of the Secrets the config asks for and builds their shoot Secrets.
///
/// # Errors
/// As [`extension_framework::referenced::secret`] (configuration problems for bad references,
/// retried errors for Secrets gardenlet has not copied yet).
pub async fn secrets(
    client: &Client,
    namespace: &str,
    shoot: &Shoot,
    config: &FluxConfig,
) -> Result<Vec<Value>, Error> {
    let flux_namespace = config.namespace();
    let mut out = Vec::new();
    for copy in secret_copies(config) {
        let seed =
            extension_framework::referenced::secret(client, namespace, shoot, &copy.resource)
                .await?;
        let referenced = shoot
            .spec
            .resources
            .iter()
            .flatten()
            .find(|r| r.name == copy.resource)
            .map(|r| r.resource_ref.name.clone())
            .unwrap_or_default();
        let name = copy.target.unwrap_or(referenced);
        out.push(shoot_secret(&seed, &name, &flux_namespace));
    }
    Ok(out)
}

/// `shoot-info`: the shoot's identity for Flux's `substituteFrom` (empty values where the shoot has
/// none yet).
pub fn shoot_info(shoot: &Shoot, namespace: &str, garden_identity: &str) -> Value {
    let status = shoot.status.clone().unwrap_or_default();
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": SHOOT_INFO, "namespace": namespace, "labels": labels([])},
        "data": {
            "SHOOT_INFO_CLUSTER_IDENTITY": status.cluster_identity.unwrap_or_default(),
            "SHOOT_INFO_NAME": shoot.metadata.name.clone().unwrap_or_default(),
            "SHOOT_INFO_TECHNICAL_ID": status.technical_id.unwrap_or_default(),
            "SHOOT_INFO_GARDEN_CLUSTER_IDENTITY": garden_identity,
        },
    })
}

/// `invalid providerConfig: <errors>` with `ERR_CONFIGURATION_PROBLEM`.
pub fn invalid(errors: Vec<FieldError>) -> Error {
    Error::context(
        "invalid providerConfig",
        extension_framework::config::ConfigError::Invalid(errors),
    )
    .with_codes([ErrorCode::ConfigurationProblem])
}
