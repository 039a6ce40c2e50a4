//! The ManagedResource registry: typed objects serialised into a ManagedResource's Secret data, as
//! Gardener's `managedresources.Registry` does.
//!
//! # Guarantees
//! The output depends only on the objects, never on the order they were added in or on map
//! iteration: objects are ordered by Gardener's file name (`<gvk>__<namespace>__<name>.yaml`,
//! lower-cased), object keys are sorted, and the concatenated YAML is Brotli-compressed under
//! `data.yaml.br` with fixed parameters. The Secret's checksum, and so its name, change only when
//! an object does.
//!
//! ```
//! use extension_framework::registry::Registry;
//! use k8s_openapi::api::core::v1::ServiceAccount;
//!
//! let mut sa = ServiceAccount::default();
//! sa.metadata.name = Some("gvisor".into());
//! sa.metadata.namespace = Some("kube-system".into());
//! let mut registry = Registry::new();
//! registry.add(&sa).unwrap();
//! assert_eq!(registry.yaml(), "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: gvisor\n  namespace: kube-system\n");
//! let data = registry.serialized();
//! assert!(data.contains_key("data.yaml.br"));
//! ```

use kube::Resource;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Write;

/// The data key GRM decompresses (`resourcesv1alpha1.CompressedDataKey`).
pub const COMPRESSED_DATA_KEY: &str = "data.yaml.br";

/// Why an object could not be added.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Two objects map to the same file name (same kind, namespace and name).
    #[error("duplicate filename in registry: {0:?}")]
    Duplicate(String),
    /// The object does not serialise.
    #[error("serialising {name}: {source}")]
    Serialize {
        /// The file name the object would get.
        name: String,
        /// The serde error.
        source: serde_json::Error,
    },
    /// The YAML writer failed.
    #[error("writing {name} as YAML: {message}")]
    Yaml {
        /// The file name the object would get.
        name: String,
        /// The writer's message.
        message: String,
    },
    /// A Secret's data could not be read back ([`decode`]).
    #[error("reading {key}: {message}")]
    Decode {
        /// The data key.
        key: String,
        /// What was wrong.
        message: String,
    },
}

/// Collects the objects of one ManagedResource.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    objects: BTreeMap<String, String>,
}

/// `lower("<group>/<version>, Kind=<Kind>")__<namespace>__<name with ':' as '_'>`.
fn file_name<T: Resource<DynamicType = ()>>(object: &T) -> String {
    let meta = object.meta();
    format!(
        "{}__{}__{}.yaml",
        format!(
            "{}/{}, Kind={}",
            T::group(&()),
            T::version(&()),
            T::kind(&())
        )
        .to_lowercase(),
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default().replace(':', "_")
    )
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a typed object (k8s-openapi types, the workspace's own CRD types).
    ///
    /// # Errors
    /// [`RegistryError::Duplicate`] for a second object of the same kind, namespace and name.
    pub fn add<T>(&mut self, object: &T) -> Result<&mut Self, RegistryError>
    where
        T: Resource<DynamicType = ()> + Serialize,
    {
        let name = file_name(object);
        if self.objects.contains_key(&name) {
            return Err(RegistryError::Duplicate(name));
        }
        let mut value =
            serde_json::to_value(object).map_err(|source| RegistryError::Serialize {
                name: name.clone(),
                source,
            })?;
        if let Some(map) = value.as_object_mut() {
            // Typed objects always name their type, also where the Rust type leaves it implicit.
            map.insert("apiVersion".into(), T::api_version(&()).into());
            map.insert("kind".into(), T::kind(&()).into());
        }
        let yaml = serde_saphyr::to_string(&sorted(value)).map_err(|e| RegistryError::Yaml {
            name: name.clone(),
            message: e.to_string(),
        })?;
        self.objects.insert(name, yaml);
        Ok(self)
    }

    /// Adds an object given as JSON (objects without a Rust type, e.g. Flux's), named by its own
    /// `apiVersion`, `kind`, namespace and name.
    ///
    /// # Errors
    /// [`RegistryError::Duplicate`] as [`Registry::add`].
    pub fn add_json(&mut self, object: &serde_json::Value) -> Result<&mut Self, RegistryError> {
        let field = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
        };
        let api_version = field("/apiVersion");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let name = format!(
            "{}__{}__{}.yaml",
            format!("{group}/{version}, Kind={}", field("/kind")).to_lowercase(),
            field("/metadata/namespace"),
            field("/metadata/name").replace(':', "_")
        );
        self.insert(name, object.clone())
    }

    fn insert(
        &mut self,
        name: String,
        value: serde_json::Value,
    ) -> Result<&mut Self, RegistryError> {
        if self.objects.contains_key(&name) {
            return Err(RegistryError::Duplicate(name));
        }
        let yaml = serde_saphyr::to_string(&sorted(value)).map_err(|e| RegistryError::Yaml {
            name: name.clone(),
            message: e.to_string(),
        })?;
        self.objects.insert(name, yaml);
        Ok(self)
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The file names, in output order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.objects.keys().map(String::as_str)
    }

    /// All objects as one YAML stream (`---` between documents), in file-name order.
    pub fn yaml(&self) -> String {
        let mut out = String::new();
        for (i, doc) in self.objects.values().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(doc);
            if !doc.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    /// The Secret data under one plain key (`{"config.yaml": yaml}`), as extensions that render
    /// charts store it; GRM reads either form.
    pub fn serialized_as(&self, key: &str) -> BTreeMap<String, Vec<u8>> {
        [(key.to_string(), self.yaml().into_bytes())].into()
    }

    /// The Secret data of the ManagedResource: `{"data.yaml.br": brotli(yaml)}`.
    pub fn serialized(&self) -> BTreeMap<String, Vec<u8>> {
        let mut compressed = Vec::new();
        {
            // Quality 6 and a 4 MiB window, fixed, as Go's brotli writer defaults.
            let mut writer = brotli::CompressorWriter::new(&mut compressed, 4096, 6, 22);
            writer
                .write_all(self.yaml().as_bytes())
                .expect("writing to a Vec cannot fail");
        }
        [(COMPRESSED_DATA_KEY.to_string(), compressed)].into()
    }
}

/// The objects in a ManagedResource Secret's data, read as gardener-resource-manager reads them:
/// [`COMPRESSED_DATA_KEY`] Brotli-decompressed, every other key as YAML documents. Keys in order.
///
/// # Errors
/// [`RegistryError::Decode`] naming the key that is not Brotli, UTF-8 or YAML.
pub fn decode(data: &BTreeMap<String, Vec<u8>>) -> Result<Vec<Value>, RegistryError> {
    use std::io::Read;
    let mut objects = Vec::new();
    for (key, bytes) in data {
        let fail = |message: String| RegistryError::Decode {
            key: key.clone(),
            message,
        };
        let yaml = if key == COMPRESSED_DATA_KEY {
            let mut plain = String::new();
            brotli::Decompressor::new(&bytes[..], 4096)
                .read_to_string(&mut plain)
                .map_err(|e| fail(e.to_string()))?;
            plain
        } else {
            String::from_utf8(bytes.clone()).map_err(|e| fail(e.to_string()))?
        };
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&yaml).map_err(|e| fail(e.to_string()))?;
        objects.extend(docs.into_iter().filter(|d| !d.is_null()));
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
    use std::io::Read;

    fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(name.into());
        cm.metadata.namespace = Some("kube-system".into());
        cm.metadata.labels = Some([("z".into(), "1".into()), ("a".into(), "2".into())].into());
        cm.data = Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        cm
    }

    fn sa(name: &str) -> ServiceAccount {
        let mut sa = ServiceAccount::default();
        sa.metadata.name = Some(name.into());
        sa
    }

    #[test]
    fn output_is_independent_of_insertion_order() {
        let (a, b) = (config_map("a:x", &[("k", "v")]), sa("gvisor"));
        let mut one = Registry::new();
        one.add(&a).unwrap().add(&b).unwrap();
        let mut two = Registry::new();
        two.add(&b).unwrap().add(&a).unwrap();
        assert_eq!(one.serialized(), two.serialized());
        assert_eq!(
            one.names().collect::<Vec<_>>(),
            [
                "/v1, kind=configmap__kube-system__a_x.yaml",
                "/v1, kind=serviceaccount____gvisor.yaml"
            ]
        );
        assert!(
            one.yaml().contains("labels:\n    a: '2'\n    z: '1'\n")
                || one.yaml().contains("labels:\n    a: \"2\"\n    z: \"1\"\n"),
            "{}",
            one.yaml()
        );
        assert!(matches!(
            one.add(&sa("gvisor")),
            Err(RegistryError::Duplicate(_))
        ));
    }

    #[test]
    fn json_objects_are_named_like_typed_ones() {
        let mut typed = Registry::new();
        typed.add(&sa("gvisor")).unwrap();
        let mut untyped = Registry::new();
        untyped
            .add_json(&serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "gvisor"}}))
            .unwrap();
        assert_eq!(typed.serialized(), untyped.serialized());
        untyped
            .add_json(&serde_json::json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": {"name": "a", "namespace": "b"}}))
            .unwrap();
        assert!(
            untyped
                .names()
                .any(|n| n == "source.toolkit.fluxcd.io/v1, kind=gitrepository__b__a.yaml")
        );
    }

    #[test]
    fn compressed_data_round_trips() {
        let mut r = Registry::new();
        r.add(&config_map("c", &[("script", "#!/bin/sh\necho hi\n")]))
            .unwrap();
        let data = r.serialized();
        let mut plain = String::new();
        brotli::Decompressor::new(&data[COMPRESSED_DATA_KEY][..], 4096)
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, r.yaml());
        let back: ConfigMap = serde_saphyr::from_str(&plain).unwrap();
        assert_eq!(back.data.unwrap()["script"], "#!/bin/sh\necho hi\n");
        let decoded = decode(&data).unwrap();
        assert_eq!(decoded[0]["data"]["script"], "#!/bin/sh\necho hi\n");
        let broken = BTreeMap::from([(COMPRESSED_DATA_KEY.to_string(), b"not brotli".to_vec())]);
        assert!(matches!(decode(&broken), Err(RegistryError::Decode { .. })));
    }
}
