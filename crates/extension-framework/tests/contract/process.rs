//! Checklist items 47, 48 and 59–62, plus leader election, panics and the HTTP endpoints.

use crate::harness::*;
use clap::Parser;
use extension_framework::leader::Timings;
use extension_framework::options::Options;
use extension_framework::{Manager, Registration, RunError};
use gardener_api::extensions::{Extension, LastOperationState as State};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: Options,
}

fn state_of(e: &Extension) -> Option<State> {
    e.status
        .as_ref()?
        .default_status
        .last_operation
        .as_ref()
        .map(|l| l.state.clone())
}

#[tokio::test]
async fn item_47_heartbeat_lease_is_renewed() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let mut options = seed.options();
    options.heartbeat_renew_interval_seconds = 1;
    let running = seed
        .start_with(extension_manager(&probe, Duration::ZERO), options)
        .await;
    let renewed = |l: &Lease| l.spec.as_ref().and_then(|s| s.renew_time.clone());
    let first = seed
        .wait("garden", "gardener-extension-heartbeat", |l: &Lease| {
            renewed(l).is_some()
        })
        .await;
    let spec = first.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("test-extension"));
    assert_eq!(spec.lease_duration_seconds, Some(1));
    let later = seed
        .wait("garden", "gardener-extension-heartbeat", |l: &Lease| {
            renewed(l) != renewed(&first)
        })
        .await;
    assert!(renewed(&later).unwrap().0 > renewed(&first).unwrap().0);
    running.shutdown().await.unwrap();
    // One request per renewal: a patch, and a create only when the first patch found nothing.
    let heartbeat: Vec<(String, u16)> = seed
        .server
        .requests()
        .into_iter()
        // The test's own waits list and watch Leases; the extension only writes them.
        .filter(|r| r.resource == "leases" && r.is_write())
        .map(|r| (r.verb, r.code))
        .collect();
    assert_eq!(
        heartbeat[..2],
        [("patch".into(), 404), ("create".into(), 201)]
    );
    assert!(
        heartbeat[2..].iter().all(|r| *r == ("patch".into(), 200)),
        "{heartbeat:?}"
    );
    assert!(heartbeat.len() >= 3, "{heartbeat:?}");
}

#[tokio::test]
async fn item_48_60_61_invalid_flags_and_controller_selection() {
    assert!(
        Cli::try_parse_from(["x", "--heartbeat-renew-interval-seconds=0"]).is_err(),
        "item 48"
    );
    assert!(
        Cli::try_parse_from(["x", "--log-level=trace"]).is_err(),
        "item 61"
    );
    let seed = Seed::new().await;
    let probe = Probe::new();
    let mut options = seed.options();
    options.controllers = vec!["x".into()];
    let err = extension_manager(&probe, Duration::ZERO)
        .start(options, seed.client.clone())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, RunError::Config(ref m) if m.contains("unknown controller")),
        "item 60: {err}"
    );

    let mut options = seed.options();
    options.disable_controllers = vec!["heartbeat".into()];
    let running = seed
        .start_with(extension_manager(&probe, Duration::ZERO), options)
        .await;
    create(&seed.extensions(NS), &extension("hb", &[])).await;
    seed.wait(NS, "hb", |e: &Extension| {
        state_of(e) == Some(State::Succeeded)
    })
    .await;
    running.shutdown().await.unwrap();
    assert!(
        seed.server
            .requests()
            .iter()
            .all(|r| r.resource != "leases"),
        "item 60: the heartbeat never touched a Lease"
    );
    let leases: Api<Lease> = Api::namespaced(seed.client.clone(), "garden");
    assert!(
        leases
            .get_opt("gardener-extension-heartbeat")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn item_59_metrics_and_health_endpoints() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let (code, body) = http_get(running.metrics_addr.unwrap(), "/metrics").await;
    assert_eq!(code, 200);
    for line in [
        "controller_runtime_reconcile_total{controller=\"extension\",result=\"success\"} 0",
        "controller_runtime_reconcile_total{controller=\"extension\",result=\"error\"} 0",
        "controller_runtime_reconcile_total{controller=\"extension\",result=\"requeue_after\"} 0",
        "controller_runtime_max_concurrent_reconciles{controller=\"extension\"} 5",
        "controller_runtime_active_workers{controller=\"extension\"} 0",
        "controller_runtime_reconcile_errors_total{controller=\"extension\"} 0",
        "controller_runtime_reconcile_timeouts_total{controller=\"extension\"} 0",
        "controller_runtime_reconcile_panics_total{controller=\"extension\"} 0",
    ] {
        assert!(body.contains(line), "missing {line}");
    }
    assert!(body.contains("process_resident_memory_bytes"));
    let health = running.health_addr.unwrap();
    assert_eq!(http_get(health, "/healthz").await.0, 200);
    until_ready(health).await;
    // After work: counters and the client's request metrics move.
    create(&seed.extensions(NS), &extension("m", &[])).await;
    seed.wait(NS, "m", |e: &Extension| {
        state_of(e) == Some(State::Succeeded)
    })
    .await;
    let (_, body) = http_get(running.metrics_addr.unwrap(), "/metrics").await;
    assert!(
        body.contains(
            "controller_runtime_reconcile_total{controller=\"extension\",result=\"success\"} 1"
        ),
        "{body}"
    );
    assert!(body.contains(
        "controller_runtime_reconcile_time_seconds_bucket{controller=\"extension\",le=\"0.005\"}"
    ));
    assert!(body.contains(
        "workqueue_adds_total{controller=\"extension\",name=\"extension\",priority=\"\"} 1"
    ));
    running.shutdown().await.unwrap();
}

async fn until_ready(addr: SocketAddr) {
    within(async {
        while http_get(addr, "/readyz").await.0 != 200 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

#[tokio::test]
async fn item_62_reconcile_deadline_counts_timeouts() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("reconcile", Step::Sleep(Duration::from_secs(5)));
    let manager = Manager::new("test").with(
        Registration::<Extension>::new(TYPE, probe.clone()).timeout(Duration::from_millis(200)),
    );
    let running = seed.start(manager).await;
    create(&seed.extensions(NS), &extension("slow", &[])).await;
    until(|| {
        metric(
            &running,
            "controller_runtime_reconcile_timeouts_total",
            "controller=\"extension\"",
        ) >= 1.0
    })
    .await;
    // The retry (no sleep scripted) succeeds.
    seed.wait(NS, "slow", |e: &Extension| {
        state_of(e) == Some(State::Succeeded)
    })
    .await;
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn panicking_actuator_becomes_an_error_status_and_a_retry() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("reconcile", Step::Panic);
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let history = seed.history::<Extension>(NS, "boom").await;
    create(&seed.extensions(NS), &extension("boom", &[])).await;
    let failed = history
        .wait(|e: &Extension| state_of(e) == Some(State::Error))
        .await;
    let description = failed
        .status
        .unwrap()
        .default_status
        .last_error
        .unwrap()
        .description;
    assert!(
        description.starts_with("Error reconciling Extension: panic: actuator exploded"),
        "{description}"
    );
    seed.wait(NS, "boom", |e: &Extension| {
        state_of(e) == Some(State::Succeeded)
    })
    .await;
    assert_eq!(
        metric(
            &running,
            "controller_runtime_reconcile_panics_total",
            "controller=\"extension\""
        ),
        1.0
    );
    running.shutdown().await.unwrap();
}

fn fast() -> Timings {
    Timings {
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(100),
    }
}

/// A replica with leader election and fast timings, started.
async fn start_replica(seed: &Seed, probe: &Probe) -> extension_framework::RunningExtension {
    seed.start_with(
        extension_manager(probe, Duration::ZERO).leader_timings(fast()),
        replica_options(seed),
    )
    .await
}

fn replica_options(seed: &Seed) -> Options {
    let mut options = seed.options();
    options.leader_election = true;
    options.leader_election_namespace = Some("garden".into());
    options
}

#[tokio::test]
async fn two_replicas_one_leader_failover_and_no_double_reconcile() {
    let seed = Seed::new().await;
    let (probe_a, probe_b) = (Probe::new(), Probe::new());
    let a = start_replica(&seed, &probe_a).await;
    within(a.wait_until_leading()).await;
    let b = start_replica(&seed, &probe_b).await;
    let api = seed.extensions(NS);
    create(&api, &extension("one", &[])).await;
    seed.wait(NS, "one", |e: &Extension| {
        state_of(e) == Some(State::Succeeded)
    })
    .await;
    assert!(!b.is_leading());
    assert_eq!(probe_a.calls().len(), 1);
    assert!(probe_b.calls().is_empty(), "the standby does not reconcile");
    let lease: Lease = Api::namespaced(seed.client.clone(), "garden")
        .get("test-extension-leader-election")
        .await
        .unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_some());

    // Graceful stop releases the lease; the standby takes over at once (well before 2 s expiry).
    a.shutdown().await.unwrap();
    within(b.wait_until_leading()).await;
    create(&api, &extension("two", &[])).await;
    seed.wait(NS, "two", |e: &Extension| {
        state_of(e) == Some(State::Succeeded)
    })
    .await;
    // The new leader lists everything: "one" is Succeeded without annotation, so not reconciled again.
    assert_eq!(
        probe_b
            .calls()
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["two"]
    );
    assert_eq!(
        probe_a.calls().len() + probe_b.calls().iter().filter(|c| c.name == "one").count(),
        1
    );
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn losing_the_lease_stops_the_extension() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let a = start_replica(&seed, &probe).await;
    within(a.wait_until_leading()).await;
    // Another candidate takes the lease over (e.g. after a network partition).
    let leases: Api<Lease> = Api::namespaced(seed.client.clone(), "garden");
    let mut lease = leases.get("test-extension-leader-election").await.unwrap();
    let spec = lease.spec.as_mut().unwrap();
    spec.holder_identity = Some("thief".into());
    spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    spec.lease_duration_seconds = Some(60);
    leases
        .replace(
            "test-extension-leader-election",
            &PostParams::default(),
            &lease,
        )
        .await
        .unwrap();
    let result = within(a.wait()).await;
    assert!(
        matches!(result, Err(RunError::LeadershipLost)),
        "{result:?}"
    );
}

#[tokio::test]
async fn garden_client_talks_to_a_second_cluster() {
    let garden = test_apiserver::TestApiServer::builder()
        .start()
        .await
        .unwrap();
    garden
        .apply_yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: garden-foo\n",
            "ns",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garden-kubeconfig");
    garden.write_kubeconfig(&path).unwrap();
    let metrics = extension_framework::metrics::Metrics::new();
    let client = extension_framework::client::garden_client(Some(&path), &metrics)
        .await
        .unwrap()
        .expect("configured");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
    assert!(namespaces.get_opt("garden-foo").await.unwrap().is_some());
    assert!(
        metrics
            .render()
            .contains("rest_client_requests_total{code=\"200\""),
        "requests are counted"
    );
}

#[tokio::test]
async fn in_progress_gauges_follow_running_reconciles() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("reconcile", Step::Sleep(Duration::from_millis(1500)));
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    create(&seed.extensions(NS), &extension("busy", &[])).await;
    let labels = "controller=\"extension\",name=\"extension\"";
    until(|| {
        metric(
            &running,
            "workqueue_longest_running_processor_seconds",
            labels,
        ) > 0.4
    })
    .await;
    assert!(metric(&running, "workqueue_unfinished_work_seconds", labels) > 0.4);
    assert_eq!(
        metric(
            &running,
            "controller_runtime_active_workers",
            "controller=\"extension\""
        ),
        1.0
    );
    seed.wait(NS, "busy", |e: &Extension| {
        state_of(e) == Some(State::Succeeded)
    })
    .await;
    until(|| {
        metric(
            &running,
            "workqueue_longest_running_processor_seconds",
            labels,
        ) == 0.0
    })
    .await;
    running.shutdown().await.unwrap();
}

/// `--config` is loaded, defaulted and validated before anything runs; a bad file stops the
/// start-up with its field path, and an extension without a configuration rejects the flag.
#[tokio::test]
async fn config_file_is_validated_at_start_up() {
    use extension_framework::config::{ConfigFile, FieldError, FieldPath, VersionedConfig};

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct NtpConfig {
        #[serde(default)]
        servers: Vec<String>,
    }
    impl VersionedConfig for NtpConfig {
        const API_VERSION: &'static str = "test.config.gardener.cloud/v1alpha1";
        const KIND: &'static str = "NtpConfig";
        fn validate(&self, path: &FieldPath) -> Vec<FieldError> {
            self.servers
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_empty())
                .map(|(i, _)| FieldError::required(path.child("servers").index(i)))
                .collect()
        }
    }

    let seed = Seed::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(
        &file,
        "apiVersion: test.config.gardener.cloud/v1alpha1\nkind: NtpConfig\nservers: [a, '']\n",
    )
    .unwrap();
    let mut options = seed.options();
    options.config = Some(file.clone());
    let config = ConfigFile::<NtpConfig>::new();
    let err = Manager::new("test")
        .config_file(config.clone())
        .start(options.clone(), seed.client.clone())
        .await
        .err()
        .expect("a bad file stops the start-up");
    assert!(
        err.to_string().ends_with("servers[1]: Required value"),
        "{err}"
    );
    let err = Manager::new("test")
        .start(options.clone(), seed.client.clone())
        .await
        .err()
        .expect("no configuration, no --config");
    assert!(
        err.to_string().contains("takes no configuration file"),
        "{err}"
    );
    std::fs::write(
        &file,
        "apiVersion: test.config.gardener.cloud/v1alpha1\nkind: NtpConfig\nservers: [a]\n",
    )
    .unwrap();
    let running = Manager::new("test")
        .config_file(config.clone())
        .start(options, seed.client.clone())
        .await
        .unwrap();
    assert_eq!(config.get().servers, ["a"]);
    running.shutdown().await.unwrap();
}

/// Like client-go, the leader renews from the Lease it last wrote: one PUT per renewal, no GET
/// (Go's idle cadence: about 30 Lease writes a minute and nothing else).
#[tokio::test]
async fn renewals_write_the_lease_without_reading_it() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let a = start_replica(&seed, &probe).await;
    within(a.wait_until_leading()).await;
    seed.server.clear_requests();
    // Five renewals at the 100 ms retry period.
    let renewed = || {
        seed.server
            .requests()
            .iter()
            .filter(|r| r.resource == "leases" && r.name == "test-extension-leader-election")
            .map(|r| r.verb.clone())
            .collect::<Vec<_>>()
    };
    within(async {
        while renewed().len() < 5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let verbs = renewed();
    assert!(verbs.iter().all(|v| v == "update"), "{verbs:?}");
    assert!(a.is_leading());
    a.shutdown().await.unwrap();
}
