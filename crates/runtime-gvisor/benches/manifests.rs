//! Rendering cost of what a ContainerRuntime reconcile writes: the installer script for a
//! configuration with flags, the pool's ConfigMap and DaemonSet, and the base objects, each
//! serialised into ManagedResource Secret data. `cargo bench -p gardener-extension-runtime-gvisor`.

use criterion::{Criterion, criterion_group, criterion_main};
use runtime_gvisor::{config, installer, manifests};
use serde_json::json;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let raw = json!({"apiVersion": "gvisor.runtime.extensions.config.gardener.cloud/v1alpha1", "kind": "GVisorConfiguration",
        "configFlags": {"net-raw": "true", "nvproxy": "true", "debug": "false"}});
    c.bench_function("gvisor/installation", |b| {
        b.iter(|| {
            let config = config::decode(Some(black_box(&raw))).unwrap();
            let flags = config::runsc_flags(config.as_ref());
            let installation = manifests::Installation {
                pool: "worker-a".into(),
                pool_selector: [("worker.gardener.cloud/pool".to_string(), "worker-a".to_string())].into(),
                image: "europe-docker.pkg.dev/gardener-project/releases/gardener/extensions/runtime-gvisor-installation:v0.31.0".into(),
                script: installer::script("/var/bin/containerruntimes", &flags).unwrap(),
            };
            installation.objects().unwrap().serialized()
        })
    });
    c.bench_function("gvisor/base", |b| {
        b.iter(|| manifests::base().unwrap().serialized())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
