//! kube-runtime on top of the server: watcher, reflector and a Controller running end to end.

use crate::common::{Ctx, Widget, widget, within};
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::wait::await_condition;
use kube::runtime::{reflector, watcher};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] kube::Error);

/// Writes `status.phase = "size-<n>"` for every widget.
async fn reconcile(widget: Arc<Widget>, api: Arc<Api<Widget>>) -> Result<Action, ReconcileError> {
    let phase = format!("size-{}", widget.spec.size);
    if widget.status.as_ref().and_then(|s| s.phase.as_deref()) != Some(phase.as_str()) {
        let name = widget.metadata.name.as_deref().unwrap_or_default();
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": phase}})),
        )
        .await?;
    }
    Ok(Action::await_change())
}

fn phase_is(expected: &'static str) -> impl Fn(Option<&Widget>) -> bool {
    move |w| {
        w.and_then(|w| w.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some(expected)
    }
}

#[tokio::test]
async fn controller_reconciles_end_to_end() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let controller = Controller::new(api.clone(), watcher::Config::default())
        .run(
            reconcile,
            |_, _, _| Action::requeue(Duration::from_millis(100)),
            Arc::new(api.clone()),
        )
        .for_each(|_| async {});
    let task = tokio::spawn(controller);

    api.create(&PostParams::default(), &widget("c", 3))
        .await
        .unwrap();
    within(await_condition(api.clone(), "c", phase_is("size-3")))
        .await
        .unwrap();
    api.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 4}})),
    )
    .await
    .unwrap();
    within(await_condition(api.clone(), "c", phase_is("size-4")))
        .await
        .unwrap();

    // Recovery: with all watches closed (fake) the controller re-watches and still sees changes.
    if let Some(fake) = &ctx.fake {
        fake.close_watches();
        fake.compact();
        api.patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 5}})),
        )
        .await
        .unwrap();
        within(await_condition(api.clone(), "c", phase_is("size-5")))
            .await
            .unwrap();
    }
    task.abort();
    ctx.cleanup().await;
}

#[tokio::test]
async fn reflector_store_follows_the_server() {
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    api.create(&PostParams::default(), &widget("r1", 1))
        .await
        .unwrap();
    let (reader, writer) = reflector::store::<Widget>();
    // page_size(1) makes the initial list paginate.
    let mut events = reflector(
        writer,
        watcher(api.clone(), watcher::Config::default().page_size(1)),
    )
    .boxed();
    let names = || {
        let mut names: Vec<String> = reader
            .state()
            .iter()
            .filter_map(|w| w.metadata.name.clone())
            .collect();
        names.sort();
        names
    };
    while !matches!(
        within(events.next()).await,
        Some(Ok(watcher::Event::InitDone))
    ) {}
    assert_eq!(names(), ["r1"]);
    api.create(&PostParams::default(), &widget("r2", 1))
        .await
        .unwrap();
    api.delete("r1", &Default::default()).await.unwrap();
    while names() != ["r2"] {
        within(events.next())
            .await
            .expect("watch continues")
            .expect("no watch error");
    }
    ctx.cleanup().await;
}
