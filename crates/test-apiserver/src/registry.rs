//! The resource types the server knows: built-ins and live-registered CRDs.

use crate::error::{ApiError, ApiResult};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One served resource (a group/version/plural).
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: String,
    /// API version (`v1`, `v1alpha1`, ...).
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name (URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names for discovery.
    pub short_names: Vec<String>,
    /// Whether `/status` is a separate subresource (the main endpoint then ignores `.status`).
    pub status_subresource: bool,
    /// Whether `metadata.generation` is maintained.
    pub has_generation: bool,
    /// Defined by a CustomResourceDefinition (strategic merge patches are rejected with 415).
    pub custom: bool,
    /// `openAPIV3Schema` of this version (custom resources only).
    pub schema: Option<Value>,
}

impl ResourceType {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether this is `apiextensions.k8s.io` CustomResourceDefinitions (writes register types).
    pub fn is_crd(&self) -> bool {
        self.group == CRD_GROUP && self.plural == "customresourcedefinitions"
    }

    /// Whether this is core Namespaces (deletion terminates the content).
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }

    /// The storage key shared by all versions of a resource.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource {
            group: self.group.clone(),
            plural: self.plural.clone(),
        }
    }

    /// Discovery entries (`APIResource`) for the resource and its status subresource.
    pub fn discovery(&self) -> Vec<Value> {
        let verbs = json!([
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ]);
        let mut main = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
        });
        if !self.short_names.is_empty() {
            main["shortNames"] = json!(self.short_names);
        }
        let mut out = vec![main];
        if self.status_subresource {
            out.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        out
    }

    fn builtin(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced,
            short_names: Vec::new(),
            status_subresource: false,
            has_generation: false,
            custom: false,
            schema: None,
        }
    }

    fn with_status(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    fn with_generation(mut self) -> Self {
        self.has_generation = true;
        self
    }

    fn short(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// Storage key of a resource: objects are shared by all its versions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupResource {
    /// API group.
    pub group: String,
    /// Plural.
    pub plural: String,
}

/// All resource types, by (group, version, plural).
#[derive(Clone, Debug, Default)]
pub struct Registry {
    types: BTreeMap<(String, String, String), ResourceType>,
}

/// The CRD resource itself.
pub const CRD_GROUP: &str = "apiextensions.k8s.io";

impl Registry {
    /// The built-in resources: the core kinds controllers use plus generic storage for workload kinds that
    /// ManagedResource payloads contain.
    pub fn with_builtins() -> Self {
        let mut registry = Self::default();
        let builtins = [
            ResourceType::builtin("", "v1", "Namespace", "namespaces", false)
                .with_status()
                .short(&["ns"]),
            ResourceType::builtin("", "v1", "Secret", "secrets", true),
            ResourceType::builtin("", "v1", "ConfigMap", "configmaps", true).short(&["cm"]),
            ResourceType::builtin("", "v1", "ServiceAccount", "serviceaccounts", true)
                .short(&["sa"]),
            ResourceType::builtin("", "v1", "Event", "events", true).short(&["ev"]),
            ResourceType::builtin("", "v1", "Service", "services", true)
                .with_status()
                .short(&["svc"]),
            ResourceType::builtin("", "v1", "Pod", "pods", true)
                .with_status()
                .short(&["po"]),
            ResourceType::builtin("", "v1", "Node", "nodes", false)
                .with_status()
                .short(&["no"]),
            ResourceType::builtin("events.k8s.io", "v1", "Event", "events", true).short(&["ev"]),
            ResourceType::builtin("coordination.k8s.io", "v1", "Lease", "leases", true),
            ResourceType::builtin("apps", "v1", "DaemonSet", "daemonsets", true)
                .with_status()
                .with_generation()
                .short(&["ds"]),
            ResourceType::builtin("apps", "v1", "Deployment", "deployments", true)
                .with_status()
                .with_generation()
                .short(&["deploy"]),
            ResourceType::builtin("apps", "v1", "StatefulSet", "statefulsets", true)
                .with_status()
                .with_generation()
                .short(&["sts"]),
            ResourceType::builtin("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", false),
            ResourceType::builtin(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRole",
                "clusterroles",
                false,
            ),
            ResourceType::builtin(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
                false,
            ),
            ResourceType::builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
            ResourceType::builtin(
                "rbac.authorization.k8s.io",
                "v1",
                "RoleBinding",
                "rolebindings",
                true,
            ),
            ResourceType::builtin(
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
                true,
            )
            .with_status()
            .with_generation()
            .short(&["pdb"]),
            ResourceType::builtin(
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
                true,
            )
            .with_generation()
            .short(&["netpol"]),
            ResourceType::builtin(
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
                "horizontalpodautoscalers",
                true,
            )
            .with_status()
            .short(&["hpa"]),
            ResourceType::builtin(
                "admissionregistration.k8s.io",
                "v1",
                "MutatingWebhookConfiguration",
                "mutatingwebhookconfigurations",
                false,
            )
            .with_generation(),
            ResourceType::builtin(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations",
                false,
            )
            .with_generation(),
            ResourceType::builtin(
                CRD_GROUP,
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
            )
            .with_status()
            .with_generation()
            .short(&["crd", "crds"]),
        ];
        for rt in builtins {
            registry.insert(rt);
        }
        registry
    }

    fn insert(&mut self, rt: ResourceType) {
        self.types.insert(
            (rt.group.clone(), rt.version.clone(), rt.plural.clone()),
            rt,
        );
    }

    /// Looks up a resource by group, version and plural.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    /// Finds the resource serving `apiVersion`/`kind` (used when loading manifests).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        self.types
            .values()
            .find(|rt| rt.api_version() == api_version && rt.kind == kind)
    }

    /// All resource types.
    pub fn all(&self) -> impl Iterator<Item = &ResourceType> {
        self.types.values()
    }

    /// Registers (or re-registers) the served versions of a CRD.
    pub fn register_crd(&mut self, crd: &Value) -> ApiResult<()> {
        let types = types_of_crd(crd)?;
        self.unregister_crd(crd);
        for rt in types {
            self.insert(rt);
        }
        Ok(())
    }

    /// Removes all versions of a CRD.
    pub fn unregister_crd(&mut self, crd: &Value) {
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let plural = crd
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.types
            .retain(|(g, _, p), rt| !(rt.custom && g == group && p == plural));
    }
}

/// Resource types declared by a CRD object, validated like the apiextensions server does.
pub fn types_of_crd(crd: &Value) -> ApiResult<Vec<ResourceType>> {
    let str_at = |p: &str| {
        crd.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let name = str_at("/metadata/name");
    let group = str_at("/spec/group");
    let plural = str_at("/spec/names/plural");
    let kind = str_at("/spec/names/kind");
    let scope = str_at("/spec/scope");
    let mut causes = Vec::new();
    if group.is_empty() {
        causes.push(("spec.group".to_string(), "Required value".to_string()));
    }
    if plural.is_empty() {
        causes.push((
            "spec.names.plural".to_string(),
            "Required value".to_string(),
        ));
    }
    if kind.is_empty() {
        causes.push(("spec.names.kind".to_string(), "Required value".to_string()));
    }
    if name != format!("{plural}.{group}") {
        causes.push((
            "metadata.name".to_string(),
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push((
            "spec.scope".to_string(),
            format!(
                "Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        ));
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push((
            "spec.versions".to_string(),
            "Invalid value: must have exactly one version marked as storage version".to_string(),
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            crate::error::Target {
                group: CRD_GROUP,
                plural: "customresourcedefinitions",
                kind: "CustomResourceDefinition",
                name: &name,
            },
            "CustomResourceDefinition",
            causes,
        ));
    }
    let singular = crd
        .pointer("/spec/names/singular")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let short_names: Vec<String> = crd
        .pointer("/spec/names/shortNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(false))
        .map(|v| ResourceType {
            group: group.clone(),
            version: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced: scope == "Namespaced",
            short_names: short_names.clone(),
            status_subresource: v.pointer("/subresources/status").is_some(),
            has_generation: true,
            custom: true,
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
        })
        .collect())
}
