//! Flux's install manifest for a version: fetched from the release (or read from a directory on
//! air-gapped seeds), cached per version, then cut down to the selected components and moved to
//! the configured registry and namespace.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where upstream Flux publishes `install.yaml`; `{version}` is replaced.
pub const DEFAULT_URL_TEMPLATE: &str =
    "https://github.com/fluxcd/flux2/releases/download/{version}/install.yaml";
/// The namespace and registry the release manifest is written for.
const RELEASE_NAMESPACE: &str = "flux-system";
const RELEASE_REGISTRY: &str = "ghcr.io/fluxcd";
/// The label that tells which controller an object belongs to.
const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Redirects followed (GitHub serves release assets through one).
const MAX_REDIRECTS: usize = 5;

/// Why no manifest could be had.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read from the manifests directory.
    #[error("reading Flux {version} manifests from {file}: {source}")]
    Read {
        /// The version.
        version: String,
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The release could not be downloaded.
    #[error("downloading Flux {version} manifests from {url}: {message}")]
    Fetch {
        /// The version.
        version: String,
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The manifest is not YAML.
    #[error("Flux {version} manifests are not valid YAML: {message}")]
    Parse {
        /// The version.
        version: String,
        /// The parser's message.
        message: String,
    },
}

/// Where manifests come from, with a per-version cache of the parsed release.
#[derive(Clone)]
pub struct ManifestSource {
    dir: Option<PathBuf>,
    url_template: String,
    cache: Arc<Mutex<HashMap<String, Arc<Vec<Value>>>>>,
}

impl ManifestSource {
    /// Manifests from `<dir>/<version>/install.yaml` when `dir` is set, else downloaded from
    /// `url_template`.
    pub fn new(dir: Option<PathBuf>, url_template: &str) -> Self {
        Self {
            dir,
            url_template: url_template.into(),
            cache: Arc::default(),
        }
    }

    /// The release's objects for `version` (cached after the first success).
    ///
    /// # Errors
    /// The file is missing, the download fails (non-2xx included), or the YAML does not parse.
    pub async fn release(&self, version: &str) -> Result<Arc<Vec<Value>>, ManifestError> {
        if let Some(cached) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(version)
        {
            return Ok(cached.clone());
        }
        let text = match &self.dir {
            Some(dir) => {
                let file = dir.join(version).join("install.yaml");
                tokio::fs::read_to_string(&file)
                    .await
                    .map_err(|source| ManifestError::Read {
                        version: version.into(),
                        file: file.display().to_string(),
                        source,
                    })?
            }
            None => self.fetch(version).await?,
        };
        let objects: Vec<Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| ManifestError::Parse {
                version: version.into(),
                message: e.to_string(),
            })?;
        let objects = Arc::new(
            objects
                .into_iter()
                .filter(|o| o.is_object())
                .collect::<Vec<_>>(),
        );
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(version.into(), objects.clone());
        Ok(objects)
    }

    async fn fetch(&self, version: &str) -> Result<String, ManifestError> {
        let mut url = self.url_template.replace("{version}", version);
        let fail = |url: &str, message: String| ManifestError::Fetch {
            version: version.into(),
            url: url.into(),
            message,
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| fail(&url, format!("no TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, Empty<Bytes>>(connector);
        for _ in 0..=MAX_REDIRECTS {
            let uri: http::Uri = url
                .parse()
                .map_err(|e| fail(&url, format!("invalid URL: {e}")))?;
            let response = tokio::time::timeout(FETCH_TIMEOUT, client.get(uri.clone()))
                .await
                .map_err(|_| fail(&url, format!("no answer within {FETCH_TIMEOUT:?}")))?
                .map_err(|e| fail(&url, extension_framework::error_chain(&e)))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| fail(&url, format!("{status} without a location")))?;
                url = resolve(&uri, location);
                continue;
            }
            if !status.is_success() {
                return Err(fail(&url, format!("HTTP {status}")));
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| fail(&url, e.to_string()))?
                .to_bytes();
            return String::from_utf8(body.to_vec()).map_err(|e| fail(&url, e.to_string()));
        }
        Err(fail(&url, "too many redirects".into()))
    }
}

/// A redirect's `Location`, absolute or relative to the current URL's scheme and host.
fn resolve(current: &http::Uri, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let scheme = current.scheme_str().unwrap_or("https");
    let authority = current.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("{scheme}://{authority}{location}")
}

/// What to install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Controllers to keep (objects of other controllers are dropped).
    pub components: Vec<String>,
    /// Image registry replacing `ghcr.io/fluxcd`.
    pub registry: String,
    /// Namespace replacing `flux-system`.
    pub namespace: String,
}

/// The release's objects for `selection`: objects of unselected controllers dropped, images moved
/// to the registry, and the namespace renamed (in metadata, subjects and service addresses).
pub fn select(release: &[Value], selection: &Selection) -> Vec<Value> {
    release
        .iter()
        .filter(|o| {
            o.pointer(&format!(
                "/metadata/labels/{}",
                COMPONENT_LABEL.replace('/', "~1")
            ))
            .and_then(Value::as_str)
            .is_none_or(|c| selection.components.iter().any(|s| s == c))
        })
        .map(|o| rewrite(o.clone(), selection))
        .collect()
}

fn rewrite(mut value: Value, selection: &Selection) -> Value {
    match &mut value {
        Value::String(s) => {
            if let Some(image) = s.strip_prefix(&format!("{RELEASE_REGISTRY}/")) {
                *s = format!("{}/{image}", selection.registry);
            } else if s == RELEASE_NAMESPACE {
                *s = selection.namespace.clone();
            } else if s.contains(&format!(".{RELEASE_NAMESPACE}.")) {
                *s = s.replace(
                    &format!(".{RELEASE_NAMESPACE}."),
                    &format!(".{}.", selection.namespace),
                );
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = rewrite(item.take(), selection);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                // Labels and annotations keep their values (they name components, not places).
                if key != "labels" && key != "annotations" {
                    *item = rewrite(item.take(), selection);
                }
            }
        }
        _ => {}
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selection_filters_and_rewrites() {
        let release = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system", "labels": {"app.kubernetes.io/instance": "flux-system"}}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "helm-controller", "namespace": "flux-system", "labels": {"app.kubernetes.io/component": "helm-controller"}}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "source-controller", "namespace": "flux-system", "labels": {"app.kubernetes.io/component": "source-controller"}},
                   "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/fluxcd/source-controller:v1.6.0",
                       "args": ["--events-addr=http://notification-controller.flux-system.svc.cluster.local./"]}]}}}}),
        ];
        let out = select(
            &release,
            &Selection {
                components: vec!["source-controller".into()],
                registry: "registry.example/flux".into(),
                namespace: "gitops".into(),
            },
        );
        assert_eq!(out.len(), 2, "helm-controller dropped, the namespace kept");
        assert_eq!(out[0]["metadata"]["name"], "gitops");
        assert_eq!(
            out[0]["metadata"]["labels"]["app.kubernetes.io/instance"], "flux-system",
            "labels untouched"
        );
        let container = &out[1]["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["image"],
            "registry.example/flux/source-controller:v1.6.0"
        );
        assert_eq!(
            container["args"][0],
            "--events-addr=http://notification-controller.gitops.svc.cluster.local./"
        );
        assert_eq!(out[1]["metadata"]["namespace"], "gitops");
    }
}
