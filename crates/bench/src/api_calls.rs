//! API calls per reconcile, from the test API server's request log: deterministic counts by verb
//! and resource for each step of an object's life, with the extension running in-process on a
//! client that identifies itself (as the binaries do).

use crate::fixtures::{self, Kind};
use anyhow::{Result, bail};
use extension_framework::Manager;
use extension_framework::options::Options;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use test_apiserver::{RequestRecord, RunningServer};

const AGENT: &str = "bench-extension/";

/// The requests of one step, by `verb resource[/subresource]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Step {
    /// `"get extensions": 1`, …
    pub requests: BTreeMap<String, usize>,
    /// GETs and LISTs, but not the watches' LISTs.
    pub reads: usize,
    /// Creates, updates, patches and deletes.
    pub writes: usize,
}

/// The steps of one kind, in order: `create`, `reconcile`, `migrate`, `restore`, `delete`.
pub type Steps = BTreeMap<&'static str, Step>;

fn manager(kind: Kind) -> Manager {
    match kind {
        Kind::Extension => mwe::manager(),
        Kind::OperatingSystemConfig => os_coreos::manager(),
        Kind::ContainerRuntime => runtime_gvisor::manager(&runtime_gvisor::Flags::default()),
    }
}

/// Measures every step of `kind`.
pub async fn measure(kind: Kind) -> Result<Steps> {
    let server = fixtures::seed(1, 1024).await?;
    let namespace = fixtures::namespace(0);
    let manager = manager(kind);
    let mut options = Options::embedded(&namespace);
    // Health checks run on their own schedule; their calls are not the reconcile's.
    options.disable_controllers = manager
        .controller_names()
        .into_iter()
        .filter(|n| n.starts_with("healthcheck-"))
        .collect();
    let running = manager
        .start(options, server.client_as(&format!("{AGENT}0")).await?)
        .await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(server.client().await?, &namespace, &kind.api_resource());
    let name = "obj-00000";
    // Let the watches and the heartbeat settle, so that only the steps are counted.
    quiesce(&server).await;
    let mut steps = Steps::new();

    server.clear_requests();
    fixtures::create_objects(&server, kind, 1, 1)?;
    wait(&api, name, |o| done(o, "Create")).await?;
    steps.insert("create", step(&server).await);

    for (label, operation, type_) in [
        ("reconcile", "reconcile", "Reconcile"),
        ("restore", "restore", "Restore"),
        ("migrate", "migrate", "Migrate"),
    ] {
        server.clear_requests();
        let since = last_update(&api.get(name).await?);
        annotate(&api, name, operation).await?;
        wait(&api, name, |o| done(o, type_) && last_update(o) != since).await?;
        steps.insert(label, step(&server).await);
    }

    // Migrate dropped the finalizer; a restore puts it back, then delete.
    annotate(&api, name, "restore").await?;
    wait(&api, name, |o| {
        done(o, "Restore") && !o.metadata.finalizers.clone().unwrap_or_default().is_empty()
    })
    .await?;
    quiesce(&server).await;
    server.clear_requests();
    api.delete(name, &Default::default()).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.get_opt(name).await?.is_some() {
        if Instant::now() > deadline {
            bail!("{name} was not deleted");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    steps.insert("delete", step(&server).await);
    running.shutdown().await?;
    Ok(steps)
}

fn done(object: &DynamicObject, type_: &str) -> bool {
    let op = &object.data["status"]["lastOperation"];
    op["type"] == type_
        && op["state"] == "Succeeded"
        && object
            .metadata
            .annotations
            .as_ref()
            .is_none_or(|a| !a.contains_key("gardener.cloud/operation"))
}

/// The last operation's type and time (times have second resolution: the type tells steps
/// within one second apart).
fn last_update(object: &DynamicObject) -> Value {
    let op = &object.data["status"]["lastOperation"];
    json!([op["type"], op["lastUpdateTime"]])
}

async fn annotate(api: &Api<DynamicObject>, name: &str, operation: &str) -> Result<()> {
    let patch = json!({"metadata": {"annotations": {"gardener.cloud/operation": operation}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

async fn wait(
    api: &Api<DynamicObject>,
    name: &str,
    condition: impl Fn(&DynamicObject) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(object) = api.get_opt(name).await?
            && condition(&object)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            let object = api.get_opt(name).await?;
            bail!(
                "{name} did not get there: {}",
                serde_json::to_string(&object.map(|o| (o.metadata.annotations, o.data)))?
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the extension has sent nothing for 300 ms (trailing writes of a step land).
async fn quiesce(server: &RunningServer) {
    let mut seen = usize::MAX;
    loop {
        let now = server.rbac_requests(AGENT).len();
        if now == seen {
            return;
        }
        seen = now;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn step(server: &RunningServer) -> Step {
    quiesce(server).await;
    let mut step = Step::default();
    let requests: Vec<RequestRecord> = server
        .requests()
        .into_iter()
        .filter(|r| r.user_agent.starts_with(AGENT) && !r.resource.is_empty())
        .collect();
    for record in &requests {
        // Watches, their lists and the heartbeat Lease run on their own schedule.
        let watch_list = record.verb == "list" && is_watch_list(record, &requests);
        if record.verb == "watch" || watch_list || record.resource == "leases" {
            continue;
        }
        *step
            .requests
            .entry(format!("{} {}", record.verb, record.full_resource()))
            .or_default() += 1;
        if record.verb == "get" || record.verb == "list" {
            step.reads += 1;
        }
        if record.is_write() {
            step.writes += 1;
        }
    }
    step
}

/// Whether a LIST is a watch's (re)list: a watch of the same resource, namespace and selectors
/// follows it (an informer's list and watch; controller-runtime's cached reads are no requests).
fn is_watch_list(list: &RequestRecord, requests: &[RequestRecord]) -> bool {
    requests.iter().any(|watch| {
        watch.verb == "watch"
            && watch.full_resource() == list.full_resource()
            && watch.namespace == list.namespace
            && selectors(&watch.query) == selectors(&list.query)
    })
}

/// The label and field selectors of a query string.
fn selectors(query: &str) -> [Option<&str>; 2] {
    let find = |key: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
    };
    [find("labelSelector"), find("fieldSelector")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(verb: &str, resource: &str, query: &str) -> RequestRecord {
        RequestRecord {
            time: String::new(),
            verb: verb.into(),
            method: "GET".into(),
            path: String::new(),
            query: query.into(),
            group: String::new(),
            version: "v1".into(),
            resource: resource.into(),
            subresource: String::new(),
            namespace: "shoot--a--b".into(),
            name: String::new(),
            content_type: String::new(),
            field_manager: String::new(),
            user_agent: AGENT.into(),
            code: 200,
        }
    }

    #[test]
    fn a_list_is_a_watch_list_when_a_watch_of_the_same_selection_follows() {
        let list = request(
            "list",
            "managedresources",
            "labelSelector=origin%3Do&limit=500",
        );
        let watch = request(
            "watch",
            "managedresources",
            "allowWatchBookmarks=true&labelSelector=origin%3Do&watch=true",
        );
        let other = request("watch", "managedresources", "watch=true");
        assert!(is_watch_list(&list, &[list.clone(), watch]));
        assert!(!is_watch_list(&list, &[list.clone(), other]));
        let actuators = request("list", "containerruntimes", "");
        let theirs = request("watch", "managedresources", "watch=true");
        assert!(!is_watch_list(&actuators, &[actuators.clone(), theirs]));
    }
}
