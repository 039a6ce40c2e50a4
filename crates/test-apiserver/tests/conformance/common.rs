//! Backend selection, the test CRD and helpers shared by the conformance tests.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};

/// A small custom resource with a status subresource, a schema with required fields, an enum, a
/// bound and a default, so validation and subresource rules can be exercised.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "conformance.gardener-rs.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wdg",
    derive = "PartialEq"
)]
pub struct WidgetSpec {
    /// Required; must be >= 0.
    #[schemars(range(min = 0))]
    pub size: i64,
    /// One of red, green, blue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    /// Free-form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Red,
    Green,
    Blue,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WidgetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// The API server under test plus a fresh namespace.
pub struct Ctx {
    pub client: Client,
    pub ns: String,
    /// The fake, when running against it.
    pub fake: Option<RunningServer>,
}

pub fn on_fake() -> bool {
    !matches!(std::env::var("TEST_K8S").as_deref(), Ok("kubeconfig"))
}

/// Skips the rest of a test when running against the fake (`reason` says why it cannot pass there).
#[macro_export]
macro_rules! skip_on_fake {
    ($reason:expr) => {
        if $crate::common::on_fake() {
            eprintln!("skipped on the fake: {}", $reason);
            return;
        }
    };
}

/// Skips the rest of a test on real clusters (it uses a hook only the fake has).
#[macro_export]
macro_rules! skip_unless_fake {
    () => {
        if !$crate::common::on_fake() {
            eprintln!("skipped on a real cluster: uses a test-apiserver hook");
            return;
        }
    };
}

impl Ctx {
    /// Connects to the backend, installs the Widget CRD and creates a namespace `t-<random>`.
    pub async fn new() -> Self {
        let (client, fake) = if on_fake() {
            let server = TestApiServer::builder()
                .bookmark_interval(Duration::from_millis(200))
                .start()
                .await
                .expect("fake starts");
            (server.client().await.expect("client"), Some(server))
        } else {
            (
                Client::try_default().await.expect("kubeconfig client"),
                None,
            )
        };
        install_crd(&client, Widget::crd()).await;
        let ns = format!("t-{:08x}", rand::random::<u32>());
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(ns.clone());
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("namespace");
        Self { client, ns, fake }
    }

    pub fn widgets(&self) -> Api<Widget> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn fake(&self) -> &RunningServer {
        self.fake.as_ref().expect("only called on the fake")
    }

    /// Deletes the namespace (best effort; real clusters clean up asynchronously).
    pub async fn cleanup(self) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = namespaces.delete(&self.ns, &DeleteParams::default()).await;
    }
}

/// Creates a CRD if missing and waits until it is established.
pub async fn install_crd(client: &Client, crd: CustomResourceDefinition) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.metadata.name.clone().expect("CRD has a name");
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.is_already_exists() => {}
        Err(e) => panic!("creating CRD {name}: {e}"),
    }
    within(await_condition(
        crds,
        &name,
        conditions::is_crd_established(),
    ))
    .await
    .expect("CRD established");
}

/// Bounds a wait so a broken server fails the test instead of hanging it.
pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out waiting")
}

pub fn widget(name: &str, size: i64) -> Widget {
    Widget::new(
        name,
        WidgetSpec {
            size,
            ..WidgetSpec::default()
        },
    )
}

/// The reason and code of an API error.
pub fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> (String, u16) {
    match result {
        Err(kube::Error::Api(status)) => (status.reason.clone(), status.code),
        other => panic!("expected an API error, got {other:?}"),
    }
}
