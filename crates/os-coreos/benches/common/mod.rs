//! The render cases both benchmarks measure: a typical provision OSC, and a large one as the
//! performance issue defines it (200 files, 20 of them 64 KiB, plain, b64 and unencoded; 30 units,
//! 10 with drop-ins), in each user-data format.

mod config;

use base64::Engine;
use config::config;
use gardener_api::extensions::OperatingSystemConfig;
use os_coreos::render::{SecretData, render};
use serde_json::{Value, json};
use std::hint::black_box;

/// File `i`: every tenth (with `big`) 64 KiB, and by turns plain, base64 and transmitted
/// unencoded.
fn file(i: usize, big: bool) -> Value {
    let data = if big && i.is_multiple_of(10) {
        "0123456789abcdef\n".repeat(64 * 1024 / 17)
    } else {
        format!("setting-{i}=<<BOOTSTRAP_TOKEN>> value {i}\n")
    };
    let content = match i % 3 {
        0 => json!({"inline": {"encoding": "", "data": data}}),
        1 => json!({"inline": {"encoding": "b64",
            "data": base64::engine::general_purpose::STANDARD.encode(&data)}}),
        _ => json!({"inline": {"encoding": "", "data": data}, "transmitUnencoded": true}),
    };
    json!({"path": format!("/etc/gardener/file-{i}"), "permissions": 420, "content": content})
}

/// Unit `i`, with a drop-in, enabled and started when `drop_in`.
fn unit(i: usize, drop_in: bool) -> Value {
    let mut unit = json!({"name": format!("unit-{i}.service"),
        "content": format!("[Unit]\nDescription=Unit {i}\n\n[Service]\nExecStart=/bin/sh -c 'a && b > /tmp/{i}'\n\n[Install]\nWantedBy=multi-user.target\n")});
    if drop_in {
        unit["enable"] = json!(true);
        unit["command"] = json!("start");
        unit["dropIns"] = json!([{"name": "10-env.conf",
            "content": format!("[Service]\nEnvironment=UNIT={i}\n")}]);
    }
    unit
}

fn osc(files: usize, units: usize, big: bool) -> OperatingSystemConfig {
    let files: Vec<Value> = (0..files).map(|i| file(i, big)).collect();
    let units: Vec<Value> = (0..units)
        .map(|i| unit(i, big && i.is_multiple_of(3)))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "OperatingSystemConfig",
        "metadata": {"name": "bench", "namespace": "shoot--foo--bar"},
        "spec": {"type": "flatcar", "purpose": "provision", "units": units, "files": files}
    }))
    .unwrap()
}

/// One measured operation.
pub type Case = (String, Box<dyn Fn()>);

/// `render/<typical|large>/<format>`, each rendering once per call.
pub fn cases() -> Vec<Case> {
    let formats = [
        ("ignition", json!({})),
        (
            "ignition-gzip",
            json!({"userData": {"gzipFilesAboveBytes": 4096}}),
        ),
        ("cloud-config", json!({"userDataFormat": "cloud-config"})),
    ];
    let mut cases: Vec<Case> = Vec::new();
    for (size, osc) in [
        ("typical", osc(10, 10, false)),
        ("large", osc(200, 30, true)),
    ] {
        for (format, fields) in &formats {
            let (osc, config) = (osc.clone(), config(fields.clone()));
            cases.push((
                format!("render/{size}/{format}"),
                Box::new(move || {
                    black_box(
                        render(black_box(&osc), black_box(&config), &SecretData::new()).unwrap(),
                    );
                }),
            ));
        }
    }
    cases
}
