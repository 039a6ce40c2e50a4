//! Stand-ins for environments without shoots (the local seed, extension tests).
//!
//! A seed's gardener-resource-manager applies ManagedResources to the shoot and reports back in
//! their status. Without a shoot, [`resource_manager`] only reports: every ManagedResource is
//! marked applied and healthy for its current generation, so extensions that wait for their
//! objects (shoot-flux's bootstrap, health checks) see what a working shoot would show. Nothing
//! is applied anywhere.
//!
//! [`chart_args`] reads the arguments a chart renders for the extension's container, so that a
//! binary test can start the binary exactly as its chart would; [`assert_rbac`] checks that a
//! chart's ClusterRole grants every request an end-to-end test saw the extension make.

use crate::watch;
use futures::StreamExt;
use gardener_api::resources::{
    ManagedResource, RESOURCES_APPLIED, RESOURCES_HEALTHY, RESOURCES_PROGRESSING,
};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::watch as signal;

/// Marks every ManagedResource applied and healthy, until `stop` turns true.
pub fn resource_manager(
    client: Client,
    mut stop: signal::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let events = watch::objects::<ManagedResource>(
            client.clone(),
            watcher::Config::default(),
            "resource-manager-stand-in".into(),
        );
        let mut events = std::pin::pin!(events);
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                _ = stop.wait_for(|s| *s) => return,
            };
            let Some(Ok(watcher::Event::Apply(mr) | watcher::Event::InitApply(mr))) = event else {
                continue;
            };
            if mr.is_healthy() && mr.metadata.deletion_timestamp.is_none() {
                continue;
            }
            report_healthy(&client, &mr).await;
        }
    })
}

async fn report_healthy(client: &Client, mr: &ManagedResource) {
    let now = k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .unwrap_or_else(|_| k8s_openapi::jiff::Timestamp::now());
    let condition = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "lastTransitionTime": now.to_string(), "lastUpdateTime": now.to_string(),
               "reason": reason, "message": "Reported by the resource-manager stand-in (nothing is applied)."})
    };
    let patch = json!({"status": {
        "observedGeneration": mr.metadata.generation,
        "conditions": [
            condition(RESOURCES_APPLIED, "True", "ApplySucceeded"),
            condition(RESOURCES_HEALTHY, "True", "ResourcesHealthy"),
            condition(RESOURCES_PROGRESSING, "False", "ResourcesRolledOut"),
        ],
    }});
    let api: Api<ManagedResource> =
        Api::namespaced(client.clone(), &mr.namespace().unwrap_or_default());
    if let Err(e) = api
        .patch_status(
            &mr.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        tracing::debug!(error = %watch::error_chain(&e), "Stand-in could not report a ManagedResource");
    }
}

/// The arguments of the first container of the first Deployment in rendered chart output
/// (multi-document YAML, e.g. a chart snapshot); `None` when there is no such Deployment or the
/// YAML does not parse.
pub fn chart_args(rendered: &str) -> Option<Vec<String>> {
    let docs = chart_objects(rendered)?;
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment")?;
    let args = deployment.pointer("/spec/template/spec/containers/0/args")?;
    serde_json::from_value(args.clone()).ok()
}

/// Runs `bin` with the arguments `rendered` gives its container (each passed through `map`) and a
/// kubeconfig that does not exist.
///
/// # Errors
/// When the output has no Deployment arguments, or the process does not fail at the client
/// naming that kubeconfig (exit 1): a flag the chart renders is not accepted.
pub fn check_chart_args(
    bin: &str,
    rendered: &str,
    map: impl Fn(String) -> String,
) -> Result<(), String> {
    const MISSING: &str = "/nonexistent/kubeconfig";
    let args: Vec<String> = chart_args(rendered)
        .ok_or("no Deployment arguments in the chart output")?
        .into_iter()
        .map(map)
        .collect();
    let out = std::process::Command::new(bin)
        .args(&args)
        .args(["--kubeconfig", MISSING])
        .env_remove("KUBECONFIG")
        .output()
        .map_err(|e| format!("cannot run {bin}: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(1) && stderr.contains(MISSING) {
        Ok(())
    } else {
        Err(format!("{args:?}: exit {:?}: {stderr}", out.status.code()))
    }
}

/// The objects of rendered chart output (multi-document YAML); `None` when it does not parse.
pub fn chart_objects(rendered: &str) -> Option<Vec<serde_json::Value>> {
    serde_saphyr::from_multiple(rendered).ok()
}

/// The requests (`[verb, group, resource[/subresource], name]`) that no ClusterRole rule in
/// rendered chart output grants, printed as `verb group/resource name`, sorted and deduplicated.
pub fn rbac_denied<S: AsRef<str>>(
    rendered: &str,
    requests: impl IntoIterator<Item = [S; 4]>,
) -> Vec<String> {
    let rules = cluster_role_rules(rendered);
    let mut denied: Vec<String> = requests
        .into_iter()
        .filter(|request| !rules.iter().any(|rule| rule_grants(rule, request)))
        .map(|[verb, group, resource, name]| {
            format!(
                "{} {}/{} {}",
                verb.as_ref(),
                group.as_ref(),
                resource.as_ref(),
                name.as_ref()
            )
        })
        .collect();
    denied.sort();
    denied.dedup();
    denied
}

/// Checks that the ClusterRole of `chart` (the chart's directory name; its checked-in
/// `snapshots/default.yaml` is read) grants every request in `requests`, and records them when
/// `$RBAC_USED_DIR` is set, so that a whole test run can be compared with the chart's rules
/// (`hack/check-rbac.py` lists the rules no test used).
///
/// # Panics
/// When the chart does not grant a request (listing all such requests), or the snapshot or the
/// record cannot be read or written. Meant for the end of an end-to-end test.
pub fn assert_rbac(chart: &str, requests: &[[String; 4]]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts");
    let snapshot = root.join(chart).join("snapshots/default.yaml");
    let rendered = std::fs::read_to_string(&snapshot)
        .unwrap_or_else(|e| panic!("reading {}: {e}", snapshot.display()));
    let denied = rbac_denied(&rendered, requests.iter().cloned());
    assert!(denied.is_empty(), "{chart} does not grant: {denied:#?}");
    if let Some(dir) = std::env::var_os("RBAC_USED_DIR") {
        let dir = std::path::Path::new(&dir).join(chart);
        std::fs::create_dir_all(&dir).expect("creating $RBAC_USED_DIR");
        let lines: String = requests.iter().map(|r| r.join("\t") + "\n").collect();
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = dir.join(format!("{}-{seq}.tsv", std::process::id()));
        std::fs::write(&file, lines).expect("writing to $RBAC_USED_DIR");
    }
}

fn cluster_role_rules(rendered: &str) -> Vec<serde_json::Value> {
    chart_objects(rendered)
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["kind"] == "ClusterRole")
        .flat_map(|o| o["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn rule_grants<S: AsRef<str>>(
    rule: &serde_json::Value,
    [verb, group, resource, name]: &[S; 4],
) -> bool {
    let has = |key: &str, value: &str| {
        rule[key]
            .as_array()
            .is_some_and(|l| l.iter().any(|v| v == value || v == "*"))
    };
    has("apiGroups", group.as_ref())
        && has("resources", resource.as_ref())
        && has("verbs", verb.as_ref())
        && (rule["resourceNames"]
            .as_array()
            .is_none_or(|l| l.is_empty())
            || has("resourceNames", name.as_ref()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn chart_args_come_from_the_deployment() {
        let rendered = "kind: Service\nspec: {}\n---\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - args: [--a=1, --b]\n";
        assert_eq!(
            super::chart_args(rendered),
            Some(vec!["--a=1".into(), "--b".into()])
        );
        assert_eq!(super::chart_args("kind: Service\n"), None);
    }

    #[test]
    fn rbac_rules_grant_by_group_resource_verb_and_name() {
        let rendered = "kind: ClusterRole\nrules:\n- apiGroups: [coordination.k8s.io]\n  resources: [leases]\n  verbs: [get]\n  resourceNames: [mine]\n- apiGroups: ['']\n  resources: ['*']\n  verbs: [list]\n";
        let denied = super::rbac_denied(
            rendered,
            [
                ["get", "coordination.k8s.io", "leases", "mine"],
                ["get", "coordination.k8s.io", "leases", "other"],
                ["list", "", "secrets", ""],
                ["list", "apps", "deployments", ""],
            ],
        );
        assert_eq!(
            denied,
            [
                "get coordination.k8s.io/leases other",
                "list apps/deployments "
            ]
        );
    }
}
