//! CustomResourceDefinitions for every kind of this crate, as the seed (and the test API server) installs them.

use crate::autoscaling::VerticalPodAutoscaler;
use crate::core::ControllerRegistration;
use crate::extensions::{Cluster, ContainerRuntime, Extension, OperatingSystemConfig};
use crate::resources::ManagedResource;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion, CustomResourceSubresourceStatus, CustomResourceSubresources,
    CustomResourceValidation, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResourceExt;

/// Where a CRD is installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Seed clusters (extension kinds, ManagedResource).
    Seed,
    /// The garden cluster. Gardener serves these kinds through gardener-apiserver; the CRDs exist so
    /// tests and the local seed can store registration artifacts in any Kubernetes API.
    Garden,
}

/// A generated CRD with its conventional file name.
pub struct GeneratedCrd {
    /// Seed or garden.
    pub target: Target,
    /// `10-crd-<group>_<plural>.yaml`.
    pub file_name: String,
    /// The CRD.
    pub crd: CustomResourceDefinition,
}

/// All CRDs, in a stable order.
pub fn all() -> Vec<GeneratedCrd> {
    let mut cluster = Cluster::crd();
    // The Go type has no status, but the CRD keeps the status subresource like upstream's.
    cluster.spec.versions[0].subresources = Some(CustomResourceSubresources {
        status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
        scale: None,
    });
    [
        (Target::Seed, cluster),
        (Target::Seed, ContainerRuntime::crd()),
        (Target::Seed, Extension::crd()),
        (Target::Seed, OperatingSystemConfig::crd()),
        (Target::Seed, ManagedResource::crd()),
        (Target::Garden, ControllerRegistration::crd()),
        (Target::Garden, controller_deployment_crd()),
        (Target::Garden, crate::operator::Extension::crd()),
        (Target::Seed, VerticalPodAutoscaler::crd()),
    ]
    .into_iter()
    .map(|(target, crd)| (target, clean_descriptions(crd)))
    .map(|(target, crd)| GeneratedCrd {
        target,
        file_name: format!("10-crd-{}_{}.yaml", crd.spec.group, crd.spec.names.plural),
        crd,
    })
    .collect()
}

/// ControllerDeployment has no `spec`, so its CRD is written out here rather than derived.
fn controller_deployment_crd() -> CustomResourceDefinition {
    let preserve =
        serde_json::json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
    let schema = serde_json::json!({
        "type": "object",
        "description": "How gardenlet installs an extension.",
        "properties": {
            "apiVersion": { "type": "string" },
            "kind": { "type": "string" },
            "metadata": { "type": "object" },
            "helm": {
                "type": "object",
                "properties": {
                    "rawChart": { "type": "string", "description": "Base64 of the gzipped chart tarball." },
                    "values": preserve,
                    "ociRepository": preserve,
                },
            },
            "injectGardenKubeconfig": { "type": "boolean" },
            "resources": {
                "type": "array",
                "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
            },
        },
    });
    let props: JSONSchemaProps =
        serde_json::from_value(schema).expect("hand-written schema is a valid JSONSchemaProps");
    CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some("controllerdeployments.core.gardener.cloud".into()),
            ..ObjectMeta::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: "core.gardener.cloud".into(),
            names: CustomResourceDefinitionNames {
                kind: "ControllerDeployment".into(),
                plural: "controllerdeployments".into(),
                singular: Some("controllerdeployment".into()),
                list_kind: Some("ControllerDeploymentList".into()),
                short_names: Some(vec!["ctrldeploy".into()]),
                categories: None,
            },
            scope: "Cluster".into(),
            versions: vec![CustomResourceDefinitionVersion {
                name: "v1".into(),
                served: true,
                storage: true,
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: Some(props),
                }),
                ..CustomResourceDefinitionVersion::default()
            }],
            ..CustomResourceDefinitionSpec::default()
        },
        status: None,
    }
}

/// Turns rustdoc markup in schema descriptions into plain text for `kubectl explain`.
/// Moves the `x-required` marker of properties into the object's `required` list.
///
/// Serde defaults (Go's zero values on read) make schemars treat every field as optional, so the
/// fields Gardener's CRDs require carry `#[schemars(extend("title" = "x-required"))]`. The marker
/// rides in `title` because the CRD's typed `JSONSchemaProps` drops unknown keys.
fn mark_required(schema: &mut serde_json::Map<String, serde_json::Value>) {
    let Some(serde_json::Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    let mut required: Vec<String> = Vec::new();
    for (name, property) in properties.iter_mut() {
        if let Some(p) = property.as_object_mut()
            && p.get("title").and_then(|t| t.as_str()) == Some("x-required")
        {
            p.remove("title");
            required.push(name.clone());
        }
    }
    if !required.is_empty() {
        required.sort();
        schema.insert("required".into(), serde_json::json!(required));
    }
}

fn clean_descriptions(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(value: &mut serde_json::Value, kind: &str) {
        match value {
            serde_json::Value::Object(map) => {
                // Fields default to Go's zero values when *read*; Gardener's CRDs default nothing.
                map.remove("default");
                mark_required(map);
                for (key, child) in map.iter_mut() {
                    match (key.as_str(), child) {
                        ("description", serde_json::Value::String(text)) => {
                            *text = if text.starts_with("Auto-generated derived type") {
                                format!("{kind} is a specification of an object of kind {kind}.")
                            } else {
                                text.replace("[`", "`").replace("`]", "`")
                            };
                        }
                        (_, child) => walk(child, kind),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, kind)),
            _ => {}
        }
    }
    let kind = crd.spec.names.kind.clone();
    let mut value = serde_json::to_value(crd).expect("CRD serializes");
    walk(&mut value, &kind);
    serde_json::from_value(value).expect("CRD round-trips")
}
