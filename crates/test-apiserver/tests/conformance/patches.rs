//! Merge, JSON, strategic and server-side apply patches.

use crate::common::{Ctx, api_error, widget};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn merge_patch_sets_and_removes_fields_and_honours_resource_version() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let created = api
        .create(&PostParams::default(), &widget("m", 1))
        .await
        .unwrap();
    let patched = api
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"note": "hi", "color": "red"}, "metadata": {"labels": {"a": "b"}}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(patched.spec.note.as_deref(), Some("hi"));
    assert_eq!(patched.metadata.labels.unwrap()["a"], "b");
    let patched = api
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"note": null}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.spec.note, None);
    // A merge patch carrying a stale resourceVersion is an optimistic-lock failure.
    let stale = json!({"metadata": {"resourceVersion": created.metadata.resource_version, "finalizers": ["x/y"]}});
    let (reason, code) = api_error(
        api.patch("m", &PatchParams::default(), &Patch::Merge(stale))
            .await,
    );
    assert_eq!((reason.as_str(), code), ("Conflict", 409));
    let fresh = json!({"metadata": {"resourceVersion": patched.metadata.resource_version, "finalizers": ["x/y"]}});
    let with_finalizer = api
        .patch("m", &PatchParams::default(), &Patch::Merge(fresh))
        .await
        .unwrap();
    assert_eq!(
        with_finalizer.metadata.finalizers,
        Some(vec!["x/y".to_string()])
    );
    api.patch(
        "m",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    ctx.cleanup().await;
}

#[tokio::test]
async fn json_patch_test_of_null_passes_on_missing_path() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    api.create(&PostParams::default(), &widget("j", 1))
        .await
        .unwrap();
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]},
        {"op": "replace", "path": "/spec/size", "value": 7}
    ]))
    .unwrap();
    let patched = api
        .patch("j", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert_eq!(
        patched.metadata.finalizers,
        Some(vec!["example.com/f".to_string()])
    );
    assert_eq!(patched.spec.size, 7);
    // Now the path exists, so the same test fails and nothing changes.
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "replace", "path": "/spec/size", "value": 8}
    ]))
    .unwrap();
    let (reason, code) = api_error(
        api.patch("j", &PatchParams::default(), &Patch::Json::<()>(ops))
            .await,
    );
    assert_eq!((reason.as_str(), code), ("Invalid", 422));
    assert_eq!(api.get("j").await.unwrap().spec.size, 7);
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "remove", "path": "/metadata/finalizers"}])).unwrap();
    api.patch("j", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    ctx.cleanup().await;
}

#[tokio::test]
async fn strategic_merge_is_rejected_for_custom_resources_but_works_for_builtins() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    api.create(&PostParams::default(), &widget("s", 1))
        .await
        .unwrap();
    let (reason, code) = api_error(
        api.patch(
            "s",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 2}})),
        )
        .await,
    );
    assert_eq!((reason.as_str(), code), ("UnsupportedMediaType", 415));

    let cms = ctx.api::<ConfigMap>();
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("s".into());
    cm.data = Some([("a".to_string(), "1".to_string())].into());
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let patched = cms
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"b": "2"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap().len(), 2);
    ctx.cleanup().await;
}

#[tokio::test]
async fn server_side_apply_creates_merges_and_tracks_field_managers() {
    let ctx = Ctx::new().await;
    let cms = ctx.api::<ConfigMap>();
    let config = |data: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": data});

    // Apply creates a missing object.
    let created = cms
        .patch(
            "ssa",
            &PatchParams::apply("alice"),
            &Patch::Apply(config(json!({"x": "1", "y": "2"}))),
        )
        .await
        .unwrap();
    assert_eq!(created.data.as_ref().unwrap().len(), 2);
    let managers: Vec<String> = created
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"alice".to_string()), "{managers:?}");

    // A second manager changing alice's field conflicts without force ...
    let (reason, code) = api_error(
        cms.patch(
            "ssa",
            &PatchParams::apply("bob"),
            &Patch::Apply(config(json!({"x": "9"}))),
        )
        .await,
    );
    assert_eq!((reason.as_str(), code), ("Conflict", 409));
    // ... and takes it over with force.
    let forced = cms
        .patch(
            "ssa",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(config(json!({"x": "9", "z": "3"}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.as_ref().unwrap()["x"], "9");
    assert_eq!(
        forced.data.as_ref().unwrap()["y"],
        "2",
        "apply merges with fields of other managers"
    );

    // alice stops applying y: it is removed because nobody else owns it.
    let shrunk = cms
        .patch(
            "ssa",
            &PatchParams::apply("alice"),
            &Patch::Apply(config(json!({}))),
        )
        .await
        .unwrap();
    let data = shrunk.data.unwrap();
    assert!(!data.contains_key("y"), "{data:?}");
    assert_eq!(data["x"], "9");
    assert_eq!(data["z"], "3");
    ctx.cleanup().await;
}

#[tokio::test]
async fn apply_on_custom_resources_and_status() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let cfg = json!({"apiVersion": "conformance.gardener-rs.dev/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {"size": 4}});
    let created = api
        .patch("a", &PatchParams::apply("ctrl"), &Patch::Apply(&cfg))
        .await
        .unwrap();
    assert_eq!(created.spec.size, 4);
    assert_eq!(created.metadata.generation, Some(1));
    let status = json!({"apiVersion": "conformance.gardener-rs.dev/v1", "kind": "Widget", "status": {"phase": "Ready"}});
    let with_status = api
        .patch_status("a", &PatchParams::apply("ctrl"), &Patch::Apply(&status))
        .await
        .unwrap();
    assert_eq!(with_status.status.unwrap().phase.as_deref(), Some("Ready"));
    assert_eq!(
        with_status.metadata.generation,
        Some(1),
        "status writes do not bump generation"
    );
    ctx.cleanup().await;
}
