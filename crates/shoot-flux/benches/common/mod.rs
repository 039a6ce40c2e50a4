//! The case both benchmarks measure: Flux's installation (the bundled stand-in release's objects
//! selected, moved to another registry and namespace, and serialised into ManagedResource Secret
//! data).

use extension_framework::registry::Registry;
use shoot_flux::manifests::{Selection, select};
use std::hint::black_box;

/// One measured operation.
pub type Case = (String, Box<dyn Fn()>);

/// `flux/installation`.
pub fn cases() -> Vec<Case> {
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
    let installation = move || {
        let objects = select(black_box(&release), black_box(&selection));
        let mut registry = Registry::new();
        for object in &objects {
            registry.add_json(object).unwrap();
        }
        black_box(registry.serialized());
    };
    vec![("flux/installation".into(), Box::new(installation))]
}
