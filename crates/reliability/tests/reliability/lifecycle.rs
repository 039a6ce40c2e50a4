//! The process around the controllers: graceful shutdown under load, and an API server that goes
//! away and comes back.

use crate::common::{Fixture, Started, extension, http_get, start_extension, wait_succeeded};
use gardener_api::extensions::{ContainerRuntime, Extension, LastOperationState};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, PostParams};
use reliability::{NS, Scale};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The extension with a heartbeat every second (the outage scenario waits for a renewal).
fn start(fixture: &Fixture, name: &str) -> Started {
    start_extension(fixture, name, &["--heartbeat-renew-interval-seconds=1"])
}

fn state(ext: &Extension) -> Option<LastOperationState> {
    ext.status
        .as_ref()
        .and_then(|s| s.default_status.last_operation.as_ref())
        .map(|op| op.state.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_in_flight_reconciles_and_leaves_none_processing() {
    let _turn = crate::common::exclusive().await;
    let scale = Scale::from_env();
    let fixture = Fixture::new().await;
    let extensions: Api<Extension> = Api::namespaced(fixture.client.clone(), NS);
    let pp = PostParams::default();
    for i in 0..scale.objects {
        extensions
            .create(&pp, &extension(&format!("load-{i}")))
            .await
            .unwrap();
    }
    // Slow requests keep reconciles in flight when the signal comes.
    fixture.server.set_latency(Duration::from_millis(40));
    let mut process = start(&fixture, "gardener-extension-mwe").process;
    assert!(
        process
            .wait_for_line(
                "I just entered the Reconcile method",
                Duration::from_secs(30)
            )
            .await
    );
    let signalled = Instant::now();
    process.terminate();
    let status = process.wait(Duration::from_secs(30)).await;
    let took = signalled.elapsed();
    assert!(status.success(), "a graceful stop exits 0: {status}");
    fixture.server.set_latency(Duration::ZERO);
    let all = extensions.list(&ListParams::default()).await.unwrap().items;
    let processing: Vec<_> = all
        .iter()
        .filter(|e| state(e) == Some(LastOperationState::Processing))
        .filter_map(|e| e.metadata.name.clone())
        .collect();
    assert!(
        processing.is_empty(),
        "left Processing after the stop: {processing:?}"
    );
    let done = all
        .iter()
        .filter(|e| state(e) == Some(LastOperationState::Succeeded))
        .count();
    // What the first process did not reach, the next one does.
    let _next = start(&fixture, "gardener-extension-mwe");
    for i in 0..scale.objects {
        wait_succeeded(&extensions, &format!("load-{i}"), scale.converge).await;
    }
    println!(
        "shutdown: SIGTERM with {} Extensions queued: exit 0 after {took:?}, {done} done and none left Processing; the next process finished the rest",
        scale.objects
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_heartbeat_and_health_checks_recover_from_an_api_server_outage() {
    let _turn = crate::common::exclusive().await;
    let scale = Scale::from_env();
    let fixture = Fixture::new().await;
    let mwe = start(&fixture, "gardener-extension-mwe");
    let gvisor = start(&fixture, "gardener-extension-runtime-gvisor");
    let (mwe_health, gvisor_health) = (mwe.health, gvisor.health);
    for health in [mwe_health, gvisor_health] {
        wait_http(health, 200, Duration::from_secs(30)).await;
    }
    let extensions: Api<Extension> = Api::namespaced(fixture.client.clone(), NS);
    let runtimes: Api<ContainerRuntime> = Api::namespaced(fixture.client.clone(), NS);
    extensions
        .create(&PostParams::default(), &extension("before"))
        .await
        .unwrap();
    wait_succeeded(&extensions, "before", Duration::from_secs(30)).await;

    fixture.server.go_down();
    let down = Instant::now();
    let mut unready = Vec::new();
    for health in [mwe_health, gvisor_health] {
        let body = wait_http(health, 503, scale.outage + Duration::from_secs(10)).await;
        assert!(body.contains("apiserver"), "{body}");
        unready.push(down.elapsed());
    }
    tokio::time::sleep(scale.outage.saturating_sub(down.elapsed())).await;
    fixture.server.come_back().unwrap();
    let back = Instant::now();
    let mut ready = Vec::new();
    for health in [mwe_health, gvisor_health] {
        wait_http(health, 200, Duration::from_secs(60)).await;
        ready.push(back.elapsed());
    }
    extensions
        .create(&PostParams::default(), &extension("after"))
        .await
        .unwrap();
    wait_succeeded(&extensions, "after", Duration::from_secs(60)).await;
    runtimes
        .create(&PostParams::default(), &container_runtime("after"))
        .await
        .unwrap();
    wait_succeeded(&runtimes, "after", Duration::from_secs(60)).await;
    // The health-check controller's watch is back: it reports on the new object.
    let checked = kube::runtime::wait::await_condition(
        runtimes.clone(),
        "after",
        |c: Option<&ContainerRuntime>| {
            c.and_then(|c| c.status.as_ref())
                .and_then(|s| s.default_status.conditions.as_ref())
                .is_some_and(|c| !c.is_empty())
        },
    );
    tokio::time::timeout(Duration::from_secs(60), checked)
        .await
        .expect("a health condition on the new ContainerRuntime")
        .unwrap();
    // The heartbeat renews again.
    let leases: Api<Lease> = Api::namespaced(fixture.client.clone(), "garden");
    let renewed_after_return = kube::runtime::wait::await_condition(
        leases,
        "gardener-extension-heartbeat",
        |l: Option<&Lease>| {
            l.and_then(|l| l.spec.as_ref())
                .and_then(|s| s.renew_time.as_ref())
                .is_some_and(|t| {
                    let age = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
                    age.as_secs_f64() < back.elapsed().as_secs_f64()
                })
        },
    );
    tokio::time::timeout(Duration::from_secs(10), renewed_after_return)
        .await
        .expect("the heartbeat renewed after the outage")
        .unwrap();
    println!(
        "outage: {:?} away; /readyz 503 after {unready:?}, 200 again {ready:?} after the return; new objects reconciled and health-checked",
        scale.outage
    );
}

/// Polls `/readyz` until it answers `code` (the probe is what kubelet would see).
async fn wait_http(addr: SocketAddr, code: u16, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some((got, body)) = http_get(addr, "/readyz").await
            && got == code
        {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz on {addr} did not answer {code} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn container_runtime(name: &str) -> ContainerRuntime {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "ContainerRuntime",
        "metadata": {"name": name, "namespace": NS, "annotations": {"gardener.cloud/operation": "reconcile"}},
        "spec": {"type": "gvisor", "binaryPath": "/var/bin/containerruntimes",
                 "workerPool": {"name": "worker", "selector": {"matchLabels": {"worker.gardener.cloud/pool": "worker"}}}}
    }))
    .expect("a valid ContainerRuntime")
}
