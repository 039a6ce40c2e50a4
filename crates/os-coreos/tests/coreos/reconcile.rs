//! Reconcile output (extension units and files): E8a for the default config, and the NTP and
//! override variants (checklist items 26–29).

use crate::fixtures::*;
use gardener_api::extensions::{File, Unit};
use os_coreos::render::{SecretData, render};
use serde_json::{Value, json};

fn output(config_fields: Value, provider_config: Option<Value>) -> (Vec<Unit>, Vec<File>) {
    let mut osc = osc(
        "flatcar",
        "reconcile",
        json!([{"name": "x.service"}]),
        json!([]),
    );
    osc.spec.default_spec.provider_config = provider_config;
    let out = render(&osc, &config(config_fields), &SecretData::new()).unwrap();
    assert!(
        out.user_data.is_none(),
        "item 26: no result Secret for reconcile"
    );
    (out.extension_units.unwrap(), out.extension_files.unwrap())
}

/// Item 26: E8a to the letter.
#[test]
fn default_config_gives_upstreams_units_and_files() {
    let (units, files) = output(json!({}), None);
    let noop = json!([{"name": "20-noop-execstart.conf", "content": "[Service]\nExecStart=\nExecStart=/bin/true\nRestart=no\n"}]);
    assert_eq!(
        serde_json::to_value(&units).unwrap(),
        json!([
            {"name": "update-engine.service", "command": "stop", "enable": false, "dropIns": noop},
            {"name": "locksmithd.service", "command": "stop", "enable": false, "dropIns": noop},
            {"name": "systemd-timesyncd.service", "command": "start", "enable": true},
            {"name": "ntpd.service", "command": "stop", "enable": false},
            {"name": "kubelet.service", "dropIns": [{"name": "10-configure-cgroup-driver.conf", "content": "[Service]\nExecStartPre=/opt/bin/kubelet_cgroup_driver.sh\n"}], "filePaths": ["/opt/bin/kubelet_cgroup_driver.sh"]},
            {"name": "containerd.service", "dropIns": [{"name": "11-exec_config.conf", "content": "[Service]\nExecStart=\nExecStart=/usr/bin/containerd --config /etc/containerd/config.toml"}]}
        ])
    );
    let files = serde_json::to_value(&files).unwrap();
    assert_eq!(
        files[0],
        json!({"path": "/etc/modprobe.d/sctp.conf", "permissions": 420, "content": {"inline": {"encoding": "", "data": "install sctp /bin/true"}}})
    );
    assert_eq!(files[1]["path"], "/opt/bin/kubelet_cgroup_driver.sh");
    assert_eq!(files[1]["permissions"], 493);
    assert!(
        files[1]["content"]["inline"]["data"]
            .as_str()
            .unwrap()
            .starts_with("#!/bin/bash\n")
    );
}

/// Item 27.
#[test]
fn ntpd_with_servers_and_interfaces() {
    let (units, files) = output(
        json!({"ntp": {"daemon": "ntpd", "ntpd": {"servers": ["foo.bar", "bar.foo"], "interfaces": ["dev1", "dev2"]}}}),
        None,
    );
    let ntpd = units.iter().find(|u| u.name == "ntpd.service").unwrap();
    assert_eq!(
        serde_json::to_value(ntpd).unwrap(),
        json!({"name": "ntpd.service", "command": "start", "enable": true, "filePaths": ["/etc/ntp.conf"]})
    );
    let conf = files.iter().find(|f| f.path == "/etc/ntp.conf").unwrap();
    assert_eq!(conf.permissions, Some(0o644));
    assert_eq!(
        conf.content.inline.as_ref().unwrap().data,
        "\nserver foo.bar iburst\nserver bar.foo iburst\n\ndriftfile /var/lib/ntp/ntp.drift\nrestrict default nomodify nopeer noquery notrap limited kod\nrestrict 127.0.0.1\nrestrict [::1]\n\ninterface ignore wildcard\ninterface listen 127.0.0.1\ninterface listen dev1\ninterface listen dev2\n"
    );
    assert_eq!(
        files[0].path, "/etc/ntp.conf",
        "emitted before the sctp file"
    );
}

/// Items 28 and 29.
#[test]
fn ntp_off_and_the_shoot_override() {
    let names = |units: Vec<Unit>| units.into_iter().map(|u| u.name).collect::<Vec<_>>();
    let (off, _) = output(json!({"ntp": {"enabled": false}}), None);
    let off = names(off);
    assert!(
        !off.iter()
            .any(|n| n == "ntpd.service" || n == "systemd-timesyncd.service"),
        "{off:?}"
    );
    let shoot = json!({"apiVersion": "config.coreos.os.extensions.gardener.cloud/v1alpha1", "kind": "ExtensionConfig", "ntp": {"enabled": false}});
    let (off_by_shoot, _) = output(json!({}), Some(shoot));
    assert_eq!(names(off_by_shoot), off);
    let docker_only = json!({"apiVersion": "config.coreos.os.extensions.gardener.cloud/v1alpha1", "kind": "ExtensionConfig", "enableDocker": true});
    let (units, files) = output(
        json!({"ntp": {"daemon": "ntpd", "ntpd": {"servers": ["a"]}}}),
        Some(docker_only),
    );
    let timesyncd = units
        .iter()
        .find(|u| u.name == "systemd-timesyncd.service")
        .unwrap();
    assert_eq!(
        timesyncd.enable,
        Some(true),
        "the defaulted shoot ntp replaced the global ntpd"
    );
    assert!(files.iter().all(|f| f.path != "/etc/ntp.conf"));
}
