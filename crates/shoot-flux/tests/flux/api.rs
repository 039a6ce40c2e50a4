//! Defaulting in upstream's order and every validation rule of extensions.md §3.2.

use extension_framework::config::{FieldPath, decode};
use serde_json::{Value, json};
use shoot_flux::api::FluxConfig;

fn decoded(fields: Value) -> Result<FluxConfig, String> {
    let mut raw =
        json!({"apiVersion": "flux.extensions.gardener.cloud/v1alpha1", "kind": "FluxConfig"});
    raw.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    decode::<FluxConfig>(&raw, &FieldPath::default()).map_err(|e| e.to_string())
}

fn git(spec: Value) -> Value {
    json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": spec})
}

#[test]
fn no_config_installs_flux_only() {
    let c = decoded(json!({})).unwrap();
    let flux = c.installation();
    assert_eq!(
        (
            flux.version.as_deref(),
            flux.registry.as_deref(),
            flux.namespace.as_deref()
        ),
        (Some("v2.9.2"), Some("ghcr.io/fluxcd"), Some("flux-system"))
    );
    assert_eq!(
        c.components(),
        [
            "source-controller",
            "kustomize-controller",
            "helm-controller",
            "notification-controller"
        ]
    );
    assert!(c.source.is_none() && c.kustomization.is_none());
    assert_eq!(c.sync_mode(), "Once");
}

/// Item 44.
#[test]
fn source_and_kustomization_are_defaulted() {
    let c = decoded(json!({
        "source": {"template": git(json!({"url": "https://example.com/repo", "ref": {"branch": "main"}}))},
        "kustomization": {"template": {"spec": {"path": "clusters/prod"}}}
    }))
    .unwrap();
    let source = c.source.unwrap().template.unwrap();
    assert_eq!(
        source["metadata"],
        json!({"name": "flux-system", "namespace": "flux-system"})
    );
    assert_eq!(source["spec"]["interval"], "1m");
    let kustomization = c.kustomization.unwrap().template.unwrap();
    assert_eq!(
        kustomization["metadata"],
        json!({"name": "flux-system", "namespace": "flux-system"})
    );
    assert_eq!(
        kustomization["spec"]["sourceRef"],
        json!({"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"})
    );
    assert_eq!(kustomization["spec"]["interval"], "1m");

    let oci = decoded(json!({
        "source": {"template": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository", "metadata": {"name": "apps"},
                                "spec": {"url": "oci://ghcr.io/o/apps", "ref": {"tag": "latest"}}}},
        "kustomization": {"template": {"spec": {"path": "./"}}}
    }))
    .unwrap();
    let reference = &oci.kustomization.unwrap().template.unwrap()["spec"]["sourceRef"];
    assert_eq!(
        reference,
        &json!({"kind": "OCIRepository", "name": "apps", "namespace": "flux-system"})
    );

    let custom = decoded(json!({
        "flux": {"namespace": "gitops"},
        "source": {"template": git(json!({"url": "u", "ref": {"branch": "b"}})), "secretResourceName": "creds"},
        "kustomization": {"template": {"spec": {"path": "./"}}}
    }))
    .unwrap();
    let source = custom.source.unwrap().template.unwrap();
    assert_eq!(
        source["metadata"]["namespace"], "gitops",
        "an explicit Flux namespace flows into the source"
    );
    assert_eq!(source["spec"]["secretRef"]["name"], "flux-system");
    let kustomization = custom.kustomization.unwrap().template.unwrap();
    assert_eq!(kustomization["metadata"]["namespace"], "gitops");
    assert_eq!(kustomization["spec"]["sourceRef"]["namespace"], "gitops");
}

/// Item 47 (the rules that need no shoot; `secretResourceName` checks are in the end-to-end tests).
#[test]
fn validation_rejects_what_upstream_rejects() {
    let ks = json!({"template": {"spec": {"path": "./"}}});
    let cases = [
        (
            json!({"kustomization": ks}),
            "source: Invalid value: null: must specify a source if a kustomization is specified",
        ),
        (
            json!({"source": {"template": git(json!({"url": "u", "ref": {"branch": "b"}}))}}),
            "kustomization: Invalid value: null: must specify a kustomization if a source is specified",
        ),
        (
            json!({"source": {"template": git(json!({"url": "u"}))}, "kustomization": ks}),
            "source.template.spec.ref: Required value",
        ),
        (
            json!({"source": {"template": git(json!({"ref": {"branch": "b"}}))}, "kustomization": ks}),
            "source.template.spec.url: Required value",
        ),
        (
            json!({"source": {"template": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository", "spec": {"url": "https://x", "ref": {"tag": "t"}}}}, "kustomization": ks}),
            "source.template.spec.url: Invalid value: \"https://x\": must start with oci://",
        ),
        (
            json!({"source": {"template": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository", "spec": {"url": "oci://x", "ref": {}}}}, "kustomization": ks}),
            "source.template.spec.ref: Invalid value",
        ),
        (
            json!({"source": {"template": git(json!({"url": "u", "ref": {"branch": "b"}}))}, "kustomization": {"template": {"spec": {}}}}),
            "kustomization.template.spec.path: Required value",
        ),
        (
            json!({"flux": {"components": ["helm-controller", "kustomize-controller"]}}),
            "flux.components: Invalid value",
        ),
        (
            json!({"source": {"template": {"apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "OCIRepository"}}, "kustomization": ks}),
            "source.template: Invalid value",
        ),
        (
            json!({"flux": {"namespace": "Not_A_Namespace"}}),
            "flux.namespace: Invalid value",
        ),
        (
            json!({"additionalSecretResources": [{"name": "a", "targetName": "Bad Name"}]}),
            "additionalSecretResources[0].targetName: Invalid value: \"Bad Name\": must be a valid resource name",
        ),
        (
            json!({"source": {"template": git(json!({"url": "u", "ref": {"branch": "b"}, "secretRef": {"name": "s"}}))}, "kustomization": ks}),
            "source.secretResourceName: Required value",
        ),
        (
            json!({"syncMode": "Sometimes"}),
            "syncMode: Unsupported value: \"Sometimes\"",
        ),
    ];
    for (fields, want) in cases {
        let message = decoded(fields.clone()).expect_err(&fields.to_string());
        assert!(message.contains(want), "{message}\nshould contain\n{want}");
    }
    assert!(decoded(json!({"flux": {"components": ["source-controller"], "componentsExtra": ["kustomize-controller"]}})).is_ok());
}
