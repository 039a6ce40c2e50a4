//! Golden files for both formats and both purposes (`tests/coreos/snapshots/`). A change of the
//! output shows up as a diff to review (`INSTA_UPDATE=always` writes the new files).

use crate::fixtures::*;
use gardener_api::extensions::OperatingSystemConfig;
use os_coreos::render::{SecretData, render};
use serde_json::json;

fn sample(purpose: &str) -> OperatingSystemConfig {
    let mut osc = osc(
        "flatcar",
        purpose,
        json!([
            {"name": "kubelet.service", "command": "start", "enable": true,
             "content": "[Unit]\nDescription=kubelet\n\n[Service]\nExecStart=/opt/bin/kubelet --config=/var/lib/kubelet/config/kubelet\n",
             "dropIns": [{"name": "10-env.conf", "content": "[Service]\nEnvironment=\"A=b && c\""}]},
            {"name": "sshd-ensurer.service", "command": "start"}
        ]),
        json!([
            {"path": "/var/lib/kubelet/config/kubelet", "permissions": 384, "content": {"inline": {"encoding": "b64", "data": "a2luZDogS3ViZWxldENvbmZpZ3VyYXRpb24K"}}},
            {"path": "/var/lib/gardener-node-agent/credentials/bootstrap-token", "permissions": 416, "content": {"inline": {"encoding": "", "data": "<<BOOTSTRAP_TOKEN>>"}, "transmitUnencoded": true}}
        ]),
    );
    osc.spec.cri_config = Some(serde_json::from_value(json!({"name": "containerd"})).unwrap());
    osc
}

fn text(purpose: &str, format: &str) -> String {
    let out = render(
        &sample(purpose),
        &config(json!({"userDataFormat": format})),
        &SecretData::new(),
    )
    .unwrap();
    match out.user_data {
        Some(bytes) => {
            if format == "ignition" {
                ignition_validate(&bytes);
            }
            String::from_utf8(bytes).unwrap()
        }
        None => serde_saphyr::to_string(
            &json!({"extensionUnits": out.extension_units, "extensionFiles": out.extension_files}),
        )
        .unwrap(),
    }
}

#[test]
fn ignition_provision() {
    insta::assert_snapshot!("ignition-provision", text("provision", "ignition"));
}

#[test]
fn ignition_reconcile() {
    insta::assert_snapshot!("ignition-reconcile", text("reconcile", "ignition"));
}

#[test]
fn cloud_config_provision() {
    insta::assert_snapshot!("cloud-config-provision", text("provision", "cloud-config"));
}

#[test]
fn cloud_config_reconcile() {
    insta::assert_snapshot!("cloud-config-reconcile", text("reconcile", "cloud-config"));
}
