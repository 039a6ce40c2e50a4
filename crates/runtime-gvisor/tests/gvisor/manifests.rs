//! The rendered manifests: snapshots, and every object decodes into its k8s-openapi type and
//! encodes back unchanged (no field the type does not know).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::node::v1::RuntimeClass;
use runtime_gvisor::config::{GVisorConfiguration, runsc_flags};
use runtime_gvisor::manifests::{Installation, base};
use serde_json::Value;

fn installation() -> Installation {
    let config = GVisorConfiguration {
        config_flags: Some([("net-raw".to_string(), "true".to_string())].into()),
        test_image_tag: None,
    };
    Installation {
        pool: "worker-gvisor".into(),
        pool_selector: [(
            "worker.gardener.cloud/pool".to_string(),
            "gvisor-pool".to_string(),
        )]
        .into(),
        image: "registry.example/runtime-gvisor-installation:v1.0.0".into(),
        script: runtime_gvisor::installer::script(
            "/var/bin/containerruntimes",
            &runsc_flags(Some(&config)),
        )
        .unwrap(),
    }
}

fn round_trips<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) {
    let typed: T = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(
        &serde_json::to_value(&typed).unwrap(),
        doc,
        "no unknown or lost field"
    );
}

#[test]
fn rendered_objects_are_valid_kubernetes_objects() {
    let yaml = format!(
        "{}---\n{}",
        base().unwrap().yaml(),
        installation().objects().unwrap().yaml()
    );
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ServiceAccount", "RuntimeClass", "ConfigMap", "DaemonSet"]
    );
    round_trips::<ServiceAccount>(&docs[0]);
    round_trips::<RuntimeClass>(&docs[1]);
    round_trips::<ConfigMap>(&docs[2]);
    round_trips::<DaemonSet>(&docs[3]);
}

#[test]
fn rendered_manifests_snapshot() {
    insta::assert_snapshot!("base", base().unwrap().yaml());
    let installation = installation().objects().unwrap().yaml();
    // The script has its own file; the snapshot keeps the objects readable.
    let daemon_set = installation.split("---\n").nth(1).unwrap();
    insta::assert_snapshot!("installation-daemonset", daemon_set);
}

#[test]
fn the_rollout_follows_the_script() {
    let mut other = installation();
    other.script.push_str("# changed\n");
    let checksum = |i: &Installation| {
        let docs: Vec<Value> = serde_saphyr::from_multiple(&i.objects().unwrap().yaml()).unwrap();
        docs[1]["spec"]["template"]["metadata"]["annotations"]["checksum/configmp-containerd-gvisor"].clone()
    };
    assert_ne!(checksum(&installation()), checksum(&other));
    assert_eq!(checksum(&installation()), checksum(&installation()));
}
