//! Create, get, list, update, delete; resourceVersion and error reasons; selectors; pagination.

use crate::common::{Ctx, api_error, widget};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ListParams, PostParams};
use std::collections::BTreeMap;

#[tokio::test]
async fn create_get_update_delete_with_resource_versions() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let created = api
        .create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    assert_eq!(meta.namespace.as_deref(), Some(ctx.ns.as_str()));
    assert_eq!(meta.generation, Some(1));
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();

    let mut fetched = api.get("a").await.unwrap();
    assert_eq!(fetched, created);
    fetched.spec.size = 2;
    let updated = api
        .replace("a", &PostParams::default(), &fetched)
        .await
        .unwrap();
    let rv2: u64 = updated
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1, "resourceVersion must grow");
    assert_eq!(updated.metadata.generation, Some(2));

    // The stale copy (rv1) is rejected with 409 Conflict.
    let (reason, code) = api_error(api.replace("a", &PostParams::default(), &fetched).await);
    assert_eq!((reason.as_str(), code), ("Conflict", 409));

    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());

    let deleted = api.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_right(), "immediate delete answers a Status");
    assert!(api.get_opt("a").await.unwrap().is_none());
    ctx.cleanup().await;
}

#[tokio::test]
async fn error_reasons_match_kubernetes() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let (reason, code) = api_error(api.get("missing").await);
    assert_eq!((reason.as_str(), code), ("NotFound", 404));
    assert!(
        api.get_opt("missing").await.unwrap().is_none(),
        "get_opt maps NotFound to None"
    );

    api.create(&PostParams::default(), &widget("dup", 1))
        .await
        .unwrap();
    let (reason, code) = api_error(api.create(&PostParams::default(), &widget("dup", 1)).await);
    assert_eq!((reason.as_str(), code), ("AlreadyExists", 409));

    // Schema violations: minimum and a bad enum value give 422 Invalid.
    let (reason, code) = api_error(api.create(&PostParams::default(), &widget("neg", -1)).await);
    assert_eq!((reason.as_str(), code), ("Invalid", 422));
    let bad_enum = serde_json::json!({
        "apiVersion": "conformance.gardener-rs.dev/v1", "kind": "Widget",
        "metadata": {"name": "bad"}, "spec": {"size": 1, "color": "purple"}
    });
    let dynamic: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        ctx.client.clone(),
        &ctx.ns,
        &kube::api::ApiResource::erase::<crate::common::Widget>(&()),
    );
    let (reason, code) = api_error(
        dynamic
            .create(
                &PostParams::default(),
                &serde_json::from_value(bad_enum).unwrap(),
            )
            .await,
    );
    assert_eq!((reason.as_str(), code), ("Invalid", 422));
    // Missing required field.
    let missing = serde_json::json!({
        "apiVersion": "conformance.gardener-rs.dev/v1", "kind": "Widget",
        "metadata": {"name": "nosize"}, "spec": {}
    });
    let (reason, _) = api_error(
        dynamic
            .create(
                &PostParams::default(),
                &serde_json::from_value(missing).unwrap(),
            )
            .await,
    );
    assert_eq!(reason, "Invalid");
    // Invalid names.
    let (reason, code) = api_error(
        api.create(&PostParams::default(), &widget("Not_Valid", 1))
            .await,
    );
    assert_eq!((reason.as_str(), code), ("Invalid", 422));
    // Objects in a namespace that does not exist.
    let elsewhere: kube::Api<crate::common::Widget> =
        kube::Api::namespaced(ctx.client.clone(), "no-such-namespace-x");
    let (reason, code) = api_error(
        elsewhere
            .create(&PostParams::default(), &widget("a", 1))
            .await,
    );
    assert_eq!((reason.as_str(), code), ("NotFound", 404));
    ctx.cleanup().await;
}

#[tokio::test]
async fn unknown_fields_are_pruned_and_generate_name_works() {
    let ctx = Ctx::new().await;
    let dynamic: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        ctx.client.clone(),
        &ctx.ns,
        &kube::api::ApiResource::erase::<crate::common::Widget>(&()),
    );
    let obj = serde_json::json!({
        "apiVersion": "conformance.gardener-rs.dev/v1", "kind": "Widget",
        "metadata": {"generateName": "w-"}, "spec": {"size": 3, "unknown": "dropped"}, "extra": 1
    });
    let created = dynamic
        .create(
            &PostParams::default(),
            &serde_json::from_value(obj).unwrap(),
        )
        .await
        .unwrap();
    let name = created.metadata.name.clone().unwrap();
    assert!(name.starts_with("w-") && name.len() == 7, "{name}");
    assert_eq!(created.data["spec"], serde_json::json!({"size": 3}));
    assert!(created.data.get("extra").is_none());
    ctx.cleanup().await;
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let ctx = Ctx::new().await;
    let api = ctx.api::<ConfigMap>();
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(name.into());
        cm.metadata.labels = Some(BTreeMap::from([
            ("tier".to_string(), tier.to_string()),
            ("app".into(), "x".into()),
        ]));
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let names = |list: kube::api::ObjectList<ConfigMap>| {
        let mut n: Vec<String> = list
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .collect();
        n.sort();
        n
    };
    // kube-root-ca.crt exists in real namespaces, so always select by label.
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier=web"))
                .await
                .unwrap()
        ),
        ["a", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("app=x,tier!=web"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier in (db,cache)"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("app,!missing,tier notin (db)"))
                .await
                .unwrap()
        ),
        ["a", "c"]
    );
    assert_eq!(
        names(
            api.list(
                &ListParams::default()
                    .labels("app=x")
                    .fields("metadata.name=b")
            )
            .await
            .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(
                &ListParams::default()
                    .labels("app=x")
                    .fields("metadata.name!=b")
            )
            .await
            .unwrap()
        ),
        ["a", "c"]
    );
    ctx.cleanup().await;
}

#[tokio::test]
async fn pagination_with_limit_and_continue() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    for i in 0..5 {
        api.create(&PostParams::default(), &widget(&format!("w{i}"), i))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(2);
    let mut pages = 0;
    loop {
        let page = api.list(&params).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().filter_map(|w| w.metadata.name));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    assert_eq!(seen, ["w0", "w1", "w2", "w3", "w4"]);
    ctx.cleanup().await;
}

/// A list read in pages is one snapshot: every page carries the first page's resourceVersion, so
/// a watch from it sees every change made while the pages were read (informers rely on this).
#[tokio::test]
async fn paginated_lists_keep_the_first_pages_resource_version() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    for i in 0..4 {
        api.create(&PostParams::default(), &widget(&format!("p{i}"), i))
            .await
            .unwrap();
    }
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    let snapshot = first.metadata.resource_version.clone().unwrap();
    // Change an object already returned, then read the rest.
    let changed = first.items[0].metadata.name.clone().unwrap();
    api.patch(
        &changed,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({"spec": {"size": 99}})),
    )
    .await
    .unwrap();
    let token = first.metadata.continue_.clone().unwrap();
    let rest = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(
        rest.metadata.resource_version.as_deref(),
        Some(snapshot.as_str())
    );
    // A watch from the list's version delivers the change to the first page's object.
    let mut events = std::pin::pin!(
        api.watch(&kube::api::WatchParams::default(), &snapshot)
            .await
            .unwrap()
    );
    let seen = crate::common::within(async {
        use futures::StreamExt;
        while let Some(event) = events.next().await {
            if let Ok(kube::api::WatchEvent::Modified(w)) = event
                && w.metadata.name.as_deref() == Some(changed.as_str())
            {
                return w.spec.size;
            }
        }
        -1
    })
    .await;
    assert_eq!(seen, 99);
    ctx.cleanup().await;
}

#[tokio::test]
async fn finalizers_delay_deletion() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let mut w = widget("f", 1);
    w.metadata.finalizers = Some(vec!["example.com/a".into(), "example.com/b".into()]);
    api.create(&PostParams::default(), &w).await.unwrap();

    let pending = api.delete("f", &DeleteParams::default()).await.unwrap();
    let pending = pending
        .left()
        .expect("deletion with finalizers returns the object");
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert_eq!(
        pending.metadata.generation,
        Some(2),
        "setting deletionTimestamp bumps generation of custom resources"
    );

    // No new finalizers on a deleting object.
    let mut more = pending.clone();
    more.metadata
        .finalizers
        .as_mut()
        .unwrap()
        .push("example.com/c".into());
    let (reason, _) =
        crate::common::api_error(api.replace("f", &PostParams::default(), &more).await);
    assert_eq!(reason, "Invalid");

    // Removing one finalizer keeps the object; removing the last deletes it.
    let patch = serde_json::json!({"metadata": {"finalizers": ["example.com/b"]}});
    let still = api
        .patch(
            "f",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    assert_eq!(
        still.metadata.finalizers,
        Some(vec!["example.com/b".to_string()])
    );
    let patch = serde_json::json!({"metadata": {"finalizers": null}});
    api.patch(
        "f",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .unwrap();
    assert!(api.get_opt("f").await.unwrap().is_none());
    ctx.cleanup().await;
}

#[tokio::test]
async fn delete_preconditions_are_checked() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let created = api
        .create(&PostParams::default(), &widget("p", 1))
        .await
        .unwrap();
    let stale = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            resource_version: Some("1".into()),
            uid: None,
        }),
        ..DeleteParams::default()
    };
    let (reason, code) = api_error(api.delete("p", &stale).await);
    assert_eq!((reason.as_str(), code), ("Conflict", 409));
    let current = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            resource_version: created.metadata.resource_version.clone(),
            uid: created.metadata.uid.clone(),
        }),
        ..DeleteParams::default()
    };
    api.delete("p", &current).await.unwrap();
    ctx.cleanup().await;
}

#[tokio::test]
async fn secret_string_data_is_merged_into_data() {
    let ctx = Ctx::new().await;
    let api = ctx.api::<k8s_openapi::api::core::v1::Secret>();
    let mut secret = k8s_openapi::api::core::v1::Secret::default();
    secret.metadata.name = Some("s".into());
    secret.data = Some([("a".to_string(), k8s_openapi::ByteString(b"1".to_vec()))].into());
    secret.string_data = Some([("b".to_string(), "two".to_string())].into());
    let created = api.create(&PostParams::default(), &secret).await.unwrap();
    assert!(created.string_data.is_none(), "stringData is write-only");
    let data = created.data.unwrap();
    assert_eq!(data["a"].0, b"1");
    assert_eq!(data["b"].0, b"two");
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    ctx.cleanup().await;
}

#[tokio::test]
async fn delete_collection_removes_the_selected_objects() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    for (name, team) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let mut w = widget(name, 1);
        w.metadata.labels = Some([("team".to_string(), team.to_string())].into());
        api.create(&PostParams::default(), &w).await.unwrap();
    }
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("team=x"),
        )
        .await
        .unwrap();
    if let Some(list) = deleted.left() {
        let mut names: Vec<String> = list
            .items
            .into_iter()
            .filter_map(|w| w.metadata.name)
            .collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);
    }
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|w| w.metadata.name)
        .collect();
    assert_eq!(left, ["c"]);
    ctx.cleanup().await;
}

#[tokio::test]
async fn events_of_both_apis_can_be_recorded() {
    let ctx = Ctx::new().await;
    let recorder = kube::runtime::events::Recorder::new(
        ctx.client.clone(),
        kube::runtime::events::Reporter {
            controller: "conformance".into(),
            instance: None,
        },
    );
    let w = ctx
        .widgets()
        .create(&PostParams::default(), &widget("ev", 1))
        .await
        .unwrap();
    let reference = kube::Resource::object_ref(&w, &());
    recorder
        .publish(
            &kube::runtime::events::Event {
                type_: kube::runtime::events::EventType::Normal,
                reason: "Tested".into(),
                note: Some("events.k8s.io/v1 works".into()),
                action: "Test".into(),
                secondary: None,
            },
            &reference,
        )
        .await
        .unwrap();
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(ctx.client.clone(), &ctx.ns);
    let list = events.list(&ListParams::default()).await.unwrap();
    assert!(
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("Tested"))
    );
    ctx.cleanup().await;
}
