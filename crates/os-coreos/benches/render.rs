//! Rendering cost: a typical provision OSC, and a large one (200 files, every tenth 64 KiB), in
//! both formats. `cargo bench -p gardener-extension-os-coreos`.

use criterion::{Criterion, criterion_group, criterion_main};
use extension_framework::config::{FieldPath, VersionedConfig, decode};
use gardener_api::extensions::OperatingSystemConfig;
use os_coreos::config::ExtensionConfig;
use os_coreos::render::{SecretData, render};
use serde_json::{Value, json};
use std::hint::black_box;

fn config(fields: Value) -> ExtensionConfig {
    let mut raw =
        json!({"apiVersion": ExtensionConfig::API_VERSION, "kind": ExtensionConfig::KIND});
    raw.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    decode(&raw, &FieldPath::default()).unwrap()
}

fn osc(files: usize, big_every: usize) -> OperatingSystemConfig {
    let files: Vec<Value> = (0..files)
        .map(|i| {
            let data = if big_every > 0 && i % big_every == 0 {
                "0123456789abcdef\n".repeat(64 * 1024 / 17)
            } else {
                format!("setting-{i}=<<BOOTSTRAP_TOKEN>> value {i}\n")
            };
            json!({"path": format!("/etc/gardener/file-{i}"), "permissions": 420, "content": {"inline": {"encoding": "", "data": data}}})
        })
        .collect();
    let units: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("unit-{i}.service"), "content": format!("[Unit]\nDescription=Unit {i}\n\n[Service]\nExecStart=/bin/sh -c 'a && b > /tmp/{i}'\n\n[Install]\nWantedBy=multi-user.target\n")}))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "OperatingSystemConfig",
        "metadata": {"name": "bench", "namespace": "shoot--foo--bar"},
        "spec": {"type": "flatcar", "purpose": "provision", "units": units, "files": files}
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let secrets = SecretData::new();
    let cases = [("typical", osc(10, 0)), ("large", osc(200, 10))];
    let formats = [
        ("ignition", config(json!({}))),
        (
            "ignition-gzip",
            config(json!({"userData": {"gzipFilesAboveBytes": 4096}})),
        ),
        (
            "cloud-config",
            config(json!({"userDataFormat": "cloud-config"})),
        ),
    ];
    for (case, osc) in &cases {
        for (format, config) in &formats {
            c.bench_function(&format!("render/{case}/{format}"), |b| {
                b.iter(|| render(black_box(osc), black_box(config), black_box(&secrets)).unwrap())
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
