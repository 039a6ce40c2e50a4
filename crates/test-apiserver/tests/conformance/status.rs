//! The status subresource and generation rules.

use crate::common::{Ctx, WidgetStatus, widget};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn status_is_isolated_from_the_main_resource() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let mut w = widget("s", 1);
    w.status = Some(WidgetStatus {
        phase: Some("Ignored".into()),
    });
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.status, None, "status is dropped on create");

    // The main endpoint ignores status.
    let patched = api
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "X"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status, None);
    assert_eq!(
        patched.metadata.resource_version, created.metadata.resource_version,
        "a no-op write keeps the resourceVersion"
    );

    // The status endpoint changes only status: spec and labels in the body are ignored.
    let body = json!({"metadata": {"labels": {"l": "v"}}, "spec": {"size": 99}, "status": {"phase": "Ready"}});
    let updated = api
        .patch_status("s", &PatchParams::default(), &Patch::Merge(body))
        .await
        .unwrap();
    assert_eq!(
        updated.status.as_ref().unwrap().phase.as_deref(),
        Some("Ready")
    );
    assert_eq!(updated.spec.size, 1);
    assert!(updated.metadata.labels.is_none());
    assert_eq!(
        updated.metadata.generation,
        Some(1),
        "status changes do not bump generation"
    );

    // Metadata changes do not bump generation either; spec changes do.
    let labelled = api
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"l": "v"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let respec = api
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(respec.metadata.generation, Some(2));
    assert_eq!(
        respec.status.unwrap().phase.as_deref(),
        Some("Ready"),
        "spec writes keep status"
    );

    // Clearing a status field with an explicit null through the status endpoint.
    let cleared = api
        .patch_status(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": null}})),
        )
        .await
        .unwrap();
    assert_eq!(cleared.status.unwrap_or_default().phase, None);

    // PUT on /status checks the resourceVersion too.
    let mut stale = created.clone();
    stale.status = Some(WidgetStatus {
        phase: Some("Stale".into()),
    });
    let (reason, _) = crate::common::api_error(
        api.replace_status("s", &PostParams::default(), &stale)
            .await,
    );
    assert_eq!(reason, "Conflict");
    ctx.cleanup().await;
}
