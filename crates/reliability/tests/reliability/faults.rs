//! Load with faults: Extensions (mwe) and OperatingSystemConfigs (os-coreos) reconcile in one
//! process while the server drops watches, compacts its history, conflicts on a share of writes,
//! answers bursts of 429/500/503 and adds latency.

use crate::common::{Fixture, Kinds, retry};
use kube::api::{Api, ListParams, Patch, PatchParams};
use reliability::{Guard, NS, Scale};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use test_apiserver::{FaultRule, RunningServer};

/// The fault schedule: a share of conflicting writes and 2 ms of latency throughout, and per tick
/// (250 ms) watches dropped every second, history compacted every 2 s (re-watches answer 410 and
/// relist), and every third tick a burst: 429, 500 or 503 to every request for the whole tick.
async fn chaos(server: &RunningServer, mut stop: tokio::sync::watch::Receiver<bool>) {
    // One write in ten conflicts. Each failure doubles the object's retry delay (5 ms up to
    // 1000 s, controller-runtime's limiter), so much denser conflicts would make a few objects
    // wait minutes, as they would in Go.
    for (verb, resource, one_in) in [
        ("patch", "extensions/status", 10),
        ("patch", "operatingsystemconfigs/status", 10),
        ("patch", "extensions", 10),
        ("patch", "operatingsystemconfigs", 10),
        ("create", "secrets", 10),
        ("patch", "secrets", 10),
    ] {
        server.inject_fault(FaultRule::share(verb, resource, one_in, 409));
    }
    server.set_latency(Duration::from_millis(2));
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let codes = [429, 500, 503];
    for n in 1u64.. {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        if n % 8 == 0 {
            server.compact();
            server.close_watches();
        } else if n % 4 == 0 {
            server.close_watches();
        }
        // A burst fails every request for one tick, then ends (a burst counted in requests
        // would starve whoever is left sending when the controllers are quiet).
        server.retain_faults(|rule| rule.verb.is_some());
        if n % 3 == 0 {
            server.inject_fault(FaultRule::burst(
                usize::MAX,
                codes[(n / 3) as usize % codes.len()],
            ));
        }
    }
    server.clear_faults();
}

/// Stamps every object with round `round` and the reconcile annotation, retrying through faults.
async fn request_round<K>(api: &Api<K>, names: &[String], round: usize)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let patch = Patch::Merge(json!({"metadata": {"annotations": {
        "gardener.cloud/operation": "reconcile",
        reliability::ROUND_ANNOTATION: round.to_string(),
    }}}));
    let pp = PatchParams::default();
    for name in names {
        retry(|| api.patch(name, &pp, &patch)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_converges_once_per_round_under_faults() {
    let _turn = crate::common::exclusive().await;
    let scale = Scale::from_env();
    let started = std::time::Instant::now();
    let fixture = Fixture::new().await;
    let guard = Guard::default();
    let kinds = Kinds::create(&fixture, scale.objects).await;
    let running = fixture.start_guarded(&guard).await;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = fixture.server.clone();
    let chaos = tokio::spawn(async move { chaos(&server, stop_rx).await });
    for round in 1..=2 {
        if round > 1 {
            request_round(&kinds.extensions, &kinds.extension_names, round).await;
            request_round(&kinds.oscs, &kinds.osc_names, round).await;
        }
        kinds
            .converged(&guard, &round.to_string(), scale.converge)
            .await;
    }
    let _ = stop_tx.send(true);
    chaos.await.unwrap();
    running.shutdown().await.unwrap();

    let overlaps = guard.overlaps();
    assert!(
        overlaps.is_empty(),
        "objects reconciled concurrently: {overlaps:?}"
    );
    let failures = failed_requests_by_object(&fixture.server);
    let mut extra_calls = 0;
    for (key, record) in guard.records() {
        let name = key.rsplit('/').next().unwrap_or_default();
        for round in ["1", "2"] {
            let calls = record.rounds.get(round).copied().unwrap_or(0);
            assert!(calls >= 1, "{key}: round {round} never processed");
            extra_calls += calls - 1;
            let explained = failures.get(name).copied().unwrap_or(0) + record.failed;
            if calls - 1 > explained {
                let log: Vec<String> = fixture
                    .server
                    .requests()
                    .iter()
                    .filter(|r| r.name == name || r.name == format!("osc-result-{name}"))
                    .map(|r| {
                        format!(
                            "{} {} {} {} {}",
                            r.time,
                            r.verb,
                            r.full_resource(),
                            r.name,
                            r.code
                        )
                    })
                    .collect();
                panic!(
                    "{key}: round {round} processed {calls} times with only {explained} failed writes or calls to explain the repeats ({record:?}); its requests:\n{}",
                    log.join("\n")
                );
            }
        }
    }
    kinds.result_secrets_exactly_once(&fixture).await;
    let injected: BTreeMap<u16, usize> = fixture
        .server
        .requests()
        .iter()
        .filter(|r| r.code >= 400)
        .fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.code).or_default() += 1;
            m
        });
    for code in [409, 429, 500, 503] {
        assert!(
            injected.contains_key(&code),
            "the run ended before a {code} was answered: {injected:?}"
        );
    }
    let expired = fixture.server.expired_watches();
    assert!(expired > 0, "no watch was answered 410 Expired");
    println!(
        "faults: {} Extensions + {} OSCs, 2 rounds in {:?}, {extra_calls} repeated actuator calls; {expired} watches expired (410); failed requests by code {injected:?}",
        scale.objects,
        scale.objects,
        started.elapsed()
    );
}

/// Failed writes (4xx/5xx answers) per object name; the result Secret counts for its OSC.
fn failed_requests_by_object(server: &RunningServer) -> BTreeMap<String, usize> {
    let mut failures = BTreeMap::new();
    for r in server.requests() {
        if r.is_write() && r.code >= 400 && !r.name.is_empty() {
            let name = r.name.trim_start_matches("osc-result-").to_string();
            *failures.entry(name).or_default() += 1;
        }
    }
    failures
}

impl Kinds {
    /// Every OSC names its own result Secret, and there is no other.
    async fn result_secrets_exactly_once(&self, fixture: &Fixture) {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(fixture.client.clone(), NS);
        let mut names: Vec<String> = secrets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|s| s.metadata.name)
            .collect();
        names.sort();
        let mut expected: Vec<String> = Vec::new();
        for osc in self.oscs.list(&ListParams::default()).await.unwrap().items {
            let name = kube::ResourceExt::name_any(&osc);
            let reference = osc
                .status
                .as_ref()
                .and_then(|s| s.cloud_config.as_ref())
                .and_then(|c| c.secret_ref.name.clone());
            assert_eq!(
                reference.as_deref(),
                Some(format!("osc-result-{name}").as_str())
            );
            expected.push(format!("osc-result-{name}"));
        }
        expected.sort();
        assert_eq!(names, expected, "one result Secret per OSC, no other");
    }
}
