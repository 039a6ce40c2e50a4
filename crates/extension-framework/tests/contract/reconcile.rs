//! Checklist items 1–15, 40 and 46: the reconcile path, status updates and requeues.

use crate::harness::*;
use extension_framework::Error;
use gardener_api::extensions::{
    ContainerRuntime, ErrorCode, Extension, LastOperationState as State, LastOperationType as Op,
};
use kube::ResourceExt;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn item_01_03_04_reconcile_annotation_removed_before_actuator_and_create_succeeds() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    create(
        &api,
        &extension("a", &[("gardener.cloud/operation", "reconcile")]),
    )
    .await;
    let done = seed
        .wait(NS, "a", |e: &Extension| {
            last_op(e) == Some((Op::Create, State::Succeeded))
        })
        .await;
    let calls = probe.calls();
    assert_eq!(calls[0].method, "reconcile");
    assert_eq!(
        calls[0].annotation_on_server, None,
        "item 1: annotation removed before Reconcile"
    );
    assert!(
        calls[0].had_cluster,
        "shoot namespace: the Cluster is passed"
    );
    assert_eq!(done.finalizers(), ["extensions.gardener.cloud/t"], "item 3");
    let status = done.status.unwrap().default_status;
    let op = status.last_operation.unwrap();
    assert_eq!(
        (op.progress, op.description.as_str()),
        (100, "Successfully reconciled Extension"),
        "item 4"
    );
    assert!(status.last_error.is_none());
    assert_eq!(status.observed_generation, done.metadata.generation);

    // Item 3: finalizer, then Processing (progress 1), then the actuator: the write order on the wire.
    let writes: Vec<String> = seed
        .server
        .requests()
        .into_iter()
        .filter(|r| r.is_write() && r.resource == "extensions" && r.name == "a")
        .map(|r| format!("{} {}", r.verb, r.full_resource()))
        .collect();
    assert_eq!(
        writes,
        [
            "create extensions",
            "patch extensions",
            "patch extensions",
            "patch extensions/status",
            "patch extensions/status"
        ],
        "the test's create, then annotation, finalizer, Processing, Succeeded"
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_05_06_operation_type_follows_last_operation() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("reconcile", Step::Fail("first try".into()));
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    create(&api, &extension("ops", &[])).await;
    // Item 6: after (Create, Error) the retry is still a Create.
    seed.wait(NS, "ops", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    assert_eq!(probe.methods(), ["reconcile", "reconcile"]);
    // Item 5: after (Create, Succeeded) a reconcile annotation means Reconcile.
    seed.server.clear_requests();
    annotate(&api, "ops", Some("reconcile")).await;
    seed.wait(NS, "ops", |e: &Extension| {
        last_op(e) == Some((Op::Reconcile, State::Succeeded))
    })
    .await;
    // conventions §B.4: a steady-state reconcile writes at most 3 times (plus the test's annotation).
    let writes = seed
        .server
        .requests()
        .iter()
        .filter(|r| r.is_write() && r.resource == "extensions")
        .count();
    assert_eq!(writes, 1 + 3, "annotation removal, Processing, Succeeded");
    // Reads: the framework GETs the object itself, fresh; Namespace and Cluster come from the
    // shared cache. (The test actuator reads the object once more to record what it saw.)
    let gets: Vec<String> = seed
        .server
        .requests()
        .iter()
        .filter(|r| r.verb == "get")
        .map(|r| r.full_resource())
        .collect();
    assert_eq!(
        gets,
        ["extensions", "extensions"],
        "1 GET by the framework, 1 by the probe"
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_07_08_11_12_errors_are_recorded_then_cleared() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("reconcile", Step::Fail("boom".into()));
    probe.then("reconcile", Step::Sleep(Duration::from_millis(300)));
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    create(&api, &extension("err", &[])).await;
    let failed = seed
        .wait(NS, "err", |e: &Extension| {
            last_op(e) == Some((Op::Create, State::Error))
        })
        .await;
    let status = failed.status.clone().unwrap().default_status;
    let op = status.last_operation.unwrap();
    assert_eq!(
        op.description, "Error reconciling Extension: boom",
        "items 7 and 8 (upper-cased first letter)"
    );
    assert_eq!(op.progress, 50);
    assert_eq!(
        status.last_error.as_ref().unwrap().description,
        op.description
    );
    assert_eq!(status.observed_generation, failed.metadata.generation);
    // Item 12: while the retry is Processing the old error stays visible.
    let processing = seed
        .wait(NS, "err", |e: &Extension| {
            last_op(e).is_some_and(|(_, s)| s == State::Processing)
        })
        .await;
    assert!(
        processing
            .status
            .unwrap()
            .default_status
            .last_error
            .is_some()
    );
    // Item 11: success removes lastError (explicit null).
    let ok = seed
        .wait(NS, "err", |e: &Extension| {
            last_op(e).is_some_and(|(_, s)| s == State::Succeeded)
        })
        .await;
    assert!(ok.status.unwrap().default_status.last_error.is_none());
    // Item 7: the failure counted as a reconcile error and was retried with backoff.
    assert!(
        metric(
            &running,
            "controller_runtime_reconcile_errors_total",
            "controller=\"extension\""
        ) >= 1.0
    );
    assert!(
        metric(
            &running,
            "workqueue_retries_total",
            "controller=\"extension\",name=\"extension\""
        ) >= 1.0
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_09_10_error_codes_from_the_chain() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then(
        "reconcile",
        Step::FailWith(Arc::new(|| {
            Error::msg("denied").with_codes([ErrorCode::InfraUnauthorized])
        })),
    );
    probe.then(
        "reconcile",
        Step::FailWith(Arc::new(|| {
            Error::multiple(vec![
                Error::msg("a").with_codes([ErrorCode::InfraQuotaExceeded]),
                Error::msg("b").with_codes([ErrorCode::ConfigurationProblem]),
            ])
        })),
    );
    probe.then("reconcile", Step::Fail("plain".into()));
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    create(&api, &extension("codes", &[])).await;
    let codes = |e: &Extension| {
        e.status
            .as_ref()
            .and_then(|s| s.default_status.last_error.as_ref())
            .and_then(|l| l.codes.clone())
    };
    seed.wait(NS, "codes", |e: &Extension| {
        codes(e) == Some(vec![ErrorCode::InfraUnauthorized])
    })
    .await;
    seed.wait(NS, "codes", |e: &Extension| {
        codes(e)
            == Some(vec![
                ErrorCode::InfraQuotaExceeded,
                ErrorCode::ConfigurationProblem,
            ])
    })
    .await;
    // A later error without codes leaves none behind: gardenlet must not see a stale
    // non-retryable code (Go's MergeFrom diff sends `codes: null`).
    let plain = seed
        .wait(NS, "codes", |e: &Extension| {
            e.status
                .as_ref()
                .and_then(|s| s.default_status.last_error.as_ref())
                .is_some_and(|l| l.description.ends_with("plain"))
        })
        .await;
    assert_eq!(codes(&plain), None);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_13_requeue_after_error_for_container_runtime() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then(
        "reconcile",
        Step::FailWith(Arc::new(|| {
            Error::requeue_after(Duration::from_millis(400), Some(Error::msg("not yet")))
        })),
    );
    let manager =
        extension_framework::Manager::new("test").with(extension_framework::Registration::<
            ContainerRuntime,
        >::new(TYPE, probe.clone()));
    let running = seed.start(manager).await;
    let api = seed.api::<ContainerRuntime>();
    let history = seed.history::<ContainerRuntime>(NS, "cr").await;
    create(&api, &container_runtime("cr")).await;
    let failed = history
        .wait(|c: &ContainerRuntime| {
            c.status
                .as_ref()
                .and_then(|s| s.default_status.last_operation.as_ref())
                .is_some_and(|l| l.state == State::Error)
        })
        .await;
    assert_eq!(
        failed
            .status
            .unwrap()
            .default_status
            .last_operation
            .unwrap()
            .description,
        "Error reconciling ContainerRuntime: not yet"
    );
    // Requeued after the delay without backoff and without counting as an error.
    probe.wait_calls(2).await;
    assert_eq!(
        metric(
            &running,
            "controller_runtime_reconcile_errors_total",
            "controller=\"containerruntime\""
        ),
        0.0
    );
    assert!(
        metric(
            &running,
            "controller_runtime_reconcile_total",
            "controller=\"containerruntime\",result=\"requeue_after\""
        ) >= 1.0
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_14_15_extension_requeues_after_resync() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    // Item 14: the RequeueAfterError's 30 s is replaced by the resync (300 ms).
    probe.then(
        "reconcile",
        Step::FailWith(Arc::new(|| {
            Error::requeue_after(Duration::from_secs(30), None)
        })),
    );
    let running = seed
        .start(extension_manager(&probe, Duration::from_millis(300)))
        .await;
    create(&seed.extensions(NS), &extension("resync", &[])).await;
    // Error, retry after the resync, success, then (item 15) another reconcile after the resync.
    let calls = probe.wait_calls(3).await;
    assert!(calls.iter().all(|c| c.method == "reconcile"));
    running.shutdown().await.unwrap();

    // With resync 0 the requeue-after error is not requeued at all.
    let probe = Probe::new();
    probe.then(
        "reconcile",
        Step::FailWith(Arc::new(|| {
            Error::requeue_after(Duration::from_millis(10), None)
        })),
    );
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    create(&seed.extensions(NS), &extension("noresync", &[])).await;
    seed.wait(NS, "noresync", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Error))
    })
    .await;
    // A later, unrelated admitted event on another object proves the queue kept working meanwhile.
    create(&seed.extensions(NS), &extension("sentinel", &[])).await;
    seed.wait(NS, "sentinel", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    assert_eq!(
        probe
            .calls()
            .iter()
            .filter(|c| c.name == "noresync")
            .count(),
        1
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_40_conflicting_finalizer_patch_is_retried_without_calling_the_actuator() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let api = seed.extensions(NS);
    // The finalizer patch carries the resourceVersion it read; a concurrent writer makes it stale.
    // The API server's answer to that is a 409, which the fault injection reproduces on cue.
    seed.server.inject_fault(test_apiserver::FaultRule::new(
        "patch",
        "extensions",
        1,
        409,
    ));
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    create(&api, &extension("stale", &[])).await;
    seed.wait(NS, "stale", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    let patches: Vec<u16> = seed
        .server
        .requests()
        .iter()
        .filter(|r| r.verb == "patch" && r.name == "stale")
        .map(|r| r.code)
        .collect();
    assert_eq!(patches[0], 409, "the first finalizer patch conflicted");
    assert_eq!(
        probe.methods(),
        ["reconcile"],
        "the actuator ran only after the retry"
    );
    assert!(
        metric(
            &running,
            "controller_runtime_reconcile_errors_total",
            "controller=\"extension\""
        ) >= 1.0
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_40_finalizer_patch_is_guarded_by_the_resource_version() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let api = seed.extensions(NS);
    let created = create(&api, &extension("guarded", &[])).await;
    let reconciler = direct_reconciler(&seed, &probe);
    reconciler
        .reconcile(Arc::new(created.clone()))
        .await
        .unwrap();
    // A merge patch with the original resourceVersion (what a stale reader would send) conflicts.
    let stale = gardener_api::patch::finalizers_patch(
        &["x/y".into()],
        created.metadata.resource_version.as_deref(),
    );
    let err = api
        .patch(
            "guarded",
            &Default::default(),
            &kube::api::Patch::Merge(&stale),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.is_conflict()));
}

#[tokio::test]
async fn item_46_gardenlet_readiness_check_passes() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    create(
        &api,
        &extension(
            "ready",
            &[
                ("gardener.cloud/operation", "reconcile"),
                ("gardener.cloud/timestamp", "2026-11-23T10:00:00.999999Z"),
            ],
        ),
    )
    .await;
    let done = seed
        .wait(NS, "ready", |e: &Extension| {
            last_op(e).is_some_and(|(_, s)| s == State::Succeeded)
        })
        .await;
    // CheckExtensionObject: no lastError, observedGeneration current, no operation annotation,
    // Succeeded, and truncate_seconds(timestamp) <= lastUpdateTime.
    let status = done.status.as_ref().unwrap().default_status.clone();
    assert!(status.last_error.is_none());
    assert_eq!(status.observed_generation, done.metadata.generation);
    assert!(!done.annotations().contains_key("gardener.cloud/operation"));
    let timestamp: k8s_openapi::jiff::Timestamp = done.annotations()["gardener.cloud/timestamp"]
        .parse()
        .unwrap();
    let truncated = k8s_openapi::jiff::Timestamp::from_second(timestamp.as_second()).unwrap();
    assert!(truncated <= status.last_operation.unwrap().last_update_time.0);
    running.shutdown().await.unwrap();
}
