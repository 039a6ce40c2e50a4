//! Watch semantics: replay from a resourceVersion, selectors, bookmarks, expiry.

use crate::common::{Ctx, widget, within};
use futures::{StreamExt, TryStreamExt};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

fn describe(event: &WatchEvent<crate::common::Widget>) -> String {
    match event {
        WatchEvent::Added(w) => format!("ADDED {}", w.metadata.name.as_deref().unwrap_or("")),
        WatchEvent::Modified(w) => format!("MODIFIED {}", w.metadata.name.as_deref().unwrap_or("")),
        WatchEvent::Deleted(w) => format!("DELETED {}", w.metadata.name.as_deref().unwrap_or("")),
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    }
}

/// The first `n` non-bookmark events of a watch from `rv`, described.
async fn first_events(
    api: &kube::Api<crate::common::Widget>,
    params: &WatchParams,
    rv: &str,
    n: usize,
) -> Vec<String> {
    let stream = api.watch(params, rv).await.unwrap();
    within(
        stream
            .map_ok(|e| describe(&e))
            .try_filter(|e| futures::future::ready(e != "BOOKMARK"))
            .take(n)
            .try_collect(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn watch_replays_changes_after_a_resource_version_in_order() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let a = api
        .create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    let from = a.metadata.resource_version.clone().unwrap();
    api.create(&PostParams::default(), &widget("b", 1))
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();

    let events = first_events(&api, &WatchParams::default().timeout(10), &from, 3).await;
    assert_eq!(events, ["ADDED b", "MODIFIED a", "DELETED b"]);

    // Every event object carries a resourceVersion (kube's watcher relies on it).
    let stream = api
        .watch(&WatchParams::default().timeout(10), &from)
        .await
        .unwrap();
    let first = within(stream.boxed().try_next()).await.unwrap().unwrap();
    match first {
        WatchEvent::Added(w) => assert!(w.metadata.resource_version.is_some()),
        other => panic!("unexpected {other:?}"),
    }
    ctx.cleanup().await;
}

#[tokio::test]
async fn watch_from_zero_starts_with_synthetic_added_events_then_live_changes() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    api.create(&PostParams::default(), &widget("existing", 1))
        .await
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .unwrap()
        .boxed();
    let first = within(stream.try_next()).await.unwrap().unwrap();
    assert_eq!(describe(&first), "ADDED existing");
    api.create(&PostParams::default(), &widget("live", 1))
        .await
        .unwrap();
    loop {
        let next = within(stream.try_next()).await.unwrap().unwrap();
        match describe(&next).as_str() {
            "BOOKMARK" => continue,
            other => {
                assert_eq!(other, "ADDED live");
                break;
            }
        }
    }
    ctx.cleanup().await;
}

#[tokio::test]
async fn label_selector_watch_sees_objects_leave_and_enter_the_selection() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let mut w = widget("sel", 1);
    w.metadata.labels = Some([("team".to_string(), "a".to_string())].into());
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    let rv = created.metadata.resource_version.unwrap();
    api.patch(
        "sel",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"team": "b"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "sel",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
    )
    .await
    .unwrap();
    let events = first_events(
        &api,
        &WatchParams::default().labels("team=a").timeout(10),
        &rv,
        2,
    )
    .await;
    assert_eq!(events, ["DELETED sel", "ADDED sel"]);
    ctx.cleanup().await;
}

#[tokio::test]
async fn streaming_list_ends_initial_events_with_a_bookmark() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    api.create(&PostParams::default(), &widget("one", 1))
        .await
        .unwrap();
    let params = WatchParams::streaming_lists().timeout(10);
    let mut stream = api.watch(&params, "").await.unwrap().boxed();
    let first = within(stream.try_next()).await.unwrap().unwrap();
    assert_eq!(describe(&first), "ADDED one");
    let second = within(stream.try_next()).await.unwrap().unwrap();
    match second {
        WatchEvent::Bookmark(b) => {
            assert_eq!(
                b.metadata
                    .annotations
                    .get("k8s.io/initial-events-end")
                    .map(String::as_str),
                Some("true")
            );
            assert!(!b.metadata.resource_version.is_empty());
        }
        other => panic!(
            "expected the initial-events-end bookmark, got {}",
            describe(&other)
        ),
    }
    ctx.cleanup().await;
}

#[tokio::test]
async fn periodic_bookmarks_carry_the_latest_resource_version() {
    skip_unless_fake!();
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let created = api
        .create(&PostParams::default(), &widget("b", 1))
        .await
        .unwrap();
    let params = WatchParams::default().timeout(10);
    let rv = created.metadata.resource_version.unwrap();
    let mut stream = api.watch(&params, &rv).await.unwrap().boxed();
    let event = within(stream.try_next()).await.unwrap().unwrap();
    match event {
        WatchEvent::Bookmark(b) => assert!(
            b.metadata.resource_version.parse::<u64>().unwrap() >= rv.parse::<u64>().unwrap()
        ),
        other => panic!("expected a bookmark, got {}", describe(&other)),
    }
    ctx.cleanup().await;
}

#[tokio::test]
async fn watch_from_a_compacted_resource_version_expires() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let created = api
        .create(&PostParams::default(), &widget("old", 1))
        .await
        .unwrap();
    let old_rv = match &ctx.fake {
        Some(fake) => {
            api.create(&PostParams::default(), &widget("newer", 1))
                .await
                .unwrap();
            fake.compact();
            created.metadata.resource_version.unwrap()
        }
        // On a real cluster the first resourceVersions are long compacted.
        None => "1".to_string(),
    };
    match api
        .watch(&WatchParams::default().timeout(10), &old_rv)
        .await
    {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 410),
        Ok(stream) => {
            let first = within(stream.boxed().try_next()).await.unwrap().unwrap();
            match first {
                WatchEvent::Error(e) => {
                    assert_eq!(e.code, 410);
                    assert_eq!(e.reason, "Expired");
                }
                other => panic!("expected 410, got {}", describe(&other)),
            }
        }
        Err(other) => panic!("unexpected error {other}"),
    }
    ctx.cleanup().await;
}
