//! The controller end to end against the test API server: an OSC goes in, the result Secret and
//! the status come out (checklist items 1, 2, 26), and a bad OSC ends in `lastError`.

use crate::fixtures::*;
use extension_framework::RunningExtension;
use extension_framework::options::Options;
use gardener_api::extensions::{ErrorCode, LastOperationState, OperatingSystemConfig};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube::runtime::wait::await_condition;
use os_coreos::render::{SecretData, render};
use serde_json::json;
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};

const NS: &str = "default";
/// The in-process extension's user agent, as the binary sends it.
const AGENT: &str = "gardener-extension-os-coreos/";

/// Least privilege, proven: the chart's ClusterRole grants every request the extension made.
fn assert_rbac(server: &RunningServer) {
    let ours = server.rbac_requests(AGENT);
    assert!(!ours.is_empty(), "the extension's requests are recorded");
    extension_framework::dev::assert_rbac("gardener-extension-os-coreos", &ours);
}

async fn seed() -> (RunningServer, kube::Client, RunningExtension) {
    let server = TestApiServer::builder().start().await.unwrap();
    for crd in gardener_api::crds::all() {
        server
            .apply_yaml(&serde_json::to_string(&crd.crd).unwrap(), "crd")
            .unwrap();
    }
    let cluster = json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster", "metadata": {"name": NS},
        "spec": {"cloudProfile": {}, "shoot": {"metadata": {"name": "bar"}}}});
    server.apply_yaml(&cluster.to_string(), "cluster").unwrap();
    let client = server.client().await.unwrap();
    let agent = format!("{AGENT}test");
    let running = os_coreos::manager()
        .start(
            Options::embedded(NS),
            server.client_as(&agent).await.unwrap(),
        )
        .await
        .unwrap();
    (server, client, running)
}

async fn wait(
    api: &Api<OperatingSystemConfig>,
    name: &str,
    state: LastOperationState,
) -> OperatingSystemConfig {
    let done = await_condition(
        api.clone(),
        name,
        move |o: Option<&OperatingSystemConfig>| {
            o.and_then(|o| o.status.as_ref()?.default_status.last_operation.as_ref())
                .is_some_and(|op| op.state == state)
        },
    );
    tokio::time::timeout(Duration::from_secs(20), done)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn provision_reconcile_and_an_error_end_to_end() {
    let (server, client, running) = seed().await;
    let api: Api<OperatingSystemConfig> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);

    // Item 1: provision → Secret osc-result-<name> with cloud_config, owned by the OSC.
    let provision = upstream_provision();
    api.create(&PostParams::default(), &provision)
        .await
        .unwrap();
    let done = wait(&api, "pool-01-original", LastOperationState::Succeeded).await;
    let reference = done
        .status
        .as_ref()
        .unwrap()
        .cloud_config
        .as_ref()
        .unwrap()
        .secret_ref
        .clone();
    assert_eq!(
        (reference.name.as_deref(), reference.namespace.as_deref()),
        (Some("osc-result-pool-01-original"), Some(NS))
    );
    let secret = secrets.get("osc-result-pool-01-original").await.unwrap();
    let data = secret.data.unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["cloud_config"]);
    let want = render(&provision, &config(json!({})), &SecretData::new())
        .unwrap()
        .user_data
        .unwrap();
    assert_eq!(
        data["cloud_config"].0, want,
        "the stored bytes are the renderer's"
    );
    let owner = &secret.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("OperatingSystemConfig", Some(true))
    );

    // A changed OSC (annotated, as gardenlet does) updates the same Secret in place.
    api.patch(
        "pool-01-original",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({
            "metadata": {"annotations": {"gardener.cloud/operation": "reconcile"}},
            "spec": {"files": [{"path": "/etc/motd", "content": {"inline": {"encoding": "", "data": "hello"}}}]},
        })),
    )
    .await
    .unwrap();
    let changed = await_condition(
        api.clone(),
        "pool-01-original",
        |o: Option<&OperatingSystemConfig>| {
            o.and_then(|o| o.status.as_ref()).is_some_and(|s| {
                s.default_status.observed_generation == Some(2)
                    && s.default_status
                        .last_operation
                        .as_ref()
                        .is_some_and(|op| op.state == LastOperationState::Succeeded)
            })
        },
    );
    tokio::time::timeout(Duration::from_secs(20), changed)
        .await
        .unwrap()
        .unwrap();
    let updated = secrets.get("osc-result-pool-01-original").await.unwrap();
    assert_eq!(updated.metadata.uid, secret.metadata.uid, "the same Secret");
    assert_ne!(updated.data.unwrap()["cloud_config"].0, want);

    // Item 26: reconcile → extension units and files, no Secret, no cloudConfig.
    let mut reconcile = osc("flatcar", "reconcile", json!([]), json!([]));
    reconcile.metadata.name = Some("pool-01-reconcile".into());
    api.create(&PostParams::default(), &reconcile)
        .await
        .unwrap();
    let done = wait(&api, "pool-01-reconcile", LastOperationState::Succeeded).await;
    let status = done.status.unwrap();
    assert!(status.cloud_config.is_none());
    assert_eq!(status.extension_units.unwrap().len(), 6);
    assert!(
        secrets
            .get_opt("osc-result-pool-01-reconcile")
            .await
            .unwrap()
            .is_none()
    );

    // A file whose Secret key is missing: lastError with the code, naming the file, no data.
    let mut broken = osc(
        "coreos",
        "provision",
        json!([]),
        json!([{"path": "/etc/token", "content": {"secretRef": {"name": "token", "dataKey": "value"}}}]),
    );
    broken.metadata.name = Some("broken".into());
    let mut token = Secret::default();
    token.metadata.name = Some("token".into());
    token.string_data = Some([("other".to_string(), "s3cr3t".to_string())].into());
    secrets
        .create(&PostParams::default(), &token)
        .await
        .unwrap();
    api.create(&PostParams::default(), &broken).await.unwrap();
    let failed = wait(&api, "broken", LastOperationState::Error).await;
    let error = failed.status.unwrap().default_status.last_error.unwrap();
    assert_eq!(error.codes, Some(vec![ErrorCode::ConfigurationProblem]));
    assert!(
        error.description.contains("/etc/token")
            && error
                .description
                .contains("key \"value\" not found in secret \"token\""),
        "{}",
        error.description
    );
    assert!(!error.description.contains("s3cr3t"));

    // Oversized user data: the reconcile succeeds, a Warning event says why it may not boot.
    let mut big = osc(
        "coreos",
        "provision",
        json!([]),
        json!([{"path": "/big", "content": {"inline": {"encoding": "", "data": "x".repeat(20_000)}}}]),
    );
    big.metadata.name = Some("big".into());
    api.create(&PostParams::default(), &big).await.unwrap();
    wait(&api, "big", LastOperationState::Succeeded).await;
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), NS);
    let warning = events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|e| e.reason.as_deref() == Some(os_coreos::actuator::OVERSIZED_REASON))
        .expect("a warning event");
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    assert_eq!(warning.regarding.unwrap().name.as_deref(), Some("big"));

    // Item 31: the heartbeat Lease names the extension.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), NS);
    let lease = leases.get("gardener-extension-heartbeat").await.unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("os-coreos")
    );

    // Item 14: deletion writes nothing but the framework's status and finalizer.
    assert_rbac(&server);
    server.clear_requests();
    api.delete("pool-01-original", &Default::default())
        .await
        .unwrap();
    let gone = await_condition(
        api.clone(),
        "pool-01-original",
        |o: Option<&OperatingSystemConfig>| o.is_none(),
    );
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .unwrap()
        .unwrap();
    for r in server.requests().iter().filter(|r| r.is_write()) {
        assert!(
            r.resource == "operatingsystemconfigs"
                && (r.subresource == "status" || r.verb == "patch" || r.verb == "delete"),
            "unexpected write {} {}/{}",
            r.verb,
            r.resource,
            r.name
        );
    }
    running.shutdown().await.unwrap();
    assert_rbac(&server);
}

/// Item 2: an existing `status.cloudConfig.secretRef` is where the result goes.
#[tokio::test]
async fn an_existing_secret_reference_is_reused() {
    let (server, client, running) = seed().await;
    server
        .apply_yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
            "ns",
        )
        .unwrap();
    let api: Api<OperatingSystemConfig> = Api::namespaced(client.clone(), NS);
    let mut provision = upstream_provision();
    provision.metadata.annotations = Some(
        [(
            "gardener.cloud/operation".to_string(),
            "wait-for-state".to_string(),
        )]
        .into(),
    );
    api.create(&PostParams::default(), &provision)
        .await
        .unwrap();
    api.patch_status(
        "pool-01-original",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            json!({"status": {"cloudConfig": {"secretRef": {"name": "y", "namespace": "x"}}}}),
        ),
    )
    .await
    .unwrap();
    api.patch(
        "pool-01-original",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            json!({"metadata": {"annotations": {"gardener.cloud/operation": "reconcile"}}}),
        ),
    )
    .await
    .unwrap();
    wait(&api, "pool-01-original", LastOperationState::Succeeded).await;
    let moved: Api<Secret> = Api::namespaced(client.clone(), "x");
    assert!(
        moved
            .get("y")
            .await
            .unwrap()
            .data
            .unwrap()
            .contains_key("cloud_config")
    );
    let default: Api<Secret> = Api::namespaced(client, NS);
    assert!(
        default
            .get_opt("osc-result-pool-01-original")
            .await
            .unwrap()
            .is_none()
    );
    running.shutdown().await.unwrap();
    assert_rbac(&server);
}
