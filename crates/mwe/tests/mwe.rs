//! extensions.md checklist items 51–53: the mwe binary against the test API server.

use gardener_api::extensions::{
    DefaultSpec, Extension, ExtensionSpec, LastOperationState, LastOperationType,
};
use k8s_openapi::api::coordination::v1::Lease;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};

const NS: &str = "shoot--foo--bar";

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out")
}

/// A seed with the CRDs, the shoot namespace and its Cluster (like `example/`).
async fn seed(with_cluster: bool) -> RunningServer {
    let server = TestApiServer::builder().start().await.unwrap();
    for crd in gardener_api::crds::all() {
        server
            .apply_yaml(&serde_json::to_string(&crd.crd).unwrap(), "crd")
            .unwrap();
    }
    server
        .apply_yaml(&format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n  labels:\n    gardener.cloud/role: shoot\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: garden\n"), "ns")
        .unwrap();
    if with_cluster {
        let cluster = json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster", "metadata": {"name": NS},
            "spec": {"cloudProfile": {"metadata": {"name": "local"}}, "seed": {"metadata": {"name": "local"}},
                     "shoot": {"metadata": {"name": "bar"}, "spec": {"kubernetes": {"version": "1.33.2"}}, "status": {"lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Succeeded", "type": "Reconcile"}}}}});
        server.apply_yaml(&cluster.to_string(), "cluster").unwrap();
    }
    server
}

/// The real binary, with upstream's `make start` flags, its JSON log lines on a channel.
struct Binary {
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<Value>,
    _dir: tempfile::TempDir,
}

impl Binary {
    fn start(server: &RunningServer) -> Self {
        Self::start_with(server, &["--leader-election=false"])
    }

    /// With the chart's leader election instead of none.
    fn start_leading(server: &RunningServer) -> Self {
        Self::start_with(
            server,
            &[
                "--leader-election=true",
                "--leader-election-id=mwe-leader-election",
                "--leader-election-namespace=garden",
            ],
        )
    }

    fn start_with(server: &RunningServer, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gardener-extension-mwe"))
            .args([
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "--heartbeat-namespace=garden",
            ])
            .args(args)
            .args([
                "--metrics-bind-address=127.0.0.1:0",
                "--health-bind-address=127.0.0.1:0",
            ])
            .env_remove("KUBECONFIG")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let parsed = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
                if tx.send(parsed).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            _dir: dir,
        }
    }

    /// The next log line with this message.
    async fn expect(&mut self, msg: &str) -> Value {
        loop {
            let line = within(self.lines.recv())
                .await
                .unwrap_or_else(|| panic!("no log line {msg:?}"));
            if line["msg"] == msg {
                return line;
            }
        }
    }

    /// SIGTERM, then the exit status (waited for off the runtime: the API server lives on it).
    async fn terminate(self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        within(tokio::task::spawn_blocking(move || {
            let mut binary = self;
            binary.child.wait().unwrap()
        }))
        .await
        .unwrap()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        // A failed test must not leave the process behind.
        let _ = self.child.kill();
    }
}

fn mwe(name: &str, type_: &str) -> Extension {
    Extension::new(
        name,
        ExtensionSpec {
            default_spec: DefaultSpec::of_type(type_),
        },
    )
}

fn last(e: &Extension) -> Option<(LastOperationType, LastOperationState)> {
    e.status
        .as_ref()?
        .default_status
        .last_operation
        .as_ref()
        .map(|l| (l.type_.clone(), l.state.clone()))
}

async fn wait(
    api: &Api<Extension>,
    name: &str,
    cond: impl Fn(&Extension) -> bool + Send + 'static,
) -> Extension {
    within(await_condition(
        api.clone(),
        name,
        move |e: Option<&Extension>| e.is_some_and(&cond),
    ))
    .await
    .unwrap()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_51_52_reconcile_delete_migrate_restore_through_the_binary() {
    let server = seed(true).await;
    let api: Api<Extension> = Api::namespaced(server.client().await.unwrap(), NS);
    let mut binary = Binary::start_leading(&server);

    // Item 51: reconcile logs the message once, adds the finalizer, succeeds, requeues after 60 min.
    api.create(&PostParams::default(), &mwe("mwe", "mwe"))
        .await
        .unwrap();
    let line = binary
        .expect("Hello World, I just entered the Reconcile method")
        .await;
    assert_eq!(line["level"], "info");
    assert_eq!(line["logger"], "FirstLogger");
    assert_eq!(line["name"], "mwe");
    assert_eq!(line["namespace"], NS);
    assert!(line["ts"].as_str().unwrap().contains('T'));
    let done = wait(&api, "mwe", |e| {
        last(e) == Some((LastOperationType::Create, LastOperationState::Succeeded))
    })
    .await;
    assert_eq!(done.finalizers(), ["extensions.gardener.cloud/mwe"]);

    // Item 52: restore logs the Reconcile message, migrate the Delete message and drops all finalizers.
    let annotate =
        |op: &'static str| json!({"metadata": {"annotations": {"gardener.cloud/operation": op}}});
    api.patch(
        "mwe",
        &PatchParams::default(),
        &Patch::Merge(annotate("restore")),
    )
    .await
    .unwrap();
    binary
        .expect("Hello World, I just entered the Reconcile method")
        .await;
    // Like gardenlet, wait until the restore is complete (annotation removed) before migrating.
    wait(&api, "mwe", |e| {
        last(e) == Some((LastOperationType::Restore, LastOperationState::Succeeded))
            && !e.annotations().contains_key("gardener.cloud/operation")
    })
    .await;
    api.patch(
        "mwe",
        &PatchParams::default(),
        &Patch::Merge(annotate("migrate")),
    )
    .await
    .unwrap();
    binary
        .expect("Hello World, I just entered the Delete method")
        .await;
    let migrated = wait(&api, "mwe", |e| {
        last(e) == Some((LastOperationType::Migrate, LastOperationState::Succeeded))
            && !e.annotations().contains_key("gardener.cloud/operation")
    })
    .await;
    assert!(migrated.finalizers().is_empty());

    // Item 52: delete logs the Delete message and removes the finalizer.
    api.create(&PostParams::default(), &mwe("second", "mwe"))
        .await
        .unwrap();
    wait(&api, "second", |e| !e.finalizers().is_empty()).await;
    let uid = api.get("second").await.unwrap().uid().unwrap();
    api.delete("second", &DeleteParams::default())
        .await
        .unwrap();
    binary
        .expect("Hello World, I just entered the Delete method")
        .await;
    within(await_condition(
        api.clone(),
        "second",
        kube::runtime::conditions::is_deleted(&uid),
    ))
    .await
    .unwrap();

    // Graceful shutdown on SIGTERM exits 0.
    assert!(binary.terminate().await.success());
    // A second start finds the heartbeat and the released leader-election Lease, and takes both
    // over (the Lease verbs of a restart).
    let leases: Api<Lease> = Api::namespaced(server.client().await.unwrap(), "garden");
    let renewed = |lease: &Lease| lease.spec.as_ref().and_then(|s| s.renew_time.clone());
    let first = renewed(&leases.get("gardener-extension-heartbeat").await.unwrap());
    let mut binary = Binary::start_leading(&server);
    binary.expect("Acquired the leader-election lease").await;
    within(await_condition(
        leases,
        "gardener-extension-heartbeat",
        move |l: Option<&Lease>| l.is_some_and(|l| renewed(l) != first),
    ))
    .await
    .unwrap();
    assert!(binary.terminate().await.success());

    // Least privilege, proven: the chart's ClusterRole grants every request the binary made.
    let ours = server.rbac_requests("gardener-extension-mwe/");
    assert!(ours.len() > 5, "the binary's requests are recorded");
    extension_framework::dev::assert_rbac("gardener-extension-mwe", &ours);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_53_other_types_are_ignored_and_the_cluster_is_required() {
    let server = seed(false).await;
    let api: Api<Extension> = Api::namespaced(server.client().await.unwrap(), NS);
    let mut binary = Binary::start(&server);
    api.create(&PostParams::default(), &mwe("other", "other"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &mwe("mwe", "mwe"))
        .await
        .unwrap();
    // Without the Cluster the event is not even admitted for a shoot namespace; create the Cluster
    // and annotate, as gardenlet does, to see it reconciled.
    let cluster = json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster", "metadata": {"name": NS},
        "spec": {"cloudProfile": {}, "shoot": {"metadata": {"name": "bar"}}}});
    server.apply_yaml(&cluster.to_string(), "cluster").unwrap();
    api.patch(
        "mwe",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"gardener.cloud/operation": "reconcile"}}}),
        ),
    )
    .await
    .unwrap();
    binary
        .expect("Hello World, I just entered the Reconcile method")
        .await;
    wait(&api, "mwe", |e| {
        last(e).is_some_and(|(_, s)| s == LastOperationState::Succeeded)
    })
    .await;
    assert!(
        api.get("other").await.unwrap().status.is_none(),
        "type other is ignored"
    );
    assert!(binary.terminate().await.success());
}

#[test]
fn binary_rejects_bad_flags_and_reports_startup_errors() {
    let bin = env!("CARGO_BIN_EXE_gardener-extension-mwe");
    let help = Command::new(bin).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("--lifecycle-max-concurrent-reconciles"),
        "upstream's per-controller flag name"
    );
    // gardener-contract §11 item 61 at the binary level: invalid flags exit with clap's usage error.
    for bad in [
        "--log-level=trace",
        "--lifecycle-max-concurrent-reconciles=-1",
        "--leader-election-resource-lock=configmaps",
        "--heartbeat-renew-interval-seconds=0",
    ] {
        let out = Command::new(bin).arg(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    // A start-up failure is one JSON error line and exit code 1, not a panic or a backtrace.
    let out = Command::new(bin)
        .args([
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "--leader-election=false",
        ])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/kubeconfig")
    );
}

/// The arguments Gardener's extension charts render (os-coreos, runtime-gvisor, shoot-flux), with
/// default values and with every list empty: all parse, so the process gets as far as the client.
#[test]
fn binary_accepts_the_arguments_upstream_charts_render() {
    let bin = env!("CARGO_BIN_EXE_gardener-extension-mwe");
    let defaults = [
        "--max-concurrent-reconciles=5",
        "--heartbeat-namespace=extension-mwe",
        "--heartbeat-renew-interval-seconds=30",
        "--disable-controllers=heartbeat",
        "--ignore-operation-annotation=false",
        "--gardener-version=v1.149.0",
        "--metrics-bind-address=:8080",
        "--health-bind-address=:8081",
        "--leader-election-resource-lock=leases",
        "--extension-classes=shoot,seed",
        "--self-hosted-shoot-cluster=false",
        "--lifecycle-max-concurrent-reconciles=5",
    ];
    let empty = [
        "--max-concurrent-reconciles=0",
        "--disable-controllers=",
        "--controllers=",
        "--extension-classes=",
        "--gardener-version=",
        "--ignore-operation-annotation=true",
        "--self-hosted-shoot-cluster",
        "--lifecycle-max-concurrent-reconciles=0",
    ];
    for args in [&defaults[..], &empty[..]] {
        let out = Command::new(bin)
            .args(args)
            .args(["--kubeconfig", "/nonexistent/kubeconfig"])
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("/nonexistent/kubeconfig"),
            "{args:?}: {stderr}"
        );
    }
}

/// The arguments our own chart renders (its checked snapshots, with default and non-default values;
/// `hack/check-charts.py` keeps them equal to Helm's output): all parse.
#[test]
fn binary_accepts_the_arguments_its_chart_renders() {
    let bin = env!("CARGO_BIN_EXE_gardener-extension-mwe");
    let snapshots = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../charts/gardener-extension-mwe/snapshots"
    );
    for variant in ["default", "custom"] {
        let text = std::fs::read_to_string(format!("{snapshots}/{variant}.yaml")).unwrap();
        extension_framework::dev::check_chart_args(bin, &text, |a| a)
            .unwrap_or_else(|e| panic!("{variant}: {e}"));
    }
}

/// When the API server goes away, the error lines say which controller and resource failed and
/// why, down to the refused connection, in Gardener's JSON shape.
#[tokio::test]
async fn watch_errors_name_controller_resource_and_cause() {
    let server = seed(true).await;
    let mut binary = Binary::start(&server);
    let api: Api<Extension> = Api::namespaced(server.client().await.unwrap(), NS);
    api.create(&PostParams::default(), &mwe("up", "mwe"))
        .await
        .unwrap();
    within(kube::runtime::wait::await_condition(
        api,
        "up",
        |e: Option<&Extension>| e.and_then(|e| e.status.as_ref()).is_some(),
    ))
    .await
    .unwrap();
    server.shutdown();
    let line = binary.expect("Watch failed, retrying").await;
    assert_eq!(line["level"], "error");
    assert!(
        line["controller"].is_string() && line["kind"].is_string(),
        "{line}"
    );
    let resource = line["resource"].as_str().unwrap();
    assert!(
        [
            "extensions.extensions.gardener.cloud",
            "namespaces",
            "clusters.extensions.gardener.cloud"
        ]
        .contains(&resource),
        "{line}"
    );
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("refused") || error.contains("closed") || error.contains("reset"),
        "the cause chain reaches the socket error: {error}"
    );
    assert!(binary.terminate().await.success());
}

/// `--version` names the release and the commit the binary was built from.
#[test]
fn version_reports_release_and_commit() {
    let out = Command::new(env!("CARGO_BIN_EXE_gardener-extension-mwe"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rest = text
        .trim_end()
        .strip_prefix(concat!(
            "gardener-extension-mwe ",
            env!("CARGO_PKG_VERSION"),
            " (commit "
        ))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version output: {text}"));
    assert!(
        rest == "unknown" || (rest.len() == 12 && rest.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}
