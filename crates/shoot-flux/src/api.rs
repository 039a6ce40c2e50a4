//! `flux.extensions.gardener.cloud/v1alpha1` `FluxConfig`: the Extension's providerConfig,
//! compatible with the maintained upstream extension, plus `syncMode`.

use extension_framework::config::{FieldError, FieldPath, VersionedConfig};
use serde::Deserialize;
use serde_json::{Value, json};

/// The Flux version installed by default.
pub const DEFAULT_VERSION: &str = "v2.9.2";
/// Where Flux's images come from by default.
pub const DEFAULT_REGISTRY: &str = "ghcr.io/fluxcd";
/// The namespace Flux runs in by default, and the default name of the source and Kustomization.
pub const DEFAULT_NAMESPACE: &str = "flux-system";
/// The components Flux installs by default.
pub const DEFAULT_COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];
/// The components every installation needs.
pub const REQUIRED_COMPONENTS: &[&str] = &["source-controller", "kustomize-controller"];
/// The source API.
pub const SOURCE_API_VERSION: &str = "source.toolkit.fluxcd.io/v1";
/// The Kustomization API.
pub const KUSTOMIZE_API_VERSION: &str = "kustomize.toolkit.fluxcd.io/v1";

/// The Extension's providerConfig.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluxConfig {
    /// The Flux installation.
    #[serde(default)]
    pub flux: Option<FluxInstallation>,
    /// The source (Git or OCI repository) Flux syncs from; only together with `kustomization`.
    #[serde(default)]
    pub source: Option<Source>,
    /// The Kustomization applying the source; only together with `source`.
    #[serde(default)]
    pub kustomization: Option<Kustomization>,
    /// More Secrets from `shoot.spec.resources` to copy into the Flux namespace.
    #[serde(default)]
    pub additional_secret_resources: Vec<AdditionalSecretResource>,
    /// `Once` (default: bootstrap, then leave Flux to the shoot's owners) or `Continuous`.
    #[serde(default)]
    pub sync_mode: Option<String>,
}

/// What Flux to install.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluxInstallation {
    /// Flux version (`v2.9.2`).
    #[serde(default)]
    pub version: Option<String>,
    /// Image registry.
    #[serde(default)]
    pub registry: Option<String>,
    /// Namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// All components, replacing the defaults.
    #[serde(default)]
    pub components: Vec<String>,
    /// Components in addition.
    #[serde(default)]
    pub components_extra: Vec<String>,
}

/// The source of the manifests.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// A GitRepository or OCIRepository (`source.toolkit.fluxcd.io/v1`), kept as written.
    #[serde(default)]
    pub template: Option<Value>,
    /// The name in `shoot.spec.resources` of the Secret with the source's credentials.
    #[serde(default)]
    pub secret_resource_name: Option<String>,
}

/// The Kustomization.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    /// A `kustomize.toolkit.fluxcd.io/v1` Kustomization (partial).
    #[serde(default)]
    pub template: Option<Value>,
}

/// A Secret from `shoot.spec.resources` to copy into the Flux namespace.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalSecretResource {
    /// The name in `shoot.spec.resources`.
    #[serde(default)]
    pub name: String,
    /// The Secret's name in the shoot (default: the referenced Secret's name).
    #[serde(default)]
    pub target_name: Option<String>,
}

/// The two sync modes.
pub struct SyncMode;

impl SyncMode {
    /// Bootstrap once; afterwards only Secrets and `shoot-info` follow the config.
    pub const ONCE: &'static str = "Once";
    /// Keep Flux, the source and the Kustomization in sync with the config.
    pub const CONTINUOUS: &'static str = "Continuous";
}

fn set_if_empty(value: &mut Value, pointer: &str, default: Value) {
    let empty = value
        .pointer(pointer)
        .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
    if empty {
        set(value, pointer, default);
    }
}

/// Sets `pointer` (`/a/b/c`), creating objects on the way.
fn set(value: &mut Value, pointer: &str, new: Value) {
    let mut current = value;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if !current.is_object() {
            *current = json!({});
        }
        let map = current.as_object_mut().expect("made an object");
        if i == parts.len() - 1 {
            map.insert(part.to_string(), new);
            return;
        }
        current = map.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl FluxConfig {
    /// The effective installation (after defaulting).
    pub fn installation(&self) -> FluxInstallation {
        self.flux.clone().unwrap_or_default()
    }

    /// The effective sync mode.
    pub fn sync_mode(&self) -> &str {
        self.sync_mode.as_deref().unwrap_or(SyncMode::ONCE)
    }

    /// The components to install: the configured ones (or Flux's defaults), then the extra ones.
    pub fn components(&self) -> Vec<String> {
        let flux = self.installation();
        let mut components: Vec<String> = if flux.components.is_empty() {
            DEFAULT_COMPONENTS.iter().map(|c| c.to_string()).collect()
        } else {
            flux.components.clone()
        };
        components.extend(flux.components_extra.iter().cloned());
        components
    }

    /// The Flux namespace.
    pub fn namespace(&self) -> String {
        self.installation()
            .namespace
            .unwrap_or_else(|| DEFAULT_NAMESPACE.into())
    }

    fn source_template_mut(&mut self) -> Option<&mut Value> {
        self.source.as_mut()?.template.as_mut()
    }

    fn kustomization_template_mut(&mut self) -> Option<&mut Value> {
        self.kustomization.as_mut()?.template.as_mut()
    }
}

impl VersionedConfig for FluxConfig {
    const API_VERSION: &'static str = "flux.extensions.gardener.cloud/v1alpha1";
    const KIND: &'static str = "FluxConfig";

    /// Upstream's `SetObjectDefaults_FluxConfig`, in its order.
    fn set_defaults(&mut self) {
        // 1. The source's identity flows into the Kustomization's sourceRef; an explicitly set
        //    Flux namespace into every empty namespace.
        let explicit_namespace = self.flux.as_ref().and_then(|f| f.namespace.clone());
        self.flux.get_or_insert_with(FluxInstallation::default);
        if let Some(kustomization) = &mut self.kustomization {
            kustomization.template.get_or_insert_with(|| json!({}));
        }
        if let Some(source) = self.source.as_ref().and_then(|s| s.template.clone())
            && let Some(kustomization) = self.kustomization_template_mut()
        {
            for (from, to) in [
                ("/kind", "/spec/sourceRef/kind"),
                ("/metadata/name", "/spec/sourceRef/name"),
                ("/metadata/namespace", "/spec/sourceRef/namespace"),
            ] {
                let value = str_at(&source, from);
                if !value.is_empty() {
                    set_if_empty(kustomization, to, json!(value));
                }
            }
        }
        if let Some(namespace) = explicit_namespace {
            if let Some(source) = self.source_template_mut() {
                set_if_empty(source, "/metadata/namespace", json!(namespace));
            }
            if let Some(kustomization) = self.kustomization_template_mut() {
                set_if_empty(kustomization, "/metadata/namespace", json!(namespace));
                set_if_empty(kustomization, "/spec/sourceRef/namespace", json!(namespace));
            }
        }
        // 2. The installation.
        let flux = self.flux.as_mut().expect("set above");
        flux.version.get_or_insert_with(|| DEFAULT_VERSION.into());
        flux.registry.get_or_insert_with(|| DEFAULT_REGISTRY.into());
        flux.namespace
            .get_or_insert_with(|| DEFAULT_NAMESPACE.into());
        // 3. The source.
        let secret_resource = self
            .source
            .as_ref()
            .and_then(|s| s.secret_resource_name.clone());
        if let Some(source) = self.source_template_mut() {
            set_if_empty(source, "/metadata/name", json!(DEFAULT_NAMESPACE));
            set_if_empty(source, "/metadata/namespace", json!(DEFAULT_NAMESPACE));
            set_if_empty(source, "/spec/interval", json!("1m"));
            if secret_resource.is_some() {
                set_if_empty(source, "/spec/secretRef/name", json!(DEFAULT_NAMESPACE));
            }
        }
        // 4. The Kustomization.
        if let Some(kustomization) = self.kustomization_template_mut() {
            set_if_empty(kustomization, "/metadata/name", json!(DEFAULT_NAMESPACE));
            set_if_empty(
                kustomization,
                "/metadata/namespace",
                json!(DEFAULT_NAMESPACE),
            );
            set_if_empty(
                kustomization,
                "/spec/sourceRef/kind",
                json!("GitRepository"),
            );
            set_if_empty(
                kustomization,
                "/spec/sourceRef/name",
                json!(DEFAULT_NAMESPACE),
            );
            set_if_empty(
                kustomization,
                "/spec/sourceRef/namespace",
                json!(DEFAULT_NAMESPACE),
            );
            set_if_empty(kustomization, "/spec/interval", json!("1m"));
        }
    }

    /// Upstream's validation, except the checks against `shoot.spec.resources`
    /// ([`crate::shoot_objects::validate_references`]). Paths are rooted at the config's fields.
    fn validate(&self, path: &FieldPath) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let flux = self.installation();
        let namespace = flux.namespace.clone().unwrap_or_default();
        if !is_dns_label(&namespace) {
            errors.push(FieldError::invalid(
                path.child("flux").child("namespace"),
                &namespace,
                "must be a valid namespace name",
            ));
        }
        if !flux.components.is_empty() {
            let all = self.components();
            for required in REQUIRED_COMPONENTS {
                if !all.iter().any(|c| c == required) {
                    errors.push(FieldError::invalid(
                        path.child("flux").child("components"),
                        &all,
                        &format!("missing required component {required}"),
                    ));
                }
            }
        }
        if let Some(mode) = &self.sync_mode
            && ![SyncMode::ONCE, SyncMode::CONTINUOUS].contains(&mode.as_str())
        {
            errors.push(FieldError::not_supported(
                path.child("syncMode"),
                mode,
                &[SyncMode::ONCE, SyncMode::CONTINUOUS],
            ));
        }
        match (&self.source, &self.kustomization) {
            (None, Some(_)) => errors.push(FieldError::invalid(
                path.child("source"),
                Value::Null,
                "must specify a source if a kustomization is specified",
            )),
            (Some(_), None) => errors.push(FieldError::invalid(
                path.child("kustomization"),
                Value::Null,
                "must specify a kustomization if a source is specified",
            )),
            _ => {}
        }
        if let Some(source) = &self.source {
            validate_source(source, &path.child("source"), &mut errors);
        }
        if let Some(kustomization) = &self.kustomization {
            validate_kustomization(kustomization, &path.child("kustomization"), &mut errors);
        }
        for (i, resource) in self.additional_secret_resources.iter().enumerate() {
            if let Some(target) = &resource.target_name
                && !is_dns_subdomain(target)
            {
                errors.push(FieldError::invalid(
                    path.child("additionalSecretResources")
                        .index(i)
                        .child("targetName"),
                    target,
                    "must be a valid resource name",
                ));
            }
        }
        errors
    }
}

fn validate_source(source: &Source, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let template_path = path.child("template");
    let Some(template) = &source.template else {
        errors.push(FieldError::required(template_path));
        return;
    };
    let spec = template_path.child("spec");
    match (str_at(template, "/apiVersion"), str_at(template, "/kind")) {
        (SOURCE_API_VERSION, "GitRepository") => {
            if template
                .pointer("/spec/ref")
                .is_none_or(|r| r.as_object().is_none_or(|m| m.is_empty()))
            {
                errors.push(FieldError::required(spec.child("ref")));
            }
            if str_at(template, "/spec/url").is_empty() {
                errors.push(FieldError::required(spec.child("url")));
            }
        }
        (SOURCE_API_VERSION, "OCIRepository") => {
            let url = str_at(template, "/spec/url");
            if url.is_empty() {
                errors.push(FieldError::required(spec.child("url")));
            } else if !url.starts_with("oci://") {
                errors.push(FieldError::invalid(
                    spec.child("url"),
                    url,
                    "must start with oci://",
                ));
            }
            match template.pointer("/spec/ref") {
                None => errors.push(FieldError::required(spec.child("ref"))),
                Some(r)
                    if ["tag", "semver", "digest"].iter().all(|k| {
                        r.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .is_empty()
                    }) =>
                {
                    errors.push(FieldError::invalid(
                        spec.child("ref"),
                        r,
                        "must specify a tag, semver or digest",
                    ));
                }
                Some(_) => {}
            }
        }
        (api_version, kind) => errors.push(FieldError::invalid(
            template_path,
            format!("{api_version}, Kind={kind}"),
            "must be a source.toolkit.fluxcd.io/v1 GitRepository or OCIRepository",
        )),
    }
    let secret_ref = str_at(template, "/spec/secretRef/name");
    match (&source.secret_resource_name, secret_ref.is_empty()) {
        (Some(_), true) => errors.push(FieldError::required(spec.child("secretRef"))),
        (None, false) => errors.push(FieldError::required(path.child("secretResourceName"))),
        _ => {}
    }
}

fn validate_kustomization(
    kustomization: &Kustomization,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let template_path = path.child("template");
    let Some(template) = &kustomization.template else {
        errors.push(FieldError::required(template_path));
        return;
    };
    let (api_version, kind) = (str_at(template, "/apiVersion"), str_at(template, "/kind"));
    if !api_version.is_empty() && api_version != KUSTOMIZE_API_VERSION {
        errors.push(FieldError::not_supported(
            template_path.child("apiVersion"),
            api_version,
            &[KUSTOMIZE_API_VERSION],
        ));
    }
    if !kind.is_empty() && kind != "Kustomization" {
        errors.push(FieldError::not_supported(
            template_path.child("kind"),
            kind,
            &["Kustomization"],
        ));
    }
    if str_at(template, "/spec/path").is_empty() {
        errors.push(FieldError::required(
            template_path.child("spec").child("path"),
        ));
    }
}

/// An RFC 1123 label (namespace names).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// An RFC 1123 subdomain (most object names).
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}
