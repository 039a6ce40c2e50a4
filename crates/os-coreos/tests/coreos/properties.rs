//! Property tests: for generated OSCs (valid and invalid unit names, drop-ins, paths, encodings,
//! permissions, secret references, arbitrary and binary content) rendering never panics, and
//! either yields valid output or a configuration error naming the unit, drop-in, file or Secret.
//! Valid means: Ignition parses with `ignition-config` and passes `ignition-validate`;
//! cloud-config parses as YAML.

use crate::fixtures::{config, ignition_validate, osc};
use gardener_api::extensions::ErrorCode;
use os_coreos::render::{SecretData, render};
use proptest::prelude::*;
use serde_json::{Value, json};

fn unit_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}\\.(service|timer|socket|mount|path)",
        "[a-z][a-z0-9@._-]{0,10}",
        ".{0,12}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n".to_string()),
        ".{0,40}",
        "\\PC{0,40}",
    ]
}

fn unit() -> impl Strategy<Value = Value> {
    (
        unit_name(),
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(prop_oneof![Just("start"), Just("restart"), Just("stop")]),
        proptest::collection::vec((unit_name(), text()), 0..2),
    )
        .prop_map(|(name, content, enable, command, drop_ins)| {
            let mut unit = json!({"name": name});
            if let Some(content) = content {
                unit["content"] = json!(content);
            }
            if let Some(enable) = enable {
                unit["enable"] = json!(enable);
            }
            if let Some(command) = command {
                unit["command"] = json!(command);
            }
            if !drop_ins.is_empty() {
                unit["dropIns"] = drop_ins
                    .into_iter()
                    .map(|(name, content)| json!({"name": name, "content": content}))
                    .collect();
            }
            unit
        })
}

fn file() -> impl Strategy<Value = Value> {
    let content = prop_oneof![
        (
            prop_oneof![Just(""), Just("b64"), Just("base64"), Just("gzip")],
            text()
        )
            .prop_map(|(encoding, data)| json!({"inline": {"encoding": encoding, "data": data}})),
        prop_oneof![Just("k"), Just("missing")]
            .prop_map(|key| json!({"secretRef": {"name": "s", "dataKey": key}})),
    ];
    (
        prop_oneof!["/[a-z0-9/._-]{1,20}", ".{0,12}"],
        content,
        proptest::option::of(0u32..0o10000),
        any::<bool>(),
    )
        .prop_map(|(path, mut content, permissions, unencoded)| {
            if unencoded {
                content["transmitUnencoded"] = json!(true);
            }
            let mut file = json!({"path": path, "content": content});
            if let Some(p) = permissions {
                file["permissions"] = json!(p);
            }
            file
        })
}

fn names(units: &Value, files: &Value) -> Vec<String> {
    let mut names = vec!["\"s\"".to_string()];
    let mut name = |value: &Value| {
        let text = value.as_str().unwrap_or_default();
        names.push(format!("{text:?}"));
    };
    for unit in units.as_array().into_iter().flatten() {
        name(&unit["name"]);
        for drop_in in unit["dropIns"].as_array().into_iter().flatten() {
            name(&drop_in["name"]);
        }
    }
    for file in files.as_array().into_iter().flatten() {
        let path = file["path"].as_str().unwrap_or_default();
        // "file <path>" also names a file whose path is empty.
        names.push(format!("file {path}"));
        names.push(format!("file {path:?}"));
    }
    names
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn rendering_yields_valid_output_or_a_named_configuration_problem(
        units in proptest::collection::vec(unit(), 0..4),
        files in proptest::collection::vec(file(), 0..4),
        secret in proptest::collection::vec(any::<u8>(), 0..64),
        provision in any::<bool>(),
        cloud_config in any::<bool>(),
    ) {
        let (units, files) = (Value::from(units), Value::from(files));
        let purpose = if provision { "provision" } else { "reconcile" };
        let object = osc("coreos", purpose, units.clone(), files.clone());
        let format = if cloud_config { json!({"userDataFormat": "cloud-config"}) } else { json!({}) };
        let secrets: SecretData = [("s".to_string(), [("k".to_string(), secret)].into())].into();
        match render(&object, &config(format), &secrets) {
            Ok(output) => {
                if let Some(user_data) = output.user_data {
                    if cloud_config {
                        let text = String::from_utf8(user_data).expect("cloud-config is text");
                        let body = text.strip_prefix("#cloud-config\n\n").expect("the header");
                        serde_saphyr::from_str::<serde_json::Value>(body)
                            .unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"));
                    } else {
                        ignition_validate(&user_data);
                    }
                }
            }
            Err(e) => {
                prop_assert_eq!(e.codes(), [ErrorCode::ConfigurationProblem], "{}", e);
                let message = e.to_string();
                let named = names(&units, &files).iter().any(|n| message.contains(n.as_str()));
                prop_assert!(named, "the error names no unit, drop-in, file or Secret: {}", message);
            }
        }
    }
}
