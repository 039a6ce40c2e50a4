//! Round-trips of real-looking Gardener objects and the exact wire strings of the contract.

use gardener_api::core::Shoot;
use gardener_api::extensions::{
    Cluster, ContainerRuntime, ErrorCode, Extension, ExtensionClass, ExtensionObject,
    LastOperationState, LastOperationType, OperatingSystemConfig,
};
use gardener_api::patch::{
    LastErrorPatch, finalizers_patch, last_operation_patch, remove_annotation_patch,
};
use gardener_api::resources::ManagedResource;
use serde_json::{Value, json};

/// Deserializes, serializes again, and checks nothing was lost or added.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(value: Value) -> T {
    let typed: T = serde_json::from_value(value.clone()).expect("decodes");
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        value,
        "round trip is lossless"
    );
    typed
}

#[test]
fn extension_round_trips_with_opaque_provider_config_and_status() {
    let ext: Extension = round_trip(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1",
        "kind": "Extension",
        "metadata": {"name": "shoot-flux", "namespace": "shoot--foo--bar", "generation": 3,
            "annotations": {"gardener.cloud/operation": "reconcile", "gardener.cloud/timestamp": "2026-11-23T10:00:00.123456789Z"}},
        "spec": {"type": "shoot-flux", "class": "shoot", "providerConfig": {
            "apiVersion": "flux.extensions.gardener.cloud/v1alpha1", "kind": "FluxConfig",
            "source": {"template": {"spec": {"url": "https://example.com/repo", "ref": {"branch": "main"}}}},
            "unknownFutureField": {"nested": [1, 2, {"x": null}]}}},
        "status": {
            "lastOperation": {"description": "Extension has been reconciled", "lastUpdateTime": "2026-11-23T10:00:01Z",
                "progress": 100, "state": "Succeeded", "type": "Reconcile"},
            "lastError": {"description": "Boom", "taskID": "t1", "codes": ["ERR_CONFIGURATION_PROBLEM"], "lastUpdateTime": "2026-11-23T09:59:00Z"},
            "observedGeneration": 3,
            "state": {"opaque": {"keep": true}},
            "resources": [{"name": "ssh", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "ssh-keypair"}}],
            "providerStatus": {"anything": "goes"},
            "conditions": [{"type": "SystemComponentsHealthy", "status": "True", "lastTransitionTime": "2026-11-23T10:00:00Z",
                "lastUpdateTime": "2026-11-23T10:00:00Z", "reason": "HealthCheckSuccessful", "message": "All health checks successful"}]
        }
    }));
    assert_eq!(ext.default_spec().class_or_default(), ExtensionClass::Shoot);
    let status = ext.default_status().unwrap();
    assert_eq!(
        status.last_operation.as_ref().unwrap().type_,
        LastOperationType::Reconcile
    );
    assert_eq!(
        status.last_error.as_ref().unwrap().codes,
        Some(vec![ErrorCode::ConfigurationProblem])
    );
}

#[test]
fn class_defaults_to_shoot() {
    let ext: Extension =
        serde_json::from_value(json!({"metadata": {"name": "x"}, "spec": {"type": "mwe"}}))
            .unwrap();
    assert_eq!(ext.default_spec().class, None);
    assert_eq!(ext.default_spec().class_or_default(), ExtensionClass::Shoot);
}

#[test]
fn container_runtime_round_trips() {
    let cr: ContainerRuntime = round_trip(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "ContainerRuntime",
        "metadata": {"name": "gvisor-worker-a", "namespace": "shoot--foo--bar"},
        "spec": {"binaryPath": "/var/bin/containerruntimes", "type": "gvisor",
            "providerConfig": {"apiVersion": "gvisor.os.extensions.gardener.cloud/v1alpha1", "kind": "GVisorConfiguration", "configFlags": {"net-raw": "true"}},
            "workerPool": {"name": "worker-a", "selector": {"matchLabels": {"worker.gardener.cloud/pool": "worker-a", "worker.garden.sapcloud.io/group": "worker-a"}}}}
    }));
    assert_eq!(cr.spec.worker_pool.name, "worker-a");
    assert_eq!(cr.default_spec().type_, "gvisor");
}

#[test]
fn operating_system_config_round_trips_current_and_legacy_fields() {
    let osc: OperatingSystemConfig = round_trip(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "OperatingSystemConfig",
        "metadata": {"name": "gardener-node-agent-worker-a-77ac3-init", "namespace": "shoot--foo--bar"},
        "spec": {
            "type": "flatcar", "purpose": "provision", "reloadConfigFilePath": "/var/lib/cloud-config-downloader/cloud-config",
            "criConfig": {"name": "containerd", "cgroupDriver": "systemd", "containerd": {"sandboxImage": "registry.k8s.io/pause:3.10",
                "registries": [{"upstream": "docker.io", "server": "https://registry-1.docker.io", "hosts": [{"url": "https://mirror.example.com", "capabilities": ["pull", "resolve"]}]}],
                "plugins": [{"op": "add", "path": ["io.containerd.grpc.v1.cri"], "values": {"enable_cdi": true}}]}},
            "units": [{"name": "kubelet.service", "command": "start", "enable": true, "content": "[Unit]\nDescription=kubelet\n",
                "dropIns": [{"name": "10-env.conf", "content": "[Service]\nEnvironment=A=B\n"}], "filePaths": ["/var/lib/kubelet/config"]}],
            "files": [
                {"path": "/etc/a", "permissions": 420, "content": {"inline": {"encoding": "b64", "data": "aGVsbG8="}}},
                {"path": "/etc/b", "content": {"secretRef": {"name": "s", "dataKey": "k"}, "transmitUnencoded": true}},
                {"path": "/opt/bin/gardener-node-agent", "permissions": 493, "content": {"imageRef": {"image": "europe-docker.pkg.dev/gardener-project/releases/gardener/node-agent:v1.149.0", "filePathInImage": "/gardener-node-agent"}}}
            ],
            "inPlaceUpdates": {"operatingSystemVersion": "4152.2.0", "kubelet": "1.33.2", "credentialsRotation": {"serviceAccountKey": {"lastInitiationTime": "2026-11-01T00:00:00Z"}}}
        },
        "status": {
            "extensionUnits": [{"name": "update-engine.service", "command": "stop", "enable": false}],
            "extensionFiles": [{"path": "/etc/flatcar/update.conf", "permissions": 420, "content": {"inline": {"encoding": "", "data": "SERVER=disabled\n"}}}],
            "cloudConfig": {"secretRef": {"name": "osc-result-x", "namespace": "shoot--foo--bar"}},
            "inPlaceUpdates": {"osUpdate": {"command": "/opt/bin/update", "args": ["--version", "4152.2.0"]}},
            "command": "/usr/bin/env bash /var/lib/cloud-config-downloader/download-cloud-config.sh",
            "units": ["kubelet.service"], "files": ["/etc/a"],
            "lastOperation": {"description": "ok", "lastUpdateTime": "2026-11-23T10:00:01Z", "progress": 100, "state": "Succeeded", "type": "Create"}
        }
    }));
    assert_eq!(osc.purpose(), Some("provision"));
    assert_eq!(osc.spec.files.as_ref().unwrap()[0].permissions, Some(0o644));
}

fn cluster(shoot: Value) -> Cluster {
    round_trip(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster",
        "metadata": {"name": "shoot--foo--bar", "annotations": {"generic-token-kubeconfig.secret.gardener.cloud/name": "generic-token-kubeconfig-abc"}},
        "spec": {"cloudProfile": {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "CloudProfile", "metadata": {"name": "local"}, "spec": {"type": "local"}},
            "seed": {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "Seed", "metadata": {"name": "local"}},
            "shoot": shoot}
    }))
}

#[test]
fn cluster_decodes_the_shoot_view_and_its_predicates() {
    let c = cluster(json!({
        "apiVersion": "core.gardener.cloud/v1beta1", "kind": "Shoot",
        "metadata": {"name": "bar", "namespace": "garden-foo", "annotations": {"confirmation.gardener.cloud/force-deletion": "T"}},
        "spec": {"hibernation": {"enabled": true}, "kubernetes": {"version": "1.33.2"}, "provider": {"type": "local", "workers": []},
            "resources": [{"name": "flux-ssh", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "flux-ssh"}}]},
        "status": {"isHibernated": false, "technicalID": "shoot--foo--bar", "clusterIdentity": "id",
            "lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Failed", "type": "Reconcile"}}
    }));
    let shoot = c.shoot().unwrap().unwrap();
    assert!(shoot.is_failed());
    assert!(shoot.is_hibernation_enabled());
    assert!(!shoot.is_hibernated());
    assert!(shoot.is_hibernating_or_waking_up());
    assert!(!shoot.is_creation_in_process());
    assert!(shoot.needs_force_deletion());
    assert_eq!(shoot.kubernetes_version(), Some("1.33.2"));
    assert_eq!(
        shoot.status.unwrap().technical_id.as_deref(),
        Some("shoot--foo--bar")
    );
    assert!(c.seed().is_some());
}

#[test]
fn cluster_with_null_shoot_and_broken_shoot() {
    assert_eq!(cluster(Value::Null).shoot().unwrap(), None);
    // An unknown state is kept (Go string type); a wrong JSON type fails, as in Go.
    let odd = cluster(json!({"status": {"lastOperation": {"state": "NotAState"}}}));
    assert!(!odd.shoot().unwrap().unwrap().is_failed());
    let err = cluster(json!({"status": {"lastOperation": {"progress": "many"}}}))
        .shoot()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot decode cluster spec.shoot"),
        "{err}"
    );
}

#[test]
fn force_deletion_parses_like_go_parse_bool() {
    for (value, expected) in [
        ("1", true),
        ("t", true),
        ("TRUE", true),
        ("True", true),
        ("false", false),
        ("yes", false),
        ("", false),
    ] {
        let shoot: Shoot = serde_json::from_value(json!({"metadata": {"annotations": {"confirmation.gardener.cloud/force-deletion": value}}})).unwrap();
        assert_eq!(shoot.needs_force_deletion(), expected, "{value:?}");
    }
}

#[test]
fn enums_use_the_exact_wire_strings() {
    let strings = |v: Vec<Value>| {
        v.into_iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strings(LastOperationType::KNOWN.iter().map(|t| json!(t)).collect()),
        ["Create", "Reconcile", "Delete", "Migrate", "Restore"]
    );
    assert_eq!(
        strings(LastOperationState::KNOWN.iter().map(|t| json!(t)).collect()),
        [
            "Processing",
            "Succeeded",
            "Error",
            "Failed",
            "Pending",
            "Aborted"
        ]
    );
    let non_retryable: Vec<&str> = ErrorCode::KNOWN
        .iter()
        .filter(|c| c.is_non_retryable())
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        non_retryable,
        [
            "ERR_INFRA_UNAUTHENTICATED",
            "ERR_INFRA_UNAUTHORIZED",
            "ERR_INFRA_QUOTA_EXCEEDED",
            "ERR_INFRA_RATE_LIMITS_EXCEEDED",
            "ERR_INFRA_DEPENDENCIES",
            "ERR_CONFIGURATION_PROBLEM",
            "ERR_PROBLEMATIC_WEBHOOK"
        ]
    );
    assert_eq!(
        "ERR_RETRYABLE_INFRA_DEPENDENCIES"
            .parse::<ErrorCode>()
            .unwrap(),
        ErrorCode::RetryableInfraDependencies
    );
    // Go keeps unknown codes: a newer gardenlet's code survives a read-modify-write.
    let unknown: ErrorCode = "ERR_NOPE".parse().unwrap();
    assert_eq!(unknown, ErrorCode::Other("ERR_NOPE".into()));
    assert_eq!(serde_json::to_value(&unknown).unwrap(), "ERR_NOPE");
    assert!(!unknown.is_non_retryable());
    assert!(ErrorCode::parse_known("ERR_NOPE").is_err());
}

#[test]
fn managed_resource_health_follows_gardenlet() {
    let mut mr: ManagedResource = round_trip(json!({
        "apiVersion": "resources.gardener.cloud/v1alpha1", "kind": "ManagedResource",
        "metadata": {"name": "extension-runtime-gvisor", "namespace": "shoot--foo--bar", "generation": 2, "labels": {"origin": "gardener-extension-runtime-gvisor"}},
        "spec": {"secretRefs": [{"name": "managedresource-extension-runtime-gvisor-1a2b3c4d"}], "injectLabels": {"shoot.gardener.cloud/no-cleanup": "true"}, "keepObjects": false},
        "status": {"observedGeneration": 2, "conditions": [
            {"type": "ResourcesApplied", "status": "True", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z", "reason": "ApplySucceeded", "message": "ok"},
            {"type": "ResourcesHealthy", "status": "True", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z", "reason": "ResourcesHealthy", "message": "ok"}]}
    }));
    assert!(mr.is_healthy());
    mr.metadata.generation = Some(3);
    assert!(!mr.is_healthy(), "an old observedGeneration is not healthy");
}

#[test]
fn patch_builders_send_explicit_nulls() {
    let op = serde_json::from_value(json!({"description": "d", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Succeeded", "type": "Create"})).unwrap();
    let current =
        json!({"lastError": {"description": "old", "codes": ["ERR_CONFIGURATION_PROBLEM"]}});
    let patch = last_operation_patch(Some(&current), &op, LastErrorPatch::Clear, Some(4));
    assert_eq!(patch["status"]["lastError"], Value::Null);
    assert!(
        patch["status"]
            .as_object()
            .unwrap()
            .contains_key("lastError")
    );
    assert_eq!(patch["status"]["observedGeneration"], 4);
    let keep = last_operation_patch(None, &op, LastErrorPatch::Keep, None);
    assert!(
        !keep["status"]
            .as_object()
            .unwrap()
            .contains_key("lastError")
    );
    assert!(
        !keep["status"]
            .as_object()
            .unwrap()
            .contains_key("observedGeneration")
    );
    assert_eq!(
        remove_annotation_patch("gardener.cloud/operation"),
        json!({"metadata": {"annotations": {"gardener.cloud/operation": null}}})
    );
    assert_eq!(
        finalizers_patch(&["a".into()], Some("7")),
        json!({"metadata": {"finalizers": ["a"], "resourceVersion": "7"}})
    );
}

#[test]
fn generated_crds_have_the_contracted_names_and_columns() {
    let crds = gardener_api::crds::all();
    let find = |name: &str| {
        crds.iter()
            .find(|c| c.crd.metadata.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name}"))
    };
    let ext = &find("extensions.extensions.gardener.cloud").crd;
    assert_eq!(ext.spec.scope, "Namespaced");
    assert_eq!(ext.spec.names.short_names, Some(vec!["ext".to_string()]));
    let columns: Vec<String> = ext.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.json_path.clone())
        .collect();
    assert_eq!(
        columns,
        [
            ".spec.type",
            ".status.lastOperation.state",
            ".metadata.creationTimestamp"
        ]
    );
    let cluster = &find("clusters.extensions.gardener.cloud").crd;
    assert_eq!(cluster.spec.scope, "Cluster");
    assert!(
        cluster.spec.versions[0]
            .subresources
            .as_ref()
            .unwrap()
            .status
            .is_some()
    );
    let osc = &find("operatingsystemconfigs.extensions.gardener.cloud").crd;
    assert_eq!(osc.spec.names.short_names, Some(vec!["osc".to_string()]));
    let schema = serde_json::to_value(&osc.spec.versions[0].schema).unwrap();
    assert_eq!(schema.pointer("/openAPIV3Schema/properties/spec/properties/providerConfig/x-kubernetes-preserve-unknown-fields"), Some(&json!(true)));
    assert_eq!(schema.pointer("/openAPIV3Schema/properties/status/properties/state/x-kubernetes-preserve-unknown-fields"), Some(&json!(true)));
    assert_eq!(
        find("containerruntimes.extensions.gardener.cloud")
            .crd
            .spec
            .names
            .short_names,
        Some(vec!["cr".to_string()])
    );
    assert_eq!(
        find("managedresources.resources.gardener.cloud")
            .crd
            .spec
            .names
            .short_names,
        Some(vec!["mr".to_string()])
    );
}

/// Objects Go decodes without complaint; each must decode here too, and write back what it read.
#[test]
fn odd_but_valid_objects_decode_like_go() {
    use gardener_api::extensions::{LastOperationType, OperatingSystemConfig};
    let ext = |spec: Value, status: Value| {
        json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
               "metadata": {"name": "odd", "namespace": "shoot--foo--bar"}, "spec": spec, "status": status})
    };
    let table: Vec<(&str, Value)> = vec![
        (
            "unknown class",
            ext(json!({"type": "t", "class": "moon"}), json!({})),
        ),
        (
            "empty class",
            ext(json!({"type": "t", "class": ""}), json!({})),
        ),
        (
            "unknown error code",
            ext(
                json!({"type": "t"}),
                json!({"lastError": {"description": "x", "codes": ["ERR_FROM_THE_FUTURE"]}}),
            ),
        ),
        (
            "condition without reason",
            ext(
                json!({"type": "t"}),
                json!({"conditions": [{"type": "A", "status": "True", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z", "message": "m"}]}),
            ),
        ),
        (
            "condition with null time",
            ext(
                json!({"type": "t"}),
                json!({"conditions": [{"type": "A", "status": "Maybe", "lastTransitionTime": null, "lastUpdateTime": "2026-11-23T10:00:00Z", "reason": "r", "message": "m"}]}),
            ),
        ),
        (
            "LiveMigrate",
            ext(
                json!({"type": "t"}),
                json!({"lastOperation": {"description": "d", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 5, "state": "Processing", "type": "LiveMigrate"}}),
            ),
        ),
        (
            "lastOperation without description and time",
            ext(
                json!({"type": "t"}),
                json!({"lastOperation": {"progress": 100, "state": "Succeeded", "type": "Reconcile"}}),
            ),
        ),
        ("no type", ext(json!({}), json!({}))),
    ];
    for (name, value) in table {
        let decoded: Extension =
            serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = serde_json::to_value(&decoded).unwrap();
        for path in [
            "/spec/class",
            "/status/lastError/codes",
            "/status/lastOperation/type",
        ] {
            assert_eq!(
                written.pointer(path),
                value.pointer(path),
                "{name}: {path} survives"
            );
        }
    }
    let live: Extension = serde_json::from_value(ext(
        json!({"type": "t"}),
        json!({"lastOperation": {"type": "LiveMigrate", "state": "Processing"}}),
    ))
    .unwrap();
    let op = live.status.unwrap().default_status.last_operation.unwrap();
    assert_eq!(op.type_, LastOperationType::Other("LiveMigrate".into()));
    assert_eq!(op.description, "", "missing fields take Go's zero value");
    assert!(gardener_api::wire::is_zero_time(&op.last_update_time));

    // gardenlet writes `serviceAccountKey: {}` for pools updated in place.
    let osc: OperatingSystemConfig = serde_json::from_value(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "OperatingSystemConfig",
        "metadata": {"name": "o", "namespace": "shoot--foo--bar"},
        "spec": {"type": "coreos", "purpose": "reconcile", "inPlaceUpdates": {"operatingSystemVersion": "1", "kubelet": "1.33.2",
                 "credentialsRotation": {"serviceAccountKey": {}}}, "units": [{"name": "a.service", "command": "reload"}]}
    }))
    .expect("in-place OSC decodes");
    let rotation = osc
        .spec
        .in_place_updates
        .unwrap()
        .credentials_rotation
        .unwrap();
    assert_eq!(
        rotation.service_account_key.unwrap().last_initiation_time,
        None
    );
}
