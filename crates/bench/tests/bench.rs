//! API calls per reconcile step, exactly: a change that adds a read or a write fails here.
//! The Go library's sequence (conventions.md §B.4) is the bar: GET, finalizer PATCH (first time),
//! status PATCH Processing, the actuator's calls, status PATCH Succeeded, annotation PATCH.

use bench::api_calls::{Step, measure};
use bench::fixtures::Kind;

fn counts(step: &Step) -> Vec<(&str, usize)> {
    step.requests
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_steps() {
    let steps = measure(Kind::Extension).await.unwrap();
    let lifecycle = [
        ("get extensions", 1),
        ("patch extensions", 2),
        ("patch extensions/status", 2),
    ];
    let one_patch = [
        ("get extensions", 1),
        ("patch extensions", 1),
        ("patch extensions/status", 2),
    ];
    // Create: finalizer and annotation; migrate: annotation and finalizer removal.
    assert_eq!(counts(&steps["create"]), lifecycle);
    assert_eq!(counts(&steps["migrate"]), lifecycle);
    // Reconcile and restore remove the annotation; delete removes the finalizer.
    for step in ["reconcile", "restore", "delete"] {
        assert_eq!(counts(&steps[step]), one_patch, "{step}");
    }
    assert!(steps.values().all(|s| s.reads == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operating_system_config_steps() {
    let steps = measure(Kind::OperatingSystemConfig).await.unwrap();
    // The result Secret is created once and then merge-patched without a read (a no-op while
    // unchanged); the output fields are a third status PATCH on create only.
    assert_eq!(
        counts(&steps["create"]),
        [
            ("create secrets", 1),
            ("get operatingsystemconfigs", 1),
            ("patch operatingsystemconfigs", 2),
            ("patch operatingsystemconfigs/status", 3),
        ]
    );
    for step in ["reconcile", "restore"] {
        assert_eq!(
            counts(&steps[step]),
            [
                ("get operatingsystemconfigs", 1),
                ("patch operatingsystemconfigs", 1),
                ("patch operatingsystemconfigs/status", 2),
                ("patch secrets", 1),
            ],
            "{step}"
        );
    }
    assert_eq!(steps["delete"].reads, 1);
    assert_eq!(steps["delete"].writes, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_runtime_steps() {
    let steps = measure(Kind::ContainerRuntime).await.unwrap();
    // Two ManagedResources, each with an immutable Secret named by its content: the Secret is
    // created (AlreadyExists when unchanged), then the ManagedResource JSON-patched with a test of
    // its reference to the Secret; on create that finds nothing (404) and it is created.
    assert_eq!(
        counts(&steps["create"]),
        [
            ("create managedresources", 2),
            ("create secrets", 2),
            ("get containerruntimes", 1),
            ("patch containerruntimes", 2),
            ("patch containerruntimes/status", 2),
            ("patch managedresources", 2),
        ]
    );
    assert_eq!(
        counts(&steps["reconcile"]),
        [
            ("create secrets", 2),
            ("get containerruntimes", 1),
            ("patch containerruntimes", 1),
            ("patch containerruntimes/status", 2),
            ("patch managedresources", 2),
        ]
    );
    // Migrate keeps the shoot's objects: the keepObjects patch answers with the Secrets to
    // delete, so nothing is read but the object.
    assert_eq!(
        counts(&steps["migrate"]),
        [
            ("delete managedresources", 2),
            ("delete secrets", 2),
            ("get containerruntimes", 1),
            ("patch containerruntimes", 2),
            ("patch containerruntimes/status", 2),
            ("patch managedresources", 2),
        ]
    );
    // Delete takes each ManagedResource's Secrets from the watch of the extension's own
    // ManagedResources (started by this first read) and deletes both; no waiting when the DELETE
    // answers that the ManagedResource is gone. Whether other ContainerRuntimes still need the
    // base objects comes from the controller's watch, not a LIST.
    assert_eq!(
        counts(&steps["delete"]),
        [
            ("delete managedresources", 2),
            ("delete secrets", 2),
            ("get containerruntimes", 1),
            ("patch containerruntimes", 1),
            ("patch containerruntimes/status", 2),
        ]
    );
    assert!(steps.values().all(|s| s.reads == 1));
}
