//! The cases both benchmarks measure: what a ContainerRuntime reconcile renders (the installer
//! script for a configuration with flags, the pool's ConfigMap and DaemonSet, and the base
//! objects, each serialised into ManagedResource Secret data).

use runtime_gvisor::{config, installer, manifests};
use serde_json::json;
use std::hint::black_box;

/// One measured operation.
pub type Case = (String, Box<dyn Fn()>);

/// `gvisor/installation` and `gvisor/base`.
pub fn cases() -> Vec<Case> {
    let raw = json!({"apiVersion": "gvisor.runtime.extensions.config.gardener.cloud/v1alpha1", "kind": "GVisorConfiguration",
        "configFlags": {"net-raw": "true", "nvproxy": "true", "debug": "false"}});
    let installation = move || {
        let config = config::decode(Some(black_box(&raw))).unwrap();
        let flags = config::runsc_flags(config.as_ref());
        let installation = manifests::Installation {
            pool: "worker-a".into(),
            pool_selector: [("worker.gardener.cloud/pool".to_string(), "worker-a".to_string())].into(),
            image: "europe-docker.pkg.dev/gardener-project/releases/gardener/extensions/runtime-gvisor-installation:v0.31.0".into(),
            script: installer::script("/var/bin/containerruntimes", &flags).unwrap(),
        };
        black_box(installation.objects().unwrap().serialized());
    };
    let base = || {
        black_box(manifests::base().unwrap().serialized());
    };
    vec![
        ("gvisor/installation".into(), Box::new(installation)),
        ("gvisor/base".into(), Box::new(base)),
    ]
}
