//! The local seed converges on the checked-in example environment.

use local_seed::{Config, converged, start, table, watch_until_converged};
use std::path::PathBuf;
use std::time::Duration;

fn config(dir: &tempfile::TempDir) -> Config {
    Config {
        example: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../example"),
        kubeconfig_out: dir.path().join("kubeconfig"),
        listen: "127.0.0.1:0".parse().unwrap(),
        exit_when_converged: true,
        timeout_seconds: 60,
        log_level: extension_framework::options::LogLevel::Error,
        log_format: extension_framework::options::LogFormat::Text,
        skip_extension: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_environment_converges_with_every_extension() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    let mut out = Vec::new();
    let seed = start(&config, local_seed::extensions(), &mut out)
        .await
        .unwrap();
    assert!(config.kubeconfig_out.exists());
    let rows = watch_until_converged(&seed, &mut out, Duration::from_secs(60))
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    assert!(converged(&rows));
    let mwe = rows
        .iter()
        .find(|r| r.name == "shoot--foo--bar/mwe")
        .unwrap();
    assert!(mwe.handled && mwe.ready);
    // Create, or a Reconcile after it: under load the watch event of the extension's own
    // Processing write can arrive before the write is recorded as its own, and start a second
    // reconcile (a known race of `own_writes`; the object still converges).
    let succeeded = ["Create Succeeded", "Reconcile Succeeded"];
    assert!(
        succeeded.contains(&mwe.state.as_deref().unwrap_or_default()),
        "{:?}",
        mwe.state
    );
    let gvisor = rows
        .iter()
        .find(|r| r.name == "shoot--foo--bar/gvisor-worker")
        .unwrap();
    assert!(
        succeeded.contains(&gvisor.state.as_deref().unwrap_or_default()),
        "{:?}",
        gvisor.state
    );
    assert_eq!(
        gvisor.produced,
        [
            "ManagedResource extension-runtime-gvisor",
            "ManagedResource extension-runtime-gvisor-installation-worker"
        ]
    );
    // Objects of extensions that are not part of the run are listed as such, never faked.
    let unhandled: Vec<&str> = rows
        .iter()
        .filter(|r| !r.handled)
        .map(|r| r.type_.as_str())
        .collect();
    for row in rows.iter().filter(|r| r.kind == "OperatingSystemConfig") {
        assert_eq!(
            row.state.as_deref(),
            Some("Create Succeeded"),
            "{}",
            row.name
        );
        let produced = row.produced.join(", ");
        assert!(
            produced.starts_with("Secret osc-result-") || produced.ends_with("extension unit(s)"),
            "{}: {produced}",
            row.name
        );
    }
    assert!(
        unhandled.is_empty(),
        "every example object has its extension: {unhandled:?}"
    );
    let flux = rows
        .iter()
        .find(|r| r.name == "shoot--foo--bar/shoot-flux")
        .unwrap();
    assert_eq!(flux.state.as_deref(), Some("Create Succeeded"));
    assert_eq!(
        flux.produced,
        [
            "ManagedResource extension-shoot-flux-config",
            "ManagedResource extension-shoot-flux-install",
            "ManagedResource extension-shoot-flux-source"
        ]
    );
    assert!(
        rows.iter()
            .filter(|r| !r.handled)
            .all(|r| r.state.is_none())
    );
    let summary = table(&rows);
    assert!(summary.starts_with("KIND"));
    assert!(!summary.contains("not handled"));
    let progress = String::from_utf8(out).unwrap();
    assert!(
        progress.contains("Create Succeeded Successfully reconciled Extension"),
        "{progress}"
    );
    for (_, running) in seed.extensions {
        running.shutdown().await.unwrap();
    }
}

#[test]
fn skipped_extensions_are_not_run() {
    let all: Vec<String> = local_seed::extensions()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert!(all.contains(&"gardener-extension-mwe".to_string()));
    let rest = local_seed::selected_extensions(&["gardener-extension-mwe".to_string()]);
    assert!(rest.iter().all(|m| m.name() != "gardener-extension-mwe"));
    assert_eq!(rest.len(), all.len() - 1);
}

/// Objects whose extension is not part of the run are listed as such, never faked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_skipped_extensions_are_not_handled() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    let mut out = Vec::new();
    let extensions = local_seed::selected_extensions(&["gardener-extension-mwe".to_string()]);
    let seed = start(&config, extensions, &mut out).await.unwrap();
    let rows = watch_until_converged(&seed, &mut out, Duration::from_secs(60))
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    let mwe = rows
        .iter()
        .find(|r| r.name == "shoot--foo--bar/mwe")
        .unwrap();
    assert!(!mwe.handled && mwe.state.is_none());
    assert!(table(&rows).contains("not handled"));
    for (_, running) in seed.extensions {
        running.shutdown().await.unwrap();
    }
}

/// `--resource-manager-for` reports the ManagedResources of another cluster healthy, and stops on
/// SIGTERM (the kind end-to-end job runs it beside the extensions' images).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_manager_stand_in_serves_another_cluster() {
    use gardener_api::resources::{ManagedResource, ManagedResourceSpec};
    use kube::api::{Api, PostParams};
    let server = test_apiserver::TestApiServer::builder()
        .start()
        .await
        .unwrap();
    for crd in gardener_api::crds::all() {
        server
            .apply_yaml(&serde_json::to_string(&crd.crd).unwrap(), "crd")
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_local-seed"))
        .arg("--resource-manager-for")
        .arg(&kubeconfig)
        .spawn()
        .unwrap();
    let mrs: Api<ManagedResource> = Api::namespaced(server.client().await.unwrap(), "default");
    let mut mr = ManagedResource::new("mr", ManagedResourceSpec::default());
    mr.metadata.namespace = Some("default".into());
    mrs.create(&PostParams::default(), &mr).await.unwrap();
    let healthy = kube::runtime::wait::await_condition(mrs, "mr", |m: Option<&ManagedResource>| {
        m.and_then(|m| m.status.as_ref()?.conditions.as_ref())
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c.type_ == "ResourcesHealthy"
                        && c.status == gardener_api::extensions::ConditionStatus::True
                })
            })
    });
    tokio::time::timeout(Duration::from_secs(20), healthy)
        .await
        .unwrap()
        .unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
}
