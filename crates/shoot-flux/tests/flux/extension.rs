//! The extension end to end against the test API server, with the resource-manager stand-in
//! reporting ManagedResources healthy (checklist items 41–48, adapted to ManagedResources).

use extension_framework::RunningExtension;
use extension_framework::options::Options;
use gardener_api::extensions::{ConditionStatus, ErrorCode, Extension, LastOperationState};
use gardener_api::resources::ManagedResource;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use shoot_flux::actuator::{CONFIG_MR, INSTALL_MR, SOURCE_MR};
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};
use tokio::sync::watch;

pub(crate) const NS: &str = "shoot--foo--bar";
/// The in-process extension's user agent, as the binary sends it.
const AGENT: &str = "gardener-extension-shoot-flux/";

pub(crate) struct Seed {
    pub(crate) server: RunningServer,
    client: Client,
    running: Option<RunningExtension>,
    _stop: watch::Sender<bool>,
}

pub(crate) fn shoot(hibernated: bool, identity: Option<&str>) -> Value {
    json!({"apiVersion": "core.gardener.cloud/v1beta1", "kind": "Shoot", "metadata": {"name": "bar", "namespace": "garden-foo"},
           "spec": {"hibernation": {"enabled": hibernated}, "resources": [
               {"name": "flux-ssh", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "ssh"}},
               {"name": "vault", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "vault-token"}},
               {"name": "dashboards", "resourceRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "d"}}]},
           "status": {"clusterIdentity": identity, "technicalID": NS,
                      "lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Succeeded", "type": "Reconcile"}}})
}

impl Seed {
    async fn new(shoot: Value) -> Self {
        Self::with_flags(shoot, shoot_flux::Flags::default()).await
    }

    /// A seed running the extension with `flags` (the bundled manifests and garden identity
    /// `my-garden` set).
    pub(crate) async fn with_flags(shoot: Value, flags: shoot_flux::Flags) -> Self {
        let server = TestApiServer::builder().start().await.unwrap();
        for crd in gardener_api::crds::all() {
            server
                .apply_yaml(&serde_json::to_string(&crd.crd).unwrap(), "crd")
                .unwrap();
        }
        let cluster = json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster", "metadata": {"name": NS},
            "spec": {"cloudProfile": {}, "shoot": shoot}});
        server
            .apply_yaml(&format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n  labels:\n    gardener.cloud/role: shoot\n---\n{cluster}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: ref-ssh\n  namespace: {NS}\n  labels:\n    team: a\n  annotations:\n    gardener-extension-shoot-flux/copy-labels: \"true\"\ntype: kubernetes.io/ssh-auth\nstringData:\n  identity: key\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: ref-vault-token\n  namespace: {NS}\n  labels:\n    team: b\nstringData:\n  token: t\n"), "seed")
            .unwrap();
        let client = server.client().await.unwrap();
        let (stop, stop_rx) = watch::channel(false);
        extension_framework::dev::resource_manager(client.clone(), stop_rx);
        let flags = shoot_flux::Flags {
            flux_manifests_dir: Some(shoot_flux::BUNDLED_MANIFESTS.into()),
            garden_cluster_identity: "my-garden".into(),
            ..flags
        };
        let agent = server.client_as(&format!("{AGENT}test")).await.unwrap();
        let running = shoot_flux::manager(&flags)
            .start(Options::embedded(NS), agent)
            .await
            .unwrap();
        Self {
            server,
            client,
            running: Some(running),
            _stop: stop,
        }
    }

    /// The chart's ClusterRole grants every request the extension made so far (call before
    /// clearing the request log).
    pub(crate) fn assert_rbac(&self) {
        let ours = self.server.rbac_requests(AGENT);
        extension_framework::dev::assert_rbac("gardener-extension-shoot-flux", &ours);
    }

    pub(crate) fn extensions(&self) -> Api<Extension> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub(crate) async fn create(&self, provider_config: Value) {
        let ext: Extension = serde_json::from_value(json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
            "metadata": {"name": "shoot-flux", "namespace": NS}, "spec": {"type": "shoot-flux", "providerConfig": provider_config}})).unwrap();
        self.extensions()
            .create(&PostParams::default(), &ext)
            .await
            .unwrap();
    }

    pub(crate) async fn wait(&self, condition: impl Fn(&Extension) -> bool) -> Extension {
        let done = await_condition(
            self.extensions(),
            "shoot-flux",
            move |e: Option<&Extension>| e.is_some_and(&condition),
        );
        tokio::time::timeout(Duration::from_secs(20), done)
            .await
            .expect("timed out")
            .unwrap()
            .unwrap()
    }

    pub(crate) async fn wait_state(&self, state: LastOperationState) -> Extension {
        self.wait(move |e| last_state(e) == Some(state.clone()))
            .await
    }

    /// The objects in a ManagedResource's Secret.
    pub(crate) async fn objects(&self, mr: &str) -> Vec<Value> {
        let mrs: Api<ManagedResource> = Api::namespaced(self.client.clone(), NS);
        let refs = mrs.get(mr).await.unwrap().spec.secret_refs.unwrap();
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), NS);
        let data = secrets.get(&refs[0].name).await.unwrap().data.unwrap();
        let data = data.into_iter().map(|(k, v)| (k, v.0)).collect();
        extension_framework::registry::decode(&data).unwrap()
    }

    pub(crate) async fn reannotate(&self) {
        self.extensions()
            .patch(
                "shoot-flux",
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"annotations": {"gardener.cloud/operation": "reconcile"}}}),
                ),
            )
            .await
            .unwrap();
    }

    /// Changes the providerConfig, asks for a reconcile as gardenlet does, and waits until one
    /// succeeded for the new generation. The operation annotation goes before the reconcile starts
    /// (as upstream), so "no annotation and Succeeded" alone may still be the previous run.
    pub(crate) async fn reconfigure(&self, provider_config: Value) -> Extension {
        let patched = self
            .extensions()
            .patch(
                "shoot-flux",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"providerConfig": provider_config}})),
            )
            .await
            .unwrap();
        let generation = patched.metadata.generation;
        self.reannotate().await;
        self.wait(move |e| {
            e.status
                .as_ref()
                .and_then(|s| s.default_status.observed_generation)
                == generation
                && last_state(e) == Some(LastOperationState::Succeeded)
        })
        .await
    }

    pub(crate) async fn stop(mut self) {
        self.running.take().unwrap().shutdown().await.unwrap();
    }
}

impl Drop for Seed {
    /// Every test proves least privilege: the chart grants each request the extension made.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_rbac();
        }
    }
}

pub(crate) fn last_state(e: &Extension) -> Option<LastOperationState> {
    Some(
        e.status
            .as_ref()?
            .default_status
            .last_operation
            .as_ref()?
            .state
            .clone(),
    )
}

pub(crate) fn bootstrapped(e: &Extension) -> bool {
    e.status
        .as_ref()
        .and_then(|s| s.default_status.conditions.as_ref())
        .is_some_and(|c| {
            c.iter().any(|c| {
                c.type_ == "FluxBootstrapped"
                    && c.status == ConditionStatus::True
                    && c.reason == "BootstrapSuccessful"
            })
        })
}

pub(crate) fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

/// Item 41: no providerConfig installs Flux only, with `shoot-info`, and records the bootstrap.
#[tokio::test]
async fn flux_only_then_bootstrapped() {
    let seed = Seed::new(shoot(false, Some("garden-foo-bar-123"))).await;
    seed.create(Value::Null).await;
    let done = seed
        .wait(|e| bootstrapped(e) && last_state(e) == Some(LastOperationState::Succeeded))
        .await;
    assert!(bootstrapped(&done));
    let install = seed.objects(INSTALL_MR).await;
    let deployments: Vec<&str> = install
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        deployments,
        [
            "helm-controller",
            "kustomize-controller",
            "notification-controller",
            "source-controller"
        ]
    );
    let image = find(&install, "Deployment", "source-controller").unwrap()["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert_eq!(image, "ghcr.io/fluxcd/source-controller:v2.9.2");
    let config = seed.objects(CONFIG_MR).await;
    let info = find(&config, "ConfigMap", "shoot-info").unwrap();
    assert_eq!(info["metadata"]["namespace"], "flux-system");
    assert_eq!(
        info["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "gardener-extension-shoot-flux"
    );
    assert_eq!(
        info["data"],
        json!({"SHOOT_INFO_CLUSTER_IDENTITY": "garden-foo-bar-123", "SHOOT_INFO_NAME": "bar", "SHOOT_INFO_TECHNICAL_ID": NS, "SHOOT_INFO_GARDEN_CLUSTER_IDENTITY": "my-garden"})
    );
    let mrs: Api<ManagedResource> = Api::namespaced(seed.client.clone(), NS);
    assert_eq!(
        mrs.get(INSTALL_MR).await.unwrap().annotations()["resources.gardener.cloud/ignore"],
        "true",
        "handed over to the shoot's owners"
    );
    assert!(
        mrs.get_opt(SOURCE_MR).await.unwrap().is_none(),
        "no source configured"
    );
    seed.stop().await;
}

/// Item 42, and a shoot without a cluster identity.
#[tokio::test]
async fn hibernated_shoots_are_not_touched() {
    let seed = Seed::new(shoot(true, None)).await;
    seed.create(Value::Null).await;
    seed.wait_state(LastOperationState::Succeeded).await;
    let mrs: Api<ManagedResource> = Api::namespaced(seed.client.clone(), NS);
    assert!(
        mrs.list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    seed.stop().await;
    let awake = Seed::new(shoot(false, None)).await;
    awake.create(Value::Null).await;
    awake.wait_state(LastOperationState::Succeeded).await;
    let info = awake.objects(CONFIG_MR).await;
    assert_eq!(
        find(&info, "ConfigMap", "shoot-info").unwrap()["data"]["SHOOT_INFO_CLUSTER_IDENTITY"],
        "",
        "empty, not a crash"
    );
    awake.stop().await;
}

fn git_config(extra_secrets: Value) -> Value {
    json!({"apiVersion": "flux.extensions.gardener.cloud/v1alpha1", "kind": "FluxConfig",
        "source": {"template": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": {"url": "ssh://git@example.com/fleet", "ref": {"branch": "main"}}},
                   "secretResourceName": "flux-ssh"},
        "kustomization": {"template": {"spec": {"path": "clusters/bar"}}},
        "additionalSecretResources": extra_secrets})
}

/// Items 43–46: the source, the copied Secrets, `Once` keeping the source, removal of secrets.
#[tokio::test]
async fn source_secrets_and_once() {
    let seed = Seed::new(shoot(false, Some("id"))).await;
    seed.create(git_config(
        json!([{"name": "vault", "targetName": "vault"}]),
    ))
    .await;
    seed.wait(|e| bootstrapped(e) && last_state(e) == Some(LastOperationState::Succeeded))
        .await;
    let sources = seed.objects(SOURCE_MR).await;
    let repo = find(&sources, "GitRepository", "flux-system").unwrap();
    assert_eq!(repo["spec"]["interval"], "1m");
    assert_eq!(repo["spec"]["secretRef"]["name"], "flux-system");
    let ks = find(&sources, "Kustomization", "flux-system").unwrap();
    assert_eq!(
        ks["spec"]["sourceRef"],
        json!({"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"})
    );
    let config = seed.objects(CONFIG_MR).await;
    let ssh = find(&config, "Secret", "flux-system").unwrap();
    assert_eq!(ssh["type"], "kubernetes.io/ssh-auth", "type kept");
    assert_eq!(
        ssh["metadata"]["labels"],
        json!({"app.kubernetes.io/managed-by": "gardener-extension-shoot-flux", "team": "a"}),
        "labels copied on request"
    );
    assert_eq!(ssh["data"]["identity"], "a2V5");
    let vault = find(&config, "Secret", "vault").unwrap();
    assert_eq!(
        vault["metadata"]["labels"],
        json!({"app.kubernetes.io/managed-by": "gardener-extension-shoot-flux"}),
        "no copy-labels annotation"
    );

    // Item 43: after the bootstrap, a changed source has no effect; secrets still follow.
    let mut changed = git_config(json!([]));
    changed["kustomization"]["template"]["spec"]["path"] = json!("clusters/other");
    seed.reconfigure(changed).await;
    let ks_path = |objects: Vec<Value>| {
        find(&objects, "Kustomization", "flux-system").unwrap()["spec"]["path"].clone()
    };
    assert_eq!(
        ks_path(seed.objects(SOURCE_MR).await),
        "clusters/bar",
        "Once: left to the shoot's owners"
    );
    // Item 46: the removed additional secret is no longer delivered (GRM deletes it).
    assert!(find(&seed.objects(CONFIG_MR).await, "Secret", "vault").is_none());
    seed.stop().await;
}

/// `Continuous` keeps the source in sync.
#[tokio::test]
async fn continuous_keeps_following() {
    let seed = Seed::new(shoot(false, Some("id"))).await;
    let mut config = git_config(json!([]));
    config["syncMode"] = json!("Continuous");
    seed.create(config.clone()).await;
    seed.wait_state(LastOperationState::Succeeded).await;
    config["kustomization"]["template"]["spec"]["path"] = json!("clusters/other");
    seed.reconfigure(config).await;
    let sources = seed.objects(SOURCE_MR).await;
    assert_eq!(
        find(&sources, "Kustomization", "flux-system").unwrap()["spec"]["path"],
        "clusters/other"
    );
    seed.stop().await;
}

/// Item 47 for the references to `shoot.spec.resources`.
#[tokio::test]
async fn bad_references_are_configuration_problems() {
    let seed = Seed::new(shoot(false, Some("id"))).await;
    seed.create(git_config(
        json!([{"name": "dashboards"}, {"name": "missing"}]),
    ))
    .await;
    let failed = seed.wait_state(LastOperationState::Error).await;
    let error = failed.status.unwrap().default_status.last_error.unwrap();
    assert_eq!(error.codes, Some(vec![ErrorCode::ConfigurationProblem]));
    assert!(error.description.contains("invalid providerConfig: [additionalSecretResources[0].name: Invalid value: \"dashboards\": secret resource name references a resource which is not a secret"), "{}", error.description);
    assert!(
        error
            .description
            .contains("additionalSecretResources[1].name: Invalid value: \"missing\"")
    );
    seed.stop().await;
}

/// Item 48 (adapted): delete and migrate keep Flux in the shoot (keepObjects before deletion).
#[tokio::test]
async fn delete_keeps_flux_in_the_shoot() {
    let seed = Seed::new(shoot(false, Some("id"))).await;
    seed.create(git_config(json!([]))).await;
    seed.wait(|e| bootstrapped(e) && last_state(e) == Some(LastOperationState::Succeeded))
        .await;
    seed.assert_rbac();
    seed.server.clear_requests();
    seed.extensions()
        .delete("shoot-flux", &Default::default())
        .await
        .unwrap();
    let gone = await_condition(seed.extensions(), "shoot-flux", |e: Option<&Extension>| {
        e.is_none()
    });
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .unwrap()
        .unwrap();
    let requests = seed.server.requests();
    for mr in [INSTALL_MR, SOURCE_MR, CONFIG_MR] {
        let keep = requests
            .iter()
            .position(|r| r.resource == "managedresources" && r.name == mr && r.verb == "patch");
        let delete = requests
            .iter()
            .position(|r| r.resource == "managedresources" && r.name == mr && r.verb == "delete");
        assert!(
            matches!((keep, delete), (Some(k), Some(d)) if k < d),
            "{mr}: keepObjects before delete"
        );
    }
    seed.stop().await;
}
