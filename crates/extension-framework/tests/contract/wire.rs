//! The exact requests of a first reconcile, checked with tower-test where the wire shape is the
//! contract (gardener-contract §10.4): merge patches, `null` to clear, the resourceVersion lock on
//! finalizers and the `/status` subresource.

use extension_framework::testing::{Outcome, Reconciler, ReconcilerConfig};
use gardener_api::extensions::Extension;
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// An actuator that does nothing, so only the framework's requests reach the wire.
struct Noop;

#[async_trait::async_trait]
impl extension_framework::Actuator<Extension> for Noop {
    async fn reconcile(
        &self,
        _: &extension_framework::Context,
        _: &Extension,
    ) -> Result<(), extension_framework::Error> {
        Ok(())
    }
    async fn delete(
        &self,
        _: &extension_framework::Context,
        _: &Extension,
    ) -> Result<(), extension_framework::Error> {
        Ok(())
    }
    async fn migrate(
        &self,
        _: &extension_framework::Context,
        _: &Extension,
    ) -> Result<(), extension_framework::Error> {
        Ok(())
    }
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn extension(annotations: Value, status: Value) -> Value {
    json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
        "metadata": {"name": "a", "namespace": "garden", "resourceVersion": "7", "generation": 3, "annotations": annotations},
        "spec": {"type": "t"},
        "status": status,
    })
}

/// Receives the next request, checks method and path, answers with `reply`, returns the body.
async fn expect(handle: &mut Handle, method: Method, path: &str, reply: Value) -> (String, Value) {
    let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
        .await
        .expect("request")
        .expect("open");
    assert_eq!(request.method(), method, "{}", request.uri());
    assert_eq!(request.uri().path(), path);
    let content_type = request
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    send.send_response(
        Response::builder()
            .status(200)
            .body(Body::from(serde_json::to_vec(&reply).unwrap()))
            .unwrap(),
    );
    (content_type, body)
}

#[tokio::test]
async fn first_reconcile_sends_the_gardener_patch_shapes() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let mut garden = k8s_openapi::api::core::v1::Namespace::default();
    garden.metadata.name = Some("garden".into());
    let cache = extension_framework::cache::SeedCache::from_objects([garden], []);
    let reconciler = Reconciler::<Extension>::new(
        client,
        cache,
        Arc::new(Noop),
        ReconcilerConfig {
            name: "extension".into(),
            finalizer: "extensions.gardener.cloud/t".into(),
            resync: Duration::ZERO,
        },
        None,
    );
    let stale = serde_json::from_value(extension(
        json!({"gardener.cloud/operation": "reconcile"}),
        json!({}),
    ))
    .unwrap();
    let run = tokio::spawn(async move { reconciler.reconcile(Arc::new(stale)).await });
    let path = "/apis/extensions.gardener.cloud/v1alpha1/namespaces/garden/extensions/a";
    let with_error = json!({"lastError": {"description": "Old"}});

    expect(
        &mut handle,
        Method::GET,
        path,
        extension(
            json!({"gardener.cloud/operation": "reconcile"}),
            with_error.clone(),
        ),
    )
    .await;
    let (ct, body) = expect(
        &mut handle,
        Method::PATCH,
        path,
        extension(json!({}), with_error.clone()),
    )
    .await;
    assert_eq!(ct, "application/merge-patch+json");
    assert_eq!(
        body,
        json!({"metadata": {"annotations": {"gardener.cloud/operation": null}}}),
        "annotation removal, no lock"
    );

    // The Namespace comes from the shared cache: no request.
    let (ct, body) = expect(
        &mut handle,
        Method::PATCH,
        path,
        extension(json!({}), with_error.clone()),
    )
    .await;
    assert_eq!(ct, "application/merge-patch+json");
    assert_eq!(
        body,
        json!({"metadata": {"finalizers": ["extensions.gardener.cloud/t"], "resourceVersion": "7"}}),
        "finalizer add is locked by resourceVersion"
    );

    let (_, body) = expect(
        &mut handle,
        Method::PATCH,
        &format!("{path}/status"),
        extension(json!({}), with_error.clone()),
    )
    .await;
    let status = body["status"].as_object().unwrap();
    assert_eq!(status["lastOperation"]["state"], "Processing");
    assert_eq!(status["lastOperation"]["progress"], 1);
    assert_eq!(status["lastOperation"]["type"], "Create");
    assert_eq!(
        status["lastOperation"]["description"],
        "Reconciling the Extension"
    );
    assert!(
        !status.contains_key("lastError"),
        "Processing keeps lastError"
    );
    assert!(!status.contains_key("observedGeneration"));

    let (ct, body) = expect(
        &mut handle,
        Method::PATCH,
        &format!("{path}/status"),
        extension(json!({}), json!({})),
    )
    .await;
    assert_eq!(ct, "application/merge-patch+json");
    let status = body["status"].as_object().unwrap();
    assert_eq!(status["lastOperation"]["state"], "Succeeded");
    assert_eq!(status["lastOperation"]["progress"], 100);
    assert_eq!(
        status["lastError"],
        Value::Null,
        "explicit null clears lastError"
    );
    assert!(status.contains_key("lastError"));
    assert_eq!(status["observedGeneration"], 3);
    let time = status["lastOperation"]["lastUpdateTime"].as_str().unwrap();
    assert!(
        time.ends_with('Z') && time.len() == 20,
        "second precision UTC: {time}"
    );

    assert_eq!(run.await.unwrap().unwrap(), Outcome::Done);
}
