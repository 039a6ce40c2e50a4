//! The garden ConfigMap workflow (checklist items 49–50): a second test API server is the garden,
//! and an in-process SSH server on loopback shows its host key.

use super::extension::{Seed, bootstrapped, find, last_state, shoot};
use gardener_api::extensions::{ErrorCode, LastOperationState};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PublicKey};
use serde_json::{Value, json};
use shoot_flux::actuator::{CONFIG_MR, SOURCE_MR};
use std::net::SocketAddr;
use std::sync::Arc;
use test_apiserver::{RunningServer, TestApiServer};
use tokio::net::TcpListener;

const PROJECT: &str = "garden-foo";

struct Garden {
    server: RunningServer,
    _kubeconfig: tempfile::NamedTempFile,
    flags: shoot_flux::Flags,
}

impl Garden {
    async fn new() -> Self {
        let server = TestApiServer::builder().start().await.unwrap();
        server
            .apply_yaml(
                &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {PROJECT}\n"),
                "garden",
            )
            .unwrap();
        let kubeconfig = tempfile::NamedTempFile::new().unwrap();
        server.write_kubeconfig(kubeconfig.path()).unwrap();
        let flags = shoot_flux::Flags {
            garden_kubeconfig: Some(kubeconfig.path().into()),
            ssh_host_key_timeout_seconds: 5,
            ..shoot_flux::Flags::default()
        };
        Self {
            server,
            _kubeconfig: kubeconfig,
            flags,
        }
    }

    fn flux_config(&self, data: Value) {
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "flux-config", "namespace": PROJECT}, "data": data});
        self.server
            .apply_yaml(&config_map.to_string(), "garden")
            .unwrap();
    }

    async fn source_secret(&self) -> Secret {
        let client = self.server.client().await.unwrap();
        Api::<Secret>::namespaced(client, PROJECT)
            .get("flux-source")
            .await
            .unwrap()
    }

    async fn seed(&self) -> Seed {
        Seed::with_flags(shoot(false, Some("id")), self.flags.clone()).await
    }
}

/// An SSH server on loopback that shows `key` and accepts nobody.
async fn ssh_server(key: PrivateKey) -> SocketAddr {
    ssh_server_with(key, russh::Preferred::default()).await
}

/// [`ssh_server`] with the server's algorithm preferences (e.g. only one key exchange).
async fn ssh_server_with(key: PrivateKey, preferred: russh::Preferred) -> SocketAddr {
    struct Refuse;
    impl russh::server::Handler for Refuse {
        type Error = russh::Error;
    }
    let config = Arc::new(russh::server::Config {
        keys: vec![key],
        preferred,
        ..russh::server::Config::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let config = config.clone();
            tokio::spawn(async move {
                if let Ok(session) = russh::server::run_stream(config, stream, Refuse).await {
                    let _ = session.await;
                }
            });
        }
    });
    addr
}

fn text(secret: &Secret, key: &str) -> String {
    String::from_utf8(secret.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

fn shoot_data(secret: &Value, key: &str) -> String {
    let bytes: ByteString = serde_json::from_value(secret["data"][key].clone()).unwrap();
    String::from_utf8(bytes.0).unwrap()
}

/// Item 50: a private repository gets a new ed25519 deploy key and the host's key in the project's
/// `flux-source` Secret, delivered to the shoot with `main-gitrepo` and `main-ks`.
#[tokio::test]
async fn private_repositories_get_a_deploy_key_and_the_host_key() {
    let host_key = PrivateKey::from(Ed25519Keypair::from_seed(&[7; 32]));
    let host_public: PublicKey = host_key.public_key().clone();
    let ssh = ssh_server(host_key).await;
    let garden = Garden::new().await;
    let url = format!("ssh://git@127.0.0.1:{}/THE-OWNER/THE-REPO", ssh.port());
    garden.flux_config(json!({"fluxVersion": "2.9.2", "repositoryUrl": url,
                              "repositoryBranch": "main", "repositoryType": "private"}));
    let seed = garden.seed().await;
    seed.create(Value::Null).await;
    seed.wait(|e| bootstrapped(e) && last_state(e) == Some(LastOperationState::Succeeded))
        .await;

    let secret = garden.source_secret().await;
    assert_eq!(
        text(&secret, "known_hosts"),
        format!(
            "[127.0.0.1]:{} {}",
            ssh.port(),
            host_public.to_openssh().unwrap()
        )
    );
    let identity = PrivateKey::from_openssh(text(&secret, "identity")).unwrap();
    assert_eq!(identity.algorithm(), russh::keys::Algorithm::Ed25519);
    assert_eq!(
        identity.public_key().to_openssh().unwrap(),
        text(&secret, "identity.pub")
    );

    let sources = seed.objects(SOURCE_MR).await;
    let repo = find(&sources, "GitRepository", "main-gitrepo").unwrap();
    assert_eq!(repo["spec"]["url"], url.as_str());
    assert_eq!(repo["spec"]["interval"], "30s");
    assert_eq!(repo["spec"]["ref"], json!({"branch": "main"}));
    assert_eq!(repo["spec"]["secretRef"], json!({"name": "flux-source"}));
    let ks = find(&sources, "Kustomization", "main-ks").unwrap();
    assert_eq!(ks["spec"]["path"], "./");
    assert_eq!(ks["spec"]["targetNamespace"], "default");
    let config = seed.objects(CONFIG_MR).await;
    let shoot_secret = find(&config, "Secret", "flux-source").unwrap();
    assert_eq!(shoot_secret["metadata"]["namespace"], "flux-system");
    for key in ["identity", "identity.pub", "known_hosts"] {
        assert_eq!(shoot_data(shoot_secret, key), text(&secret, key), "{key}");
    }
    seed.stop().await;
}

/// Item 50: an existing `flux-source` is reused as it is (no key generated, no host contacted).
#[tokio::test]
async fn an_existing_deploy_key_is_reused() {
    let garden = Garden::new().await;
    garden
        .server
        .apply_yaml(&format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-source\n  namespace: {PROJECT}\nstringData:\n  identity: the-project-key\n  identity.pub: ssh-ed25519 AAAA\n  known_hosts: git.example ssh-ed25519 AAAA\n"), "garden")
        .unwrap();
    // Nothing listens on port 1: a host-key read would fail the reconcile.
    garden.flux_config(json!({"repositoryUrl": "ssh://git@127.0.0.1:1/o/r",
                              "repositoryBranch": "main", "repositoryType": "private"}));
    let seed = garden.seed().await;
    seed.create(Value::Null).await;
    seed.wait_state(LastOperationState::Succeeded).await;
    let config = seed.objects(CONFIG_MR).await;
    let shoot_secret = find(&config, "Secret", "flux-source").unwrap();
    assert_eq!(shoot_data(shoot_secret, "identity"), "the-project-key");
    assert_eq!(
        text(&garden.source_secret().await, "identity"),
        "the-project-key"
    );
    seed.stop().await;
}

/// Item 49: without `flux-config` the reconcile fails as a configuration problem naming the
/// ConfigMap; once it exists (here with `knownHosts`, so no host is contacted) it succeeds.
#[tokio::test]
async fn the_config_map_is_required_and_known_hosts_can_be_given() {
    let garden = Garden::new().await;
    let seed = garden.seed().await;
    seed.create(Value::Null).await;
    let failed = seed.wait_state(LastOperationState::Error).await;
    let error = failed.status.unwrap().default_status.last_error.unwrap();
    assert_eq!(error.codes, Some(vec![ErrorCode::ConfigurationProblem]));
    assert!(
        error
            .description
            .contains("ConfigMap garden-foo/flux-config not found in the garden"),
        "{}",
        error.description
    );

    garden.flux_config(json!({"repositoryUrl": "ssh://git@127.0.0.1:1/o/r", "repositoryBranch": "main",
                              "repositoryType": "private", "knownHosts": "[127.0.0.1]:1 ssh-ed25519 AAAAgiven"}));
    seed.reannotate().await;
    seed.wait_state(LastOperationState::Succeeded).await;
    let secret = garden.source_secret().await;
    assert_eq!(
        text(&secret, "known_hosts"),
        "[127.0.0.1]:1 ssh-ed25519 AAAAgiven"
    );
    assert!(PrivateKey::from_openssh(text(&secret, "identity")).is_ok());
    seed.stop().await;
}

/// A private repository whose host does not answer is a clear error, not a hang.
#[tokio::test]
async fn unreachable_hosts_are_reported() {
    let garden = Garden::new().await;
    garden.flux_config(json!({"repositoryUrl": "ssh://git@127.0.0.1:1/o/r",
                              "repositoryBranch": "main", "repositoryType": "private"}));
    let seed = garden.seed().await;
    seed.create(Value::Null).await;
    let failed = seed.wait_state(LastOperationState::Error).await;
    let error = failed.status.unwrap().default_status.last_error.unwrap();
    assert!(
        error
            .description
            .contains("could not read the SSH host key of 127.0.0.1:1"),
        "{}",
        error.description
    );
    assert_eq!(error.codes, None);
    seed.stop().await;
}

/// As upstream, gardenlet's kubeconfig Secret in the seed gives garden access without a flag; a
/// public repository needs no key.
#[tokio::test]
async fn gardenlet_kubeconfig_secret_enables_the_workflow() {
    let garden = Garden::new().await;
    garden.flux_config(
        json!({"repositoryUrl": "https://git.example/o/r", "repositoryBranch": "main"}),
    );
    let seed = Seed::with_flags(shoot(false, Some("id")), shoot_flux::Flags::default()).await;
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "gardenlet-kubeconfig", "namespace": "garden"},
        "stringData": {"kubeconfig": garden.server.kubeconfig_yaml()}});
    seed.server
        .apply_yaml(
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: garden\n---\n{secret}"),
            "seed",
        )
        .unwrap();
    seed.create(Value::Null).await;
    seed.wait_state(LastOperationState::Succeeded).await;
    let sources = seed.objects(SOURCE_MR).await;
    let repo = find(&sources, "GitRepository", "main-gitrepo").unwrap();
    assert_eq!(repo["spec"]["url"], "https://git.example/o/r");
    assert!(repo["spec"].get("secretRef").is_none());
    let config = seed.objects(CONFIG_MR).await;
    assert!(find(&config, "Secret", "flux-source").is_none());
    seed.stop().await;
}

/// The host-key scan speaks both key exchanges it offers (X25519 above, NIST P-256 here) to a real
/// SSH server, and reports what else it meets: no SSH at all, or silence until the timeout.
#[tokio::test]
async fn the_host_key_scan_handles_p256_kex_and_reports_failures() {
    use shoot_flux::ssh::{HostKeyError, SshTarget, known_hosts};
    use std::time::Duration;
    let host_key = PrivateKey::from(Ed25519Keypair::from_seed(&[9; 32]));
    let public = host_key.public_key().to_openssh().unwrap();
    let preferred = russh::Preferred {
        kex: std::borrow::Cow::Borrowed(&[russh::kex::ECDH_SHA2_NISTP256]),
        ..russh::Preferred::default()
    };
    let addr = ssh_server_with(host_key, preferred).await;
    let target = |port| SshTarget {
        host: "127.0.0.1".into(),
        port,
    };
    assert_eq!(
        known_hosts(&target(addr.port()), Duration::from_secs(5))
            .await
            .unwrap(),
        format!("[127.0.0.1]:{} {public}", addr.port())
    );

    // Not SSH: an HTTP server's greeting, then the connection closes.
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_port = http.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut stream, _)) = http.accept().await {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let error = known_hosts(&target(http_port), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(error, HostKeyError::Ssh { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&format!("127.0.0.1:{http_port}")),
        "{error}"
    );

    // Silence: the connection is accepted and nothing is said.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _keep = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let error = known_hosts(&target(silent_port), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(error, HostKeyError::Timeout { .. }), "{error}");
}
