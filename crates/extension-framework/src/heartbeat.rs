//! The heartbeat Lease `gardener-extension-heartbeat` that gardenlet's shoot care reads to know the
//! extension is alive (gardener-contract §6.1).

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

/// Name of the heartbeat Lease.
pub const HEARTBEAT_LEASE: &str = "gardener-extension-heartbeat";

/// Patches holder, duration and renew time, or creates the Lease when it does not exist: one
/// request per renewal once it exists.
pub async fn renew(
    client: &Client,
    namespace: &str,
    holder: &str,
    interval: Duration,
) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let spec = LeaseSpec {
        holder_identity: Some(holder.into()),
        lease_duration_seconds: Some(i32::try_from(interval.as_secs()).unwrap_or(i32::MAX)),
        renew_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
        ..Default::default()
    };
    let patch = json!({ "spec": spec });
    match api
        .patch(
            HEARTBEAT_LEASE,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Err(kube::Error::Api(s)) if s.is_not_found() => {
            let mut lease = Lease::default();
            lease.metadata.name = Some(HEARTBEAT_LEASE.into());
            lease.spec = Some(spec);
            api.create(&PostParams::default(), &lease).await.map(drop)
        }
        other => other.map(drop),
    }
}

/// Renews the heartbeat every `interval` until `stop` turns true.
pub async fn run(
    client: Client,
    namespace: String,
    holder: String,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = renew(&client, &namespace, &holder, interval).await {
            tracing::error!(error = %e, namespace = %namespace, "Could not renew the heartbeat lease");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
