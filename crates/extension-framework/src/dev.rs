//! Stand-ins for environments without shoots (the local seed, extension tests).
//!
//! A seed's gardener-resource-manager applies ManagedResources to the shoot and reports back in
//! their status. Without a shoot, [`resource_manager`] only reports: every ManagedResource is
//! marked applied and healthy for its current generation, so extensions that wait for their
//! objects (shoot-flux's bootstrap, health checks) see what a working shoot would show. Nothing
//! is applied anywhere.
//!
//! [`chart_args`] reads the arguments a chart renders for the extension's container, so that a
//! binary test can start the binary exactly as its chart would.

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

/// The requests (`(verb, group, resource[/subresource], name)`) that no ClusterRole rule in
/// rendered chart output grants, printed as `verb group/resource name`.
pub fn rbac_denied<'a>(
    rendered: &str,
    requests: impl IntoIterator<Item = (&'a str, &'a str, &'a str, &'a str)>,
) -> Vec<String> {
    let rules: Vec<serde_json::Value> = chart_objects(rendered)
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["kind"] == "ClusterRole")
        .flat_map(|o| o["rules"].as_array().cloned().unwrap_or_default())
        .collect();
    let has = |rule: &serde_json::Value, key: &str, value: &str| {
        rule[key]
            .as_array()
            .is_some_and(|l| l.iter().any(|v| v == value || v == "*"))
    };
    let mut denied: Vec<String> = requests
        .into_iter()
        .filter(|(verb, group, resource, name)| {
            !rules.iter().any(|rule| {
                has(rule, "apiGroups", group)
                    && has(rule, "resources", resource)
                    && has(rule, "verbs", verb)
                    && (rule["resourceNames"]
                        .as_array()
                        .is_none_or(|l| l.is_empty())
                        || has(rule, "resourceNames", name))
            })
        })
        .map(|(verb, group, resource, name)| format!("{verb} {group}/{resource} {name}"))
        .collect();
    denied.sort();
    denied.dedup();
    denied
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
                ("get", "coordination.k8s.io", "leases", "mine"),
                ("get", "coordination.k8s.io", "leases", "other"),
                ("list", "", "secrets", ""),
                ("list", "apps", "deployments", ""),
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
