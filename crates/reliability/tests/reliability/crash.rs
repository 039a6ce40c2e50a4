//! Crash safety: the real binary is SIGKILLed at a chosen point of a reconcile (the server holds
//! one request, with or without its write, until the kill), restarted, and must converge with
//! nothing orphaned or duplicated.

use crate::common::{Fixture, binary, extension, osc, wait_succeeded};
use gardener_api::extensions::{Extension, OperatingSystemConfig};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use reliability::{NS, Process};
use std::time::Duration;
use test_apiserver::{FaultAction, FaultRule};

const FLAGS: &[&str] = &[
    "--leader-election=false",
    "--heartbeat-namespace=garden",
    "--metrics-bind-address=127.0.0.1:0",
    "--health-bind-address=127.0.0.1:0",
];

/// Starts `extension`, waits until `rule` holds a request, kills the process there, and starts
/// it again without faults. Returns what the killed process wrote, and the new process.
async fn kill_at(fixture: &Fixture, extension: &str, rule: FaultRule) -> (Vec<String>, Process) {
    fixture.server.inject_fault(rule);
    let mut first = Process::start(&binary(extension), &fixture.server, FLAGS);
    tokio::time::timeout(Duration::from_secs(30), fixture.server.wait_hung(1))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the reconcile never reached the crash point; output:\n{}",
                first.output().join("\n")
            )
        });
    first.kill();
    first.wait(Duration::from_secs(5)).await;
    fixture.server.clear_faults();
    (
        first.output(),
        Process::start(&binary(extension), &fixture.server, FLAGS),
    )
}

/// The OSC succeeded and names its result Secret, which exists once, owned by the OSC once.
async fn one_result_secret(fixture: &Fixture, name: &str) {
    let oscs: Api<OperatingSystemConfig> = Api::namespaced(fixture.client.clone(), NS);
    wait_succeeded(&oscs, name, Duration::from_secs(30)).await;
    let osc = oscs.get(name).await.unwrap();
    let secret_name = format!("osc-result-{name}");
    let reference = osc
        .status
        .as_ref()
        .and_then(|s| s.cloud_config.as_ref())
        .and_then(|c| c.secret_ref.name.clone());
    assert_eq!(reference.as_deref(), Some(secret_name.as_str()));
    let secrets: Api<Secret> = Api::namespaced(fixture.client.clone(), NS);
    let all = secrets.list(&ListParams::default()).await.unwrap().items;
    let names: Vec<String> = all.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, [secret_name], "one result Secret and nothing else");
    let owners = all[0].owner_references();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0].uid, osc.uid().unwrap());
    assert_no_duplicate_finalizers(osc.finalizers());
}

fn assert_no_duplicate_finalizers(finalizers: &[String]) {
    let mut unique = finalizers.to_vec();
    unique.dedup();
    assert_eq!(unique.len(), finalizers.len(), "{finalizers:?}");
    assert_eq!(finalizers.len(), 1, "{finalizers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_result_secret_write() {
    let fixture = Fixture::new().await;
    let oscs: Api<OperatingSystemConfig> = Api::namespaced(fixture.client.clone(), NS);
    oscs.create(&PostParams::default(), &osc("a"))
        .await
        .unwrap();
    let rule = FaultRule::once("create", "secrets", FaultAction::HangAfterCommit);
    let (_, _restarted) = kill_at(&fixture, "gardener-extension-os-coreos", rule).await;
    one_result_secret(&fixture, "a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_before_the_final_status_patch() {
    let fixture = Fixture::new().await;
    let oscs: Api<OperatingSystemConfig> = Api::namespaced(fixture.client.clone(), NS);
    oscs.create(&PostParams::default(), &osc("b"))
        .await
        .unwrap();
    // The first status patch records Processing; the second would record the result.
    let rule = FaultRule::nth(
        "patch",
        "operatingsystemconfigs/status",
        2,
        FaultAction::Hang,
    );
    let (_, _restarted) = kill_at(&fixture, "gardener-extension-os-coreos", rule).await;
    one_result_secret(&fixture, "b").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_finalizer_and_the_actuator() {
    let fixture = Fixture::new().await;
    let extensions: Api<Extension> = Api::namespaced(fixture.client.clone(), NS);
    extensions
        .create(&PostParams::default(), &extension("c"))
        .await
        .unwrap();
    // The first patch removes the operation annotation, the second adds the finalizer.
    let rule = FaultRule::nth("patch", "extensions", 2, FaultAction::HangAfterCommit);
    let (killed, restarted) = kill_at(&fixture, "gardener-extension-mwe", rule).await;
    assert!(
        !killed
            .iter()
            .any(|l| l.contains("I just entered the Reconcile method")),
        "killed before the actuator ran"
    );
    wait_succeeded(&extensions, "c", Duration::from_secs(30)).await;
    let ext = extensions.get("c").await.unwrap();
    assert_no_duplicate_finalizers(ext.finalizers());
    assert!(
        restarted
            .wait_for_line(
                "I just entered the Reconcile method",
                Duration::from_secs(5)
            )
            .await,
        "the restarted process ran the actuator"
    );
}
