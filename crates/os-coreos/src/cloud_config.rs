//! The original os-coreos format: coreos-cloudinit `#cloud-config` YAML, for both purposes
//! (`userDataFormat: cloud-config`), with the legacy status fields `units`, `files` and `command`.

use crate::nodes;
use crate::yaml_v2::{self, Node};
use gardener_api::extensions::{OperatingSystemConfig, OperatingSystemConfigPurpose};
use std::borrow::Cow;

/// A file with its resolved bytes, borrowed from the OSC where they need no decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudConfigFile<'a> {
    /// Path on the node.
    pub path: &'a str,
    /// Mode, if the OSC set one (rendered without a leading zero, default 644).
    pub permissions: Option<u32>,
    /// The content.
    pub bytes: Cow<'a, [u8]>,
    /// Write the text as it is instead of base64 (`transmitUnencoded`).
    pub unencoded: bool,
}

/// The user data and the legacy status fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudConfig {
    /// `#cloud-config\n\n` and the YAML.
    pub user_data: Vec<u8>,
    /// `status.units`: the OSC's unit names, then the ones os-coreos adds.
    pub units: Vec<String>,
    /// `status.files`: the OSC's file paths.
    pub files: Vec<String>,
    /// `status.command`: `coreos-cloudinit --from-file=<reloadConfigFilePath>` when that is set.
    pub command: Option<String>,
}

fn s(v: &str) -> Node<'_> {
    Node::Str(v.into())
}

fn unit<'a>(
    name: &'a str,
    command: Option<&'a str>,
    enable: bool,
    content: Option<&'a str>,
) -> Vec<(&'static str, Node<'a>)> {
    let mut fields = vec![("name", s(name))];
    if enable {
        fields.push(("enable", Node::Bool(true)));
    }
    if let Some(content) = content {
        fields.push(("content", s(content)));
    }
    if let Some(command) = command {
        fields.push(("command", s(command)));
    }
    fields
}

fn plain_file<'a>(path: &'a str, permissions: &'a str, content: &'a str) -> Node<'a> {
    Node::Map(vec![
        ("content", s(content)),
        ("path", s(path)),
        ("permissions", s(permissions)),
    ])
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Room for the user data: the files' base64 and the fixed units and scripts around them.
fn output_estimate(files: &[CloudConfigFile<'_>]) -> usize {
    let contents: usize = files.iter().map(|f| f.bytes.len() / 3 * 4 + 128).sum();
    contents + 8192
}

/// The cloud-config of `osc` with its files' contents resolved.
pub fn render(osc: &OperatingSystemConfig, files: &[CloudConfigFile<'_>]) -> CloudConfig {
    let spec = &osc.spec;
    let provision = spec.purpose == OperatingSystemConfigPurpose::Provision;
    let mut units = vec![
        Node::Map(vec![
            ("name", s("update-engine.service")),
            ("mask", Node::Bool(true)),
            ("command", s("stop")),
        ]),
        Node::Map(vec![
            ("name", s("locksmithd.service")),
            ("mask", Node::Bool(true)),
            ("command", s("stop")),
        ]),
    ];
    let mut unit_names = Vec::new();
    for u in spec.units.iter().flatten() {
        let mut fields = vec![("name", s(&u.name))];
        if u.enable == Some(true) {
            fields.push(("enable", Node::Bool(true)));
        }
        if let Some(content) = &u.content {
            fields.push(("content", s(content)));
        }
        if let Some(command) = &u.command {
            fields.push(("command", s(command.as_str())));
        }
        let drop_ins: Vec<Node> = u
            .drop_ins
            .iter()
            .flatten()
            .map(|d| Node::Map(vec![("name", s(&d.name)), ("content", s(&d.content))]))
            .collect();
        if !drop_ins.is_empty() {
            fields.push(("drop_ins", Node::Seq(drop_ins)));
        }
        units.push(Node::Map(fields));
        unit_names.push(u.name.clone());
    }
    let mut write_files = Vec::new();
    if spec.purpose == OperatingSystemConfigPurpose::Reconcile {
        write_files.push(Node::Map(vec![
            ("encoding", s("b64")),
            (
                "content",
                Node::Str(b64(nodes::SCTP_CONTENT.as_bytes()).into()),
            ),
            ("owner", s("root")),
            ("path", s(nodes::SCTP_PATH)),
            ("permissions", s("0644")),
        ]));
    }
    for f in files {
        let permissions = format!("{:o}", f.permissions.unwrap_or(0o644));
        let mut fields = Vec::new();
        if f.unencoded {
            fields.push(("content", Node::Str(String::from_utf8_lossy(&f.bytes))));
        } else {
            fields.push(("encoding", s("b64")));
            fields.push(("content", Node::Str(b64(&f.bytes).into())));
        }
        fields.push(("path", s(f.path)));
        fields.push(("permissions", Node::Str(permissions.into())));
        write_files.push(Node::Map(fields));
    }
    let containerd = spec
        .cri_config
        .as_ref()
        .is_some_and(|c| c.name == "containerd");
    if containerd && provision {
        units.push(Node::Map(unit(
            nodes::RUN_COMMAND_UNIT,
            Some("start"),
            true,
            Some(nodes::RUN_COMMAND_SERVICE),
        )));
        unit_names.push(nodes::RUN_COMMAND_UNIT.into());
        write_files.push(plain_file(
            nodes::CONTAINERD_DROPIN_PATH,
            "0644",
            nodes::CONTAINERD_EXEC_CONFIG,
        ));
        write_files.push(plain_file(
            nodes::RUN_COMMAND_PATH,
            "0755",
            nodes::CONTAINERD_SETUP_SCRIPT,
        ));
    }
    units.push(Node::Map(unit(
        nodes::CGROUPS_V2_UNIT,
        Some("start"),
        true,
        Some(nodes::CGROUPS_V2_SERVICE),
    )));
    unit_names.push(nodes::CGROUPS_V2_UNIT.into());
    write_files.push(plain_file(
        nodes::CGROUPS_V2_PATH,
        "0755",
        nodes::KUBELET_CGROUP_DRIVER_SCRIPT,
    ));

    let document = [
        (
            "coreos",
            Node::Map(vec![
                ("update", Node::Map(vec![("reboot_strategy", s("off"))])),
                ("units", Node::Seq(units)),
            ]),
        ),
        ("write_files", Node::Seq(write_files)),
    ];
    let mut user_data = String::with_capacity(output_estimate(files));
    user_data.push_str("#cloud-config\n\n");
    yaml_v2::write(&mut user_data, &document);
    CloudConfig {
        user_data: user_data.into_bytes(),
        units: unit_names,
        files: spec
            .files
            .iter()
            .flatten()
            .map(|f| f.path.clone())
            .collect(),
        command: spec
            .reload_config_file_path
            .as_ref()
            .map(|p| format!("/usr/bin/coreos-cloudinit --from-file={p}")),
    }
}
