//! Fuzz targets for everything that decodes input written by someone else: the providerConfig
//! decoders (GVisorConfiguration, FluxConfig, os-coreos's ExtensionConfig and its per-shoot
//! override), OSC rendering in both formats, Cluster and Shoot decoding, and the test API
//! server's patches and selectors.
//!
//! # Guarantees
//! [`run`] returns for every input: errors are fine, panics are what the fuzzer finds. Where an
//! output has a consumer, it is checked too (rendered Ignition must parse with `ignition-config`).
//!
//! `cargo xtask fuzz` builds the `fuzz` binary with libFuzzer and coverage instrumentation on the
//! stable toolchain and runs each target on its corpus (`corpus/<target>/`); `cargo test -p fuzz`
//! replays the committed corpora.

use extension_framework::config::{FieldPath, VersionedConfig, decode};
use gardener_api::extensions::{Cluster, OperatingSystemConfig};
use serde_json::Value;

/// One fuzz target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// runtime-gvisor's providerConfig.
    GvisorConfig,
    /// shoot-flux's providerConfig, with defaulting and validation.
    FluxConfig,
    /// os-coreos's `--config` file and a worker pool's providerConfig merged onto it.
    CoreosConfig,
    /// An OperatingSystemConfig rendered as Ignition and as cloud-config.
    OscRender,
    /// A Cluster and the Shoot inside it.
    Cluster,
    /// JSON merge and JSON patches (first line: patch, rest: document) and server-side apply.
    ApiserverPatch,
    /// Label and field selectors, parsed and matched against an object.
    ApiserverSelectors,
}

impl Target {
    /// Every target, in `cargo xtask fuzz`'s order.
    pub const ALL: [Target; 7] = [
        Target::GvisorConfig,
        Target::FluxConfig,
        Target::CoreosConfig,
        Target::OscRender,
        Target::Cluster,
        Target::ApiserverPatch,
        Target::ApiserverSelectors,
    ];

    /// The name: corpus directory and `FUZZ_TARGET` value.
    pub fn name(self) -> &'static str {
        match self {
            Target::GvisorConfig => "gvisor_config",
            Target::FluxConfig => "flux_config",
            Target::CoreosConfig => "coreos_config",
            Target::OscRender => "osc_render",
            Target::Cluster => "cluster",
            Target::ApiserverPatch => "apiserver_patch",
            Target::ApiserverSelectors => "apiserver_selectors",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Feeds one input to a target.
pub fn run(target: Target, data: &[u8]) {
    match target {
        Target::GvisorConfig => {
            if let Ok(value) = serde_json::from_slice::<Value>(data) {
                let _ = runtime_gvisor::config::decode(Some(&value));
            }
        }
        Target::FluxConfig => {
            if let Ok(value) = serde_json::from_slice::<Value>(data)
                && let Ok(config) =
                    decode::<shoot_flux::api::FluxConfig>(&value, &FieldPath::default())
            {
                let _ = config.installation();
            }
        }
        Target::CoreosConfig => coreos_config(data),
        Target::OscRender => osc_render(data),
        Target::Cluster => {
            if let Ok(cluster) = serde_json::from_slice::<Cluster>(data) {
                let _ = cluster.shoot();
            }
        }
        Target::ApiserverPatch => apiserver_patch(data),
        Target::ApiserverSelectors => apiserver_selectors(data),
    }
}

/// Splits `data` at its first newline: `(head, rest)`.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn coreos_config(data: &[u8]) {
    use os_coreos::config::ExtensionConfig;
    let (global, pool) = split(data);
    let Ok(global) = serde_json::from_slice::<Value>(global) else {
        return;
    };
    if let Ok(config) = decode::<ExtensionConfig>(&global, &FieldPath::default()) {
        let pool = serde_json::from_slice::<Value>(pool).ok();
        let _ = config.merged(pool.as_ref());
    }
}

/// The OSC (JSON) in both formats; Ignition that renders must also parse.
fn osc_render(data: &[u8]) {
    use os_coreos::config::ExtensionConfig;
    let Ok(osc) = serde_json::from_slice::<OperatingSystemConfig>(data) else {
        return;
    };
    let secrets = os_coreos::render::SecretData::new();
    for format in ["ignition", "cloud-config"] {
        let raw = serde_json::json!({
            "apiVersion": ExtensionConfig::API_VERSION, "kind": ExtensionConfig::KIND,
            "userDataFormat": format,
        });
        let Ok(config) = decode::<ExtensionConfig>(&raw, &FieldPath::default()) else {
            continue;
        };
        if let Ok(output) = os_coreos::render::render(&osc, &config, &secrets)
            && format == "ignition"
            && let Some(user_data) = output.user_data
        {
            ignition_config::Config::parse_slice(&user_data).expect("rendered Ignition parses");
        }
    }
}

fn apiserver_patch(data: &[u8]) {
    use test_apiserver::patch;
    let (patch_text, doc_text) = split(data);
    let (Ok(body), Ok(doc)) = (
        serde_json::from_slice::<Value>(patch_text),
        serde_json::from_slice::<Value>(doc_text),
    ) else {
        return;
    };
    let mut merged = doc.clone();
    let _ = patch::merge_patch(&mut merged, &body);
    let mut patched = doc.clone();
    let _ = patch::json_patch(&mut patched, &body);
    let writer = patch::Writer {
        manager: "fuzz",
        subresource: "",
        api_version: "v1",
        time: "2026-12-02T00:00:00Z",
    };
    if let Ok((applied, _)) = patch::apply(Some(&doc), &body, &writer, false) {
        let _ = patch::from_fields_v1(&applied);
    }
}

fn apiserver_selectors(data: &[u8]) {
    use test_apiserver::selectors::{FieldSelector, LabelSelector};
    let (selector, object) = split(data);
    let Ok(selector) = std::str::from_utf8(selector) else {
        return;
    };
    let object = serde_json::from_slice::<Value>(object).unwrap_or(Value::Null);
    if let Ok(labels) = LabelSelector::parse(selector) {
        let _ = labels.matches(&object);
    }
    if let Ok(fields) = FieldSelector::parse(selector) {
        let _ = fields.matches(&object);
    }
}
