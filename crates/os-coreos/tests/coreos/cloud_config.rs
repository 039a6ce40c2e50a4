//! `userDataFormat: cloud-config`: the original coreos-cloudinit output (checklist items 3–13,
//! upstream's era-A fixtures).

use crate::fixtures::*;
use gardener_api::extensions::OperatingSystemConfig;
use os_coreos::render::{SecretData, render};
use serde_json::{Value, json};

fn cloud(
    osc: &OperatingSystemConfig,
    secrets: &SecretData,
) -> (String, extension_framework::osc::LegacyOutput) {
    let out = render(
        osc,
        &config(json!({"userDataFormat": "cloud-config"})),
        secrets,
    )
    .unwrap();
    let text = String::from_utf8(out.user_data.unwrap()).unwrap();
    // It is YAML after the comment line, with the two top-level keys.
    let parsed: Value =
        serde_saphyr::from_str(text.strip_prefix("#cloud-config\n\n").unwrap()).unwrap();
    assert!(
        parsed["coreos"]["units"].is_array() && parsed["write_files"].is_array(),
        "{text}"
    );
    (text, out.legacy.unwrap())
}

fn with(purpose: &str, extra: Value) -> OperatingSystemConfig {
    let mut osc = osc("coreos", purpose, json!([]), json!([]));
    let mut raw = serde_json::to_value(&osc).unwrap();
    raw["spec"]
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    osc = serde_json::from_value(raw).unwrap();
    osc
}

/// Items 3, 4 and 5.
#[test]
fn header_masks_and_the_sctp_file() {
    let (provision, _) = cloud(&with("provision", json!({})), &SecretData::new());
    assert!(provision.starts_with("#cloud-config\n\ncoreos:\n  update:\n    reboot_strategy: \"off\"\n  units:\n  - name: update-engine.service\n    mask: true\n    command: stop\n  - name: locksmithd.service\n    mask: true\n    command: stop\n"), "{provision}");
    assert!(!provision.contains("sctp"));
    let mut flatcar = with("provision", json!({}));
    flatcar.spec.default_spec.type_ = "flatcar".into();
    assert_eq!(cloud(&flatcar, &SecretData::new()).0, provision);
    let (reconcile, _) = cloud(&with("reconcile", json!({})), &SecretData::new());
    assert!(reconcile.contains("write_files:\n- encoding: b64\n  content: aW5zdGFsbCBzY3RwIC9iaW4vdHJ1ZQ==\n  owner: root\n  path: /etc/modprobe.d/sctp.conf\n  permissions: \"0644\"\n"), "{reconcile}");
}

/// Items 6, 7 and 8, with upstream's #Files fixture.
#[test]
fn files_encodings_and_permissions() {
    let files = json!([
        {"path": "fooPath", "permissions": 438, "content": {"inline": {"encoding": "b64", "data": "YmFy"}}},
        {"path": "fooPath", "content": {"inline": {"encoding": "b64", "data": "YmFy"}, "transmitUnencoded": true}},
        {"path": "/hello", "permissions": 420, "content": {"inline": {"encoding": "", "data": "hello"}}},
        {"path": "/s", "content": {"secretRef": {"name": "example-file", "dataKey": "file.txt"}}}
    ]);
    let secrets: SecretData = [(
        "example-file".to_string(),
        [("file.txt".to_string(), b"This is a sample file.\n".to_vec())].into(),
    )]
    .into();
    let (text, legacy) = cloud(&with("provision", json!({"files": files})), &secrets);
    assert!(text.contains("write_files:\n- encoding: b64\n  content: YmFy\n  path: fooPath\n  permissions: \"666\"\n- content: bar\n  path: fooPath\n  permissions: \"644\"\n"), "{text}");
    assert!(text.contains(
        "- encoding: b64\n  content: aGVsbG8=\n  path: /hello\n  permissions: \"644\"\n"
    ));
    assert!(text.contains("content: VGhpcyBpcyBhIHNhbXBsZSBmaWxlLgo=\n"));
    assert!(
        text.contains("path: /opt/bin/configure-cgroupsv2.sh\n  permissions: \"0755\"\n"),
        "built-in files keep the leading zero"
    );
    assert_eq!(legacy.files, ["fooPath", "fooPath", "/hello", "/s"]);
}

/// Items 9, 10 and 11.
#[test]
fn containerd_and_cgroup_units_come_last() {
    let osc = with(
        "provision",
        json!({"criConfig": {"name": "containerd"}, "units": [{"name": "a.service", "command": "start", "enable": true, "content": "[Unit]\n"}]}),
    );
    let (text, legacy) = cloud(&osc, &SecretData::new());
    assert_eq!(
        legacy.units,
        [
            "a.service",
            "run-command.service",
            "enable-cgroupsv2.service"
        ]
    );
    let run_command = text
        .find("- name: run-command.service\n    enable: true\n")
        .unwrap();
    let cgroups = text
        .find("- name: enable-cgroupsv2.service\n    enable: true\n")
        .unwrap();
    assert!(run_command < cgroups);
    assert!(text.contains("path: /etc/systemd/system/containerd.service.d/11-exec_config.conf\n  permissions: \"0644\"\n"));
    assert!(text.contains("path: /opt/bin/run-command.sh\n  permissions: \"0755\"\n"));
    assert!(
        text.trim_end()
            .ends_with("path: /opt/bin/configure-cgroupsv2.sh\n  permissions: \"0755\""),
        "last file"
    );
    for other in [
        with("reconcile", json!({"criConfig": {"name": "containerd"}})),
        with("provision", json!({})),
    ] {
        let (text, legacy) = cloud(&other, &SecretData::new());
        assert!(!text.contains("run-command"));
        assert_eq!(legacy.units, ["enable-cgroupsv2.service"]);
    }
}

/// Items 12 and 13.
#[test]
fn the_reload_command_and_block_styles() {
    let osc = with(
        "provision",
        json!({"reloadConfigFilePath": "/p", "units": [{"name": "a.service", "dropIns": [
            {"name": "strip.conf", "content": "[Service]\nA=1"},
            {"name": "clip.conf", "content": "[Service]\nA=1\n"}
        ]}]}),
    );
    let (text, legacy) = cloud(&osc, &SecretData::new());
    assert_eq!(
        legacy.command.as_deref(),
        Some("/usr/bin/coreos-cloudinit --from-file=/p")
    );
    assert!(text.contains("    drop_ins:\n    - name: strip.conf\n      content: |-\n        [Service]\n        A=1\n    - name: clip.conf\n      content: |\n        [Service]\n        A=1\n"), "{text}");
    assert_eq!(
        cloud(&with("provision", json!({})), &SecretData::new())
            .1
            .command,
        None
    );
}
