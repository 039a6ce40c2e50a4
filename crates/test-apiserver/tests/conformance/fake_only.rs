//! Hooks only the test API server has: request log, fault injection, TLS with a token, manifests.

use crate::common::{Ctx, api_error, widget};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use std::time::Duration;
use test_apiserver::{FaultAction, FaultRule, TestApiServer};

#[tokio::test]
async fn request_log_records_verbs_resources_and_codes() {
    skip_unless_fake!();
    let ctx = Ctx::new().await;
    let fake = ctx.fake();
    fake.clear_requests();
    let api = ctx.widgets();
    api.create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    let _ = api.get("missing").await;
    api.patch_status("a", &kube::api::PatchParams::apply("me"), &kube::api::Patch::Apply(serde_json::json!({
        "apiVersion": "conformance.gardener-rs.dev/v1", "kind": "Widget", "status": {"phase": "x"}
    })))
    .await
    .unwrap();
    let log = fake.requests();
    let summary: Vec<(String, String, String, u16)> = log
        .iter()
        .map(|r| (r.verb.clone(), r.full_resource(), r.name.clone(), r.code))
        .collect();
    assert_eq!(
        summary,
        [
            ("create".to_string(), "widgets".to_string(), "a".into(), 201),
            ("get".into(), "widgets".into(), "missing".into(), 404),
            ("patch".into(), "widgets/status".into(), "a".into(), 200),
        ]
    );
    assert_eq!(log[2].field_manager, "me");
    assert_eq!(log[2].content_type, "application/apply-patch+yaml");
    assert_eq!(log[0].namespace, ctx.ns);
    assert_eq!(log.iter().filter(|r| r.is_write()).count(), 2);
}

#[tokio::test]
async fn injected_faults_answer_the_next_matching_requests() {
    skip_unless_fake!();
    let ctx = Ctx::new().await;
    let fake = ctx.fake();
    let api = ctx.widgets();
    fake.inject_fault(FaultRule::new("create", "widgets", 2, 500));
    for _ in 0..2 {
        let (reason, code) = api_error(api.create(&PostParams::default(), &widget("f", 1)).await);
        assert_eq!((reason.as_str(), code), ("InternalError", 500));
    }
    api.create(&PostParams::default(), &widget("f", 1))
        .await
        .unwrap();
    // kube's client retries 429 and 503 by itself: the log shows the failed attempts.
    fake.clear_requests();
    fake.inject_fault(FaultRule::new("get", "widgets", 1, 429));
    fake.inject_fault(FaultRule::new("get", "widgets", 1, 503));
    assert!(api.get("f").await.is_ok());
    let codes: Vec<u16> = fake.requests().iter().map(|r| r.code).collect();
    assert_eq!(codes, [429, 503, 200]);
    fake.inject_fault(FaultRule::new("update", "widgets", 1, 409));
    let current = api.get("f").await.unwrap();
    assert_eq!(
        api_error(api.replace("f", &PostParams::default(), &current).await).0,
        "Conflict"
    );

    fake.set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    api.get("f").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    fake.clear_faults();
}

#[tokio::test]
async fn tls_with_bearer_token_and_kubeconfig_file() {
    let server = TestApiServer::builder()
        .tls(true)
        .token("s3cret")
        .start()
        .await
        .unwrap();
    assert!(server.url().starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    assert!(namespaces.get_opt("default").await.unwrap().is_some());

    // Without the token: 401.
    let mut anonymous = server.kubeconfig();
    anonymous.auth_infos[0].auth_info = Some(Default::default());
    let config = kube::Config::from_custom_kubeconfig(anonymous, &Default::default())
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(kube::Client::try_from(config).unwrap());
    assert_eq!(api_error(namespaces.get("default").await).1, 401);
}

#[tokio::test]
async fn manifests_load_from_a_directory_with_status() {
    let server = TestApiServer::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("00-crd.yaml"),
        serde_json::to_string(
            &<gardener_api::resources::ManagedResource as kube::CustomResourceExt>::crd(),
        )
        .unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("10-objects.yaml"),
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: shoot--foo--bar
  labels:
    gardener.cloud/role: shoot
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  namespace: shoot--foo--bar
data:
  a: "1"
---
apiVersion: resources.gardener.cloud/v1alpha1
kind: ManagedResource
metadata:
  name: mr
  namespace: shoot--foo--bar
spec:
  secretRefs: []
status:
  observedGeneration: 1
"#,
    )
    .unwrap();
    assert_eq!(server.load_dir(dir.path()).unwrap(), 4);
    let client = server.client().await.unwrap();
    let cm: Api<ConfigMap> = Api::namespaced(client.clone(), "shoot--foo--bar");
    assert_eq!(cm.get("cm").await.unwrap().data.unwrap()["a"], "1");
    let mrs: Api<gardener_api::resources::ManagedResource> =
        Api::namespaced(client, "shoot--foo--bar");
    assert_eq!(
        mrs.get("mr")
            .await
            .unwrap()
            .status
            .unwrap()
            .observed_generation,
        Some(1)
    );
    // Loading again updates in place.
    assert_eq!(server.load_dir(dir.path()).unwrap(), 4);
}

#[tokio::test]
async fn namespace_deletion_removes_content_and_waits_for_finalizers() {
    skip_unless_fake!();
    let ctx = Ctx::new().await;
    let api = ctx.widgets();
    let mut held = widget("held", 1);
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    api.create(&PostParams::default(), &widget("free", 1))
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    namespaces
        .delete(&ctx.ns, &Default::default())
        .await
        .unwrap();
    let ns = namespaces.get(&ctx.ns).await.unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    assert!(api.get_opt("free").await.unwrap().is_none());
    assert!(
        api.get("held")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    let (reason, code) = api_error(api.create(&PostParams::default(), &widget("new", 1)).await);
    assert_eq!((reason.as_str(), code), ("Forbidden", 403));
    api.patch(
        "held",
        &Default::default(),
        &kube::api::Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(namespaces.get_opt(&ctx.ns).await.unwrap().is_none());
}

#[tokio::test]
async fn hang_faults_hold_the_answer_with_and_without_the_write() {
    skip_unless_fake!();
    let ctx = Ctx::new().await;
    let fake = ctx.fake();
    let api = ctx.widgets();
    fake.inject_fault(FaultRule::once("create", "widgets", FaultAction::Hang));
    let (pp, lost, kept) = (PostParams::default(), widget("lost", 1), widget("kept", 1));
    let attempt = api.create(&pp, &lost);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), attempt)
            .await
            .is_err(),
        "a hung request gets no answer"
    );
    assert_eq!(fake.hung_requests(), 1);
    assert!(
        api.get_opt("lost").await.unwrap().is_none(),
        "nothing stored"
    );

    fake.inject_fault(FaultRule::once(
        "create",
        "widgets",
        FaultAction::HangAfterCommit,
    ));
    let attempt = api.create(&pp, &kept);
    let (_, ()) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(2), attempt),
        fake.wait_hung(2)
    );
    assert!(
        api.get_opt("kept").await.unwrap().is_some(),
        "stored, answer withheld"
    );
}

#[tokio::test]
async fn an_outage_refuses_connections_and_keeps_the_objects() {
    skip_unless_fake!();
    let ctx = Ctx::new().await;
    let fake = ctx.fake();
    let api = ctx.widgets();
    api.create(&PostParams::default(), &widget("w", 1))
        .await
        .unwrap();
    let rv = fake.resource_version();
    let mut events = api
        .watch(&kube::api::WatchParams::default(), &rv.to_string())
        .await
        .unwrap()
        .boxed();
    fake.go_down();
    assert!(
        tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = events.next().await {}
        })
        .await
        .is_ok(),
        "open watches are cut"
    );
    let refused = api.get("w").await.unwrap_err();
    assert!(
        matches!(
            refused,
            kube::Error::HyperError(_) | kube::Error::Service(_)
        ),
        "{refused:?}"
    );
    fake.come_back().unwrap();
    let back = api.get("w").await.unwrap();
    assert_eq!(back.metadata.resource_version, Some(rv.to_string()));
    assert_eq!(fake.resource_version(), rv);
}
