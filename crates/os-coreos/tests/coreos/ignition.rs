//! Provision user data (era D): upstream's case E6 to the byte (apart from the containerd setup
//! script, which is this project's own), and checklist items 17–25.

use crate::fixtures::*;
use base64::Engine;
use gardener_api::extensions::ErrorCode;
use os_coreos::nodes::CONTAINERD_SETUP_SCRIPT;
use os_coreos::render::{SecretData, render};
use serde_json::{Value, json};

fn user_data(
    osc: &gardener_api::extensions::OperatingSystemConfig,
    config: &os_coreos::config::ExtensionConfig,
) -> String {
    let bytes = render(osc, config, &SecretData::new())
        .unwrap()
        .user_data
        .unwrap();
    ignition_validate(&bytes);
    String::from_utf8(bytes).unwrap()
}

/// Upstream's `actuator_test.go` expectation (E6), with this project's setup script.
const E6: &str = r#"{"ignition":{"config":{"replace":{"verification":{}}},"proxy":{},"security":{"tls":{}},"timeouts":{},"version":"3.3.0"},"kernelArguments":{},"passwd":{},"storage":{"files":[{"group":{},"path":"/opt/bin/containerd-setup.sh","user":{},"contents":{"source":"data:;base64,<BASE64 OF containerd-setup.sh>","verification":{}},"mode":493},{"group":{},"path":"/some/file","user":{},"contents":{"source":"data:,bar","verification":{}}}],"links":[{"group":{},"overwrite":true,"path":"/etc/systemd/system/update-engine.service","user":{},"target":"/dev/null"},{"group":{},"overwrite":true,"path":"/etc/systemd/system/locksmithd.service","user":{},"target":"/dev/null"},{"group":{},"overwrite":true,"path":"/etc/systemd/system/systemd-sysupdate.timer","user":{},"target":"/dev/null"},{"group":{},"overwrite":true,"path":"/etc/systemd/system/systemd-sysupdate-reboot.timer","user":{},"target":"/dev/null"},{"group":{},"overwrite":true,"path":"/etc/extensions/docker-flatcar.raw","user":{},"target":"/dev/null"}]},"systemd":{"units":[{"contents":"[Unit]\nDescription=Setup containerd configuration\nBefore=containerd.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/opt/bin/containerd-setup.sh\n\n[Install]\nWantedBy=multi-user.target\n","enabled":true,"name":"containerd-setup.service"},{"dropins":[{"contents":"[Service]\nExecStart=\nExecStart=/usr/bin/containerd --config /etc/containerd/config.toml","name":"11-exec_config.conf"}],"enabled":true,"name":"containerd.service"},{"contents":"[Unit]\nDescription=Some Unit\n[Install]\nWantedBy=multi-user.target","enabled":true,"name":"some-unit.service"}]}}"#;

#[test]
fn upstream_case_e6_byte_for_byte() {
    let script = base64::engine::general_purpose::STANDARD.encode(CONTAINERD_SETUP_SCRIPT);
    let want = E6.replace("<BASE64 OF containerd-setup.sh>", &script);
    assert_eq!(user_data(&upstream_provision(), &config(json!({}))), want);
    // Item 17.
    assert!(want.contains(r#""source":"data:;base64,IyEvYmluL2Jhc2gK"#));
}

#[test]
fn every_flatcar_type_renders_the_same_bytes() {
    let coreos = user_data(&upstream_provision(), &config(json!({})));
    for type_ in os_coreos::TYPES {
        let mut osc = upstream_provision();
        osc.spec.default_spec.type_ = type_.to_string();
        assert_eq!(user_data(&osc, &config(json!({}))), coreos, "{type_}");
    }
}

fn json_of(files: Value, units: Value) -> Value {
    let osc = osc("flatcar", "provision", units, files);
    serde_json::from_str(&user_data(&osc, &config(json!({})))).unwrap()
}

/// Items 18 and 19.
#[test]
fn file_sources_and_modes() {
    let v = json_of(
        json!([
            {"path": "/a", "permissions": 493, "content": {"inline": {"encoding": "", "data": "<<BOOTSTRAP_TOKEN>>"}}},
            {"path": "/b", "permissions": 420, "content": {"inline": {"encoding": "", "data": "a b"}}},
            {"path": "/c", "permissions": 416, "content": {"inline": {"encoding": "b64", "data": "YmFy"}}},
            {"path": "/d", "content": {"inline": {"encoding": "", "data": "bar"}, "transmitUnencoded": true}}
        ]),
        json!([]),
    );
    let files = &v["storage"]["files"];
    let source = |i: usize| files[i]["contents"]["source"].as_str().unwrap().to_string();
    assert_eq!(source(1), "data:,%3C%3CBOOTSTRAP_TOKEN%3E%3E");
    assert_eq!(source(2), "data:,a+b");
    assert_eq!(source(3), "data:;base64,YmFy");
    assert_eq!(source(4), "data:,bar", "transmitUnencoded is ignored");
    assert_eq!(
        [&files[1]["mode"], &files[2]["mode"], &files[3]["mode"]],
        [&json!(493), &json!(420), &json!(416)]
    );
    assert!(files[4].get("mode").is_none());
}

/// Items 20 and 21.
#[test]
fn units_enable_by_default_and_escape_like_go() {
    let osc = osc(
        "coreos",
        "provision",
        json!([
            {"name": "a.service", "command": "start", "content": "[Service]\nExecStart=/bin/sh -c 'a && b > /tmp/x'\n"},
            {"name": "b.service", "enable": false}
        ]),
        json!([]),
    );
    let text = user_data(&osc, &config(json!({})));
    assert!(text.contains(r#"a \u0026\u0026 b \u003e /tmp/x"#), "{text}");
    assert!(!text.contains("command"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let units = v["systemd"]["units"].as_array().unwrap();
    assert_eq!(units[2]["enabled"], true);
    assert_eq!(units[3], json!({"enabled": false, "name": "b.service"}));
}

/// Items 22 and 23.
#[test]
fn docker_and_the_masked_updaters() {
    let links = |config: &os_coreos::config::ExtensionConfig| -> Value {
        let v: Value = serde_json::from_str(&user_data(&upstream_provision(), config)).unwrap();
        json!({"links": v["storage"]["links"], "units": v["systemd"]["units"]})
    };
    let off = links(&config(json!({})));
    let paths: Vec<&str> = off["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths[..4],
        [
            "/etc/systemd/system/update-engine.service",
            "/etc/systemd/system/locksmithd.service",
            "/etc/systemd/system/systemd-sysupdate.timer",
            "/etc/systemd/system/systemd-sysupdate-reboot.timer"
        ]
    );
    assert_eq!(
        off["links"][4],
        json!({"group": {}, "overwrite": true, "path": "/etc/extensions/docker-flatcar.raw", "user": {}, "target": "/dev/null"})
    );
    assert!(
        off["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["name"] != "docker.service")
    );
    let on = links(&config(json!({"enableDocker": true})));
    assert_eq!(
        on["links"][4],
        json!({"group": {}, "overwrite": true, "path": "/etc/systemd/system/multi-user.target.wants/docker.service", "user": {}, "hard": false, "target": "/usr/lib/systemd/system/docker.service"})
    );
    assert!(
        on["units"]
            .as_array()
            .unwrap()
            .contains(&json!({"enabled": true, "name": "docker.service"}))
    );
    assert_eq!(on["links"].as_array().unwrap().len(), 5, "no sysext link");
}

fn failure(units: Value, files: Value, secrets: &SecretData) -> String {
    let e = render(
        &osc("coreos", "provision", units, files),
        &config(json!({})),
        secrets,
    )
    .unwrap_err();
    assert_eq!(e.codes(), [ErrorCode::ConfigurationProblem], "{e}");
    e.to_string()
}

/// Items 24 and 25: each failure names the unit or file, with `ERR_CONFIGURATION_PROBLEM`.
#[test]
fn invalid_oscs_fail_with_a_named_configuration_problem() {
    let none = SecretData::new();
    let cases = [
        (
            json!([{"name": "some-unit"}]),
            json!([]),
            "unit \"some-unit\": invalid systemd unit extension",
        ),
        (
            json!([{"name": "a.service", "dropIns": [{"name": "x.txt", "content": "[Service]\n"}]}]),
            json!([]),
            "drop-in \"x.txt\": invalid systemd unit dropin extension",
        ),
        (
            json!([]),
            json!([{"path": "relative", "content": {"inline": {"encoding": "", "data": "x"}}}]),
            "file \"relative\": path not absolute",
        ),
        (
            json!([]),
            json!([{"path": "/opt/bin/containerd-setup.sh", "content": {"inline": {"encoding": "", "data": "x"}}}]),
            "file \"/opt/bin/containerd-setup.sh\": duplicate entry defined",
        ),
        (
            json!([{"name": "containerd.service"}]),
            json!([]),
            "unit \"containerd.service\": duplicate entry defined",
        ),
        (
            json!([{"name": "x.service", "content": "[Unit]\n"}]),
            json!([{"path": "/etc/systemd/system/x.service", "content": {"inline": {"encoding": "", "data": "x"}}}]),
            "path conflicts with systemd unit or dropin",
        ),
        (
            json!([{"name": "x.service", "content": "not ini"}]),
            json!([]),
            "unit \"x.service\": invalid unit content",
        ),
    ];
    for (units, files, want) in cases {
        let message = failure(units, files, &none);
        assert!(
            message.starts_with("ignition config validation failed: "),
            "{message}"
        );
        assert!(message.contains(want), "{message} should contain {want}");
    }
    let image = failure(
        json!([]),
        json!([{"path": "/i", "content": {"imageRef": {"image": "x", "filePathInImage": "/y"}}}]),
        &none,
    );
    assert_eq!(
        image,
        "failed to get content for file /i: file \"/i\" has neither inline nor secret content"
    );
    let secret_file = json!([{"path": "/s", "content": {"secretRef": {"name": "example-file", "dataKey": "file.txt"}}}]);
    assert_eq!(
        failure(json!([]), secret_file.clone(), &none),
        "failed to get content for file /s: secret \"example-file\" not found"
    );
    let other_key: SecretData = [(
        "example-file".to_string(),
        [("other".to_string(), b"x".to_vec())].into(),
    )]
    .into();
    assert_eq!(
        failure(json!([]), secret_file.clone(), &other_key),
        "failed to get content for file /s: key \"file.txt\" not found in secret \"example-file\""
    );
    let secret: SecretData = [(
        "example-file".to_string(),
        [("file.txt".to_string(), b"This is a sample file.\n".to_vec())].into(),
    )]
    .into();
    let bytes = render(
        &osc("coreos", "provision", json!([]), secret_file),
        &config(json!({})),
        &secret,
    )
    .unwrap()
    .user_data
    .unwrap();
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains("data:;base64,VGhpcyBpcyBhIHNhbXBsZSBmaWxlLgo=")
    );
}

/// Beyond upstream: large files are gzip-compressed above a threshold, and the size limit is
/// reported.
#[test]
fn large_files_are_compressed_and_oversized_user_data_is_reported() {
    use os_coreos::render::render_checked;
    use std::io::Read;
    let big = "0123456789abcdef".repeat(2048); // 32 KiB of compressible text
    let osc = osc(
        "flatcar",
        "provision",
        json!([]),
        json!([{"path": "/big", "content": {"inline": {"encoding": "", "data": big}}},
               {"path": "/small", "content": {"inline": {"encoding": "", "data": "bar"}}}]),
    );
    let plain = render_checked(&osc, &config(json!({})), &SecretData::new()).unwrap();
    let (size, limit) = plain.oversized.expect("32 KiB is above the default 16 KiB");
    assert_eq!(limit, 16 * 1024);
    assert!(size > 32 * 1024);
    let compressed = render_checked(
        &osc,
        &config(json!({"userData": {"gzipFilesAboveBytes": 4096}})),
        &SecretData::new(),
    )
    .unwrap();
    assert_eq!(
        compressed.oversized, None,
        "compression keeps it under the limit"
    );
    let bytes = compressed.output.user_data.unwrap();
    ignition_validate(&bytes);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let big_file = &v["storage"]["files"][1]["contents"];
    assert_eq!(big_file["compression"], "gzip");
    let gz = base64::engine::general_purpose::STANDARD
        .decode(
            big_file["source"]
                .as_str()
                .unwrap()
                .strip_prefix("data:;base64,")
                .unwrap(),
        )
        .unwrap();
    let mut unpacked = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, big);
    assert_eq!(
        v["storage"]["files"][2]["contents"],
        json!({"source": "data:,bar", "verification": {}}),
        "small files stay"
    );
    let again = render_checked(
        &osc,
        &config(json!({"userData": {"gzipFilesAboveBytes": 4096}})),
        &SecretData::new(),
    )
    .unwrap();
    assert_eq!(again.output.user_data.unwrap(), bytes, "deterministic");
    let unlimited = render_checked(
        &osc,
        &config(json!({"userData": {"sizeLimitBytes": 0}})),
        &SecretData::new(),
    )
    .unwrap();
    assert_eq!(unlimited.oversized, None);
}
