//! Leader election with three replicas of the mwe binary (the chart's flags, controller-runtime's
//! timings: lease 15 s, renew deadline 10 s, retry 2 s).

use crate::common::{Fixture, binary, extension, wait_succeeded};
use gardener_api::extensions::Extension;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use reliability::{NS, Process};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

const LEASE: &str = "mwe-leader-election";
const LEASE_DURATION: Duration = Duration::from_secs(15);
const RENEW_DEADLINE: Duration = Duration::from_secs(10);

struct Replicas<'a> {
    fixture: &'a Fixture,
    running: BTreeMap<String, Process>,
    started: usize,
}

impl<'a> Replicas<'a> {
    fn new(fixture: &'a Fixture, n: usize) -> Self {
        let mut replicas = Self {
            fixture,
            running: BTreeMap::new(),
            started: 0,
        };
        for _ in 0..n {
            replicas.add();
        }
        replicas
    }

    /// Starts one more replica, as the Deployment replaces a lost pod.
    fn add(&mut self) {
        let name = format!("replica-{}", self.started);
        self.started += 1;
        let process = Process::start_with_env(
            &binary("gardener-extension-mwe"),
            &self.fixture.server,
            &[
                "--leader-election=true",
                "--leader-election-namespace=garden",
                &format!("--leader-election-id={LEASE}"),
                "--heartbeat-namespace=garden",
                "--metrics-bind-address=127.0.0.1:0",
                "--health-bind-address=127.0.0.1:0",
            ],
            &[("HOSTNAME", name.as_str())],
        );
        self.running.insert(name, process);
    }

    /// Waits for replica `name` to exit (as kubelet would see it) and forgets it.
    async fn exited(&mut self, name: &str) -> std::process::ExitStatus {
        let mut process = self.running.remove(name).expect("a running replica");
        process.wait(Duration::from_secs(5)).await
    }

    /// The replica holding the lease (identities are `<HOSTNAME>_<random>`).
    async fn leader(&self) -> (String, Lease) {
        let leases: Api<Lease> = Api::namespaced(self.fixture.client.clone(), "garden");
        let lease = leases.get(LEASE).await.expect("the lease exists");
        let holder = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_default();
        let name = holder.split('_').next().unwrap_or_default().to_string();
        (name, lease)
    }

    /// Waits until a replica other than `old` holds the lease; returns how long that took.
    async fn new_leader(&self, old: &str, since: Instant, within: Duration) -> (String, Duration) {
        let leases: Api<Lease> = Api::namespaced(self.fixture.client.clone(), "garden");
        let changed = kube::runtime::wait::await_condition(leases, LEASE, |l: Option<&Lease>| {
            l.and_then(|l| l.spec.as_ref())
                .and_then(|s| s.holder_identity.as_deref())
                .is_some_and(|h| !h.is_empty() && !h.starts_with(&format!("{old}_")))
        });
        tokio::time::timeout(within, changed)
            .await
            .unwrap_or_else(|_| panic!("no new leader within {within:?}"))
            .expect("watching the lease");
        let elapsed = since.elapsed();
        (self.leader().await.0, elapsed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_fail_over_on_kill_hand_over_on_term_and_stop_when_cut_off() {
    let _turn = crate::common::exclusive().await;
    let fixture = Fixture::new().await;
    let extensions: Api<Extension> = Api::namespaced(fixture.client.clone(), NS);
    let pp = PostParams::default();
    let mut replicas = Replicas::new(&fixture, 3);
    extensions.create(&pp, &extension("first")).await.unwrap();
    wait_succeeded(&extensions, "first", Duration::from_secs(30)).await;

    // SIGKILL: nothing is released; a standby takes over when the lease runs out.
    let (leader, _) = replicas.leader().await;
    let killed = Instant::now();
    replicas.running.get_mut(&leader).unwrap().kill();
    extensions
        .create(&pp, &extension("after-kill"))
        .await
        .unwrap();
    let (successor, took) = replicas
        .new_leader(&leader, killed, LEASE_DURATION + Duration::from_secs(2))
        .await;
    wait_succeeded(&extensions, "after-kill", Duration::from_secs(5)).await;
    let reconciled = killed.elapsed();
    // The lease runs out one lease duration after the last renewal, which was at most a retry
    // period before the kill; the standby wakes at that moment (plus the request's time).
    assert!(
        took <= LEASE_DURATION + Duration::from_millis(500),
        "{successor} took over {took:?} after the leader was killed"
    );
    println!(
        "leader election: SIGKILL of {leader}: {successor} leads after {took:?}, reconciles after {reconciled:?}"
    );
    replicas.running.remove(&leader);
    replicas.add();

    // SIGTERM: the leader finishes, releases the lease, and a standby watching it takes over.
    let (leader, _) = replicas.leader().await;
    let terminated = Instant::now();
    replicas.running[&leader].terminate();
    let (successor, took) = replicas
        .new_leader(&leader, terminated, Duration::from_secs(5))
        .await;
    assert!(
        took <= Duration::from_secs(1),
        "hand-over took {took:?} after SIGTERM"
    );
    let status = replicas.exited(&leader).await;
    assert!(
        status.success(),
        "a terminated leader exits cleanly: {status}"
    );
    extensions
        .create(&pp, &extension("after-term"))
        .await
        .unwrap();
    wait_succeeded(&extensions, "after-term", Duration::from_secs(5)).await;
    println!("leader election: SIGTERM of {leader}: {successor} leads after {took:?}");
    replicas.add();

    // The API server goes away for longer than the renew deadline.
    let (leader, before) = replicas.leader().await;
    fixture.server.go_down();
    let down = Instant::now();
    let stopped = replicas.running[&leader]
        .wait_for_line("Leader election lost", LEASE_DURATION)
        .await;
    let stopped_at = SystemTime::now();
    let stopped_after = down.elapsed();
    assert!(
        stopped,
        "the cut-off leader did not stop; its output:\n{}",
        replicas.running[&leader].output().join("\n")
    );
    let outage = RENEW_DEADLINE + Duration::from_secs(2);
    tokio::time::sleep(outage.saturating_sub(down.elapsed())).await;
    fixture.server.come_back().unwrap();
    let (_, after) = replicas.leader().await;
    let renewed = after
        .spec
        .as_ref()
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| SystemTime::UNIX_EPOCH + Duration::from_millis(t.0.as_millisecond() as u64))
        .expect("the lease has a renew time");
    assert_eq!(
        before.spec.as_ref().and_then(|s| s.holder_identity.clone()),
        after.spec.as_ref().and_then(|s| s.holder_identity.clone()),
        "nobody could take the lease while the server was away"
    );
    assert!(
        stopped_at < renewed + LEASE_DURATION,
        "the leader stopped {:?} after its last renewal, not before the lease could expire",
        stopped_at.duration_since(renewed).unwrap_or_default()
    );
    let status = replicas.exited(&leader).await;
    assert!(
        !status.success(),
        "losing the lease ends the process with an error"
    );
    let back = Instant::now();
    extensions
        .create(&pp, &extension("after-outage"))
        .await
        .unwrap();
    wait_succeeded(
        &extensions,
        "after-outage",
        LEASE_DURATION + Duration::from_secs(5),
    )
    .await;
    // The chart grants what the replicas did: standbys list and watch the one Lease by name.
    let requests = fixture.server.rbac_requests("gardener-extension-mwe/");
    assert!(
        requests
            .iter()
            .any(|r| r[0] == "watch" && r[2] == "leases" && r[3] == LEASE)
    );
    extension_framework::dev::assert_rbac("gardener-extension-mwe", &requests);
    println!(
        "leader election: outage of {outage:?}: {leader} stopped {stopped_after:?} into it, {:?} after its last renewal; reconciling again {:?} after the server returned",
        stopped_at.duration_since(renewed).unwrap_or_default(),
        back.elapsed()
    );
}
