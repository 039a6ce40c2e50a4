//! Rendering cost of Flux's installation: the release's objects selected, moved to another
//! registry and namespace, and serialised into ManagedResource Secret data (the bundled
//! stand-in release). `cargo bench -p gardener-extension-shoot-flux`.

use criterion::{Criterion, criterion_group, criterion_main};
use extension_framework::registry::Registry;
use shoot_flux::manifests::{Selection, select};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let text = std::fs::read_to_string(format!(
        "{}/v2.9.2/install.yaml",
        shoot_flux::BUNDLED_MANIFESTS
    ))
    .unwrap();
    let release: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
    let selection = Selection {
        components: [
            "source-controller",
            "kustomize-controller",
            "helm-controller",
            "notification-controller",
        ]
        .map(String::from)
        .to_vec(),
        registry: "registry.example.com/fluxcd".into(),
        namespace: "gitops".into(),
    };
    c.bench_function("flux/installation", |b| {
        b.iter(|| {
            let objects = select(black_box(&release), black_box(&selection));
            let mut registry = Registry::new();
            for object in &objects {
                registry.add_json(object).unwrap();
            }
            registry.serialized()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
