//! Stand-ins for environments without shoots (the local seed, extension tests).
//!
//! A seed's gardener-resource-manager applies ManagedResources to the shoot and reports back in
//! their status. Without a shoot, [`resource_manager`] only reports: every ManagedResource is
//! marked applied and healthy for its current generation, so extensions that wait for their
//! objects (shoot-flux's bootstrap, health checks) see what a working shoot would show. Nothing
//! is applied anywhere.

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
