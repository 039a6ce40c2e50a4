//! From an OperatingSystemConfig to what the extension reports: the same code serves the
//! controller and the offline `render` command.

use crate::cloud_config::{self, CloudConfigFile};
use crate::config::{ExtensionConfig, NTPD, TIMESYNCD};
use crate::ignition::{self, Content, FileSpec, Provision, UnitSpec};
use crate::nodes;
use extension_framework::Error;
use extension_framework::osc::{LegacyOutput, OscOutput};
use gardener_api::extensions::{
    DropIn, ErrorCode, File, FileContent, FileContentInline, OperatingSystemConfig,
    OperatingSystemConfigPurpose, Unit, UnitCommand,
};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Secret data by Secret name, then key: what `secretRef` file contents read.
pub type SecretData = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

fn config_problem(message: String) -> Error {
    Error::msg(message).with_codes([ErrorCode::ConfigurationProblem])
}

/// The Secrets the OSC's files reference (the controller reads these, and only these).
pub fn referenced_secrets(osc: &OperatingSystemConfig) -> Vec<String> {
    let mut names: Vec<String> = osc
        .spec
        .files
        .iter()
        .flatten()
        .filter_map(|f| f.content.secret_ref.as_ref().map(|r| r.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A file's content as the OSC holds it, borrowed.
enum ContentRef<'a> {
    Plain(&'a str),
    Base64(&'a str),
    Bytes(&'a [u8]),
}

fn content_ref<'a>(file: &'a File, secrets: &'a SecretData) -> Result<ContentRef<'a>, Error> {
    if let Some(inline) = &file.content.inline {
        return match inline.encoding.as_str() {
            "b64" | "base64" => Ok(ContentRef::Base64(&inline.data)),
            "" => Ok(ContentRef::Plain(&inline.data)),
            other => Err(config_problem(format!(
                "failed to get content for file {}: unsupported encoding {other:?}",
                file.path
            ))),
        };
    }
    if let Some(reference) = &file.content.secret_ref {
        let data = secrets.get(&reference.name).ok_or_else(|| {
            config_problem(format!(
                "failed to get content for file {}: secret {:?} not found",
                file.path, reference.name
            ))
        })?;
        return data
            .get(&reference.data_key)
            .map(|bytes| ContentRef::Bytes(bytes))
            .ok_or_else(|| {
                config_problem(format!(
                    "failed to get content for file {}: key {:?} not found in secret {:?}",
                    file.path, reference.data_key, reference.name
                ))
            });
    }
    Err(config_problem(format!(
        "failed to get content for file {0}: file {0:?} has neither inline nor secret content",
        file.path
    )))
}

fn content(file: &File, secrets: &SecretData) -> Result<Content, Error> {
    Ok(match content_ref(file, secrets)? {
        ContentRef::Plain(text) => Content::Plain(text.to_owned()),
        ContentRef::Base64(b64) => Content::Base64(b64.to_owned()),
        ContentRef::Bytes(bytes) => Content::Bytes(bytes.to_vec()),
    })
}

fn provision(
    osc: &OperatingSystemConfig,
    config: &ExtensionConfig,
    secrets: &SecretData,
) -> Result<Provision, Error> {
    let files = osc
        .spec
        .files
        .iter()
        .flatten()
        .map(|f| {
            Ok(FileSpec {
                path: f.path.clone(),
                mode: f.permissions,
                content: content(f, secrets)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let units = osc
        .spec
        .units
        .iter()
        .flatten()
        .map(|u| UnitSpec {
            name: u.name.clone(),
            contents: u.content.clone(),
            // Unset means enabled, as upstream (nodes of the script era enabled every unit).
            enabled: u.enable.unwrap_or(true),
            dropins: u
                .drop_ins
                .iter()
                .flatten()
                .map(|d| (d.name.clone(), d.content.clone()))
                .collect(),
        })
        .collect();
    Ok(Provision {
        files,
        units,
        docker: config.docker(),
        gzip_above: config.gzip_above(),
    })
}

fn unit(name: &str, command: Option<UnitCommand>, enable: Option<bool>) -> Unit {
    Unit {
        name: name.into(),
        command,
        enable,
        ..Unit::default()
    }
}

fn inline_file(path: &str, permissions: u32, data: String) -> File {
    File {
        path: path.into(),
        permissions: Some(permissions),
        content: FileContent {
            inline: Some(FileContentInline {
                encoding: String::new(),
                data,
            }),
            ..FileContent::default()
        },
        host_name: None,
    }
}

fn dropin(name: &str, content: &str) -> Vec<DropIn> {
    vec![DropIn {
        name: name.into(),
        content: content.into(),
    }]
}

/// The units and files gardener-node-agent applies besides the OSC's own (`purpose: reconcile`).
///
/// # Errors
/// An NTP daemon other than systemd-timesyncd or ntpd (a shoot override is not validated).
pub fn extension_units_and_files(
    config: &ExtensionConfig,
) -> Result<(Vec<Unit>, Vec<File>), Error> {
    let mut units = Vec::new();
    for updater in ["update-engine.service", "locksmithd.service"] {
        let mut u = unit(updater, Some(UnitCommand::Stop), Some(false));
        u.drop_ins = Some(dropin(nodes::NOOP_DROPIN, nodes::NOOP_DROPIN_CONTENT));
        units.push(u);
    }
    let mut files = Vec::new();
    let ntp = config.ntp();
    if ntp.enabled.unwrap_or(true) {
        let (start, stop) = match ntp.daemon.as_str() {
            TIMESYNCD => ("systemd-timesyncd.service", "ntpd.service"),
            NTPD => ("ntpd.service", "systemd-timesyncd.service"),
            other => {
                return Err(config_problem(format!(
                    "error configuring NTP Daemon: unsupported NTP daemon: {other}"
                )));
            }
        };
        let mut started = unit(start, Some(UnitCommand::Start), Some(true));
        let stopped = unit(stop, Some(UnitCommand::Stop), Some(false));
        if ntp.daemon == NTPD {
            let ntpd = ntp.ntpd.clone().unwrap_or_default();
            started.file_paths = Some(vec![nodes::NTP_CONF_PATH.into()]);
            files.push(inline_file(
                nodes::NTP_CONF_PATH,
                0o644,
                nodes::ntp_conf(&ntpd.servers, &ntpd.interfaces),
            ));
            units.push(stopped);
            units.push(started);
        } else {
            units.push(started);
            units.push(stopped);
        }
    }
    files.push(inline_file(
        nodes::SCTP_PATH,
        0o644,
        nodes::SCTP_CONTENT.into(),
    ));
    files.push(inline_file(
        nodes::KUBELET_CGROUP_DRIVER_PATH,
        0o755,
        nodes::KUBELET_CGROUP_DRIVER_SCRIPT.into(),
    ));
    let mut kubelet = unit("kubelet.service", None, None);
    kubelet.drop_ins = Some(dropin(nodes::KUBELET_DROPIN, nodes::KUBELET_DROPIN_CONTENT));
    kubelet.file_paths = Some(vec![nodes::KUBELET_CGROUP_DRIVER_PATH.into()]);
    units.push(kubelet);
    let mut containerd = unit("containerd.service", None, None);
    containerd.drop_ins = Some(dropin(
        nodes::CONTAINERD_DROPIN,
        nodes::CONTAINERD_EXEC_CONFIG,
    ));
    units.push(containerd);
    Ok((units, files))
}

/// The files with their bytes, for cloud-config (which decodes and re-encodes every file).
fn cloud_config_files<'a>(
    osc: &'a OperatingSystemConfig,
    secrets: &'a SecretData,
) -> Result<Vec<CloudConfigFile<'a>>, Error> {
    use base64::Engine;
    osc.spec
        .files
        .iter()
        .flatten()
        .map(|f| {
            let bytes = match content_ref(f, secrets)? {
                ContentRef::Plain(text) => Cow::Borrowed(text.as_bytes()),
                ContentRef::Bytes(bytes) => Cow::Borrowed(bytes),
                ContentRef::Base64(b64) => Cow::Owned(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|e| {
                            config_problem(format!(
                                "failed to get content for file {}: invalid base64: {e}",
                                f.path
                            ))
                        })?,
                ),
            };
            Ok(CloudConfigFile {
                path: &f.path,
                permissions: f.permissions,
                bytes,
                unencoded: f.content.transmit_unencoded == Some(true),
            })
        })
        .collect()
}

/// What the controller writes for `osc`, and whether its user data is larger than the limit.
#[derive(Debug)]
pub struct Rendered {
    /// The output for the framework.
    pub output: OscOutput,
    /// `(size, limit)` when the user data exceeds the configured limit.
    pub oversized: Option<(u64, u64)>,
}

/// [`render`] with the size check of the effective configuration.
///
/// # Errors
/// As [`render`].
pub fn render_checked(
    osc: &OperatingSystemConfig,
    global: &ExtensionConfig,
    secrets: &SecretData,
) -> Result<Rendered, Error> {
    let limit = global
        .merged(osc.spec.default_spec.provider_config.as_ref())?
        .size_limit();
    let output = render(osc, global, secrets)?;
    let size = output.user_data.as_ref().map_or(0, |d| d.len() as u64);
    let oversized = limit
        .filter(|limit| size > *limit)
        .map(|limit| (size, limit));
    Ok(Rendered { output, oversized })
}

/// What the controller writes for `osc`, given the global config and the referenced Secrets.
///
/// # Errors
/// Configuration problems (`ERR_CONFIGURATION_PROBLEM`): a bad providerConfig, missing Secret
/// content, an unknown purpose, an OSC that breaks Ignition's rules.
pub fn render(
    osc: &OperatingSystemConfig,
    global: &ExtensionConfig,
    secrets: &SecretData,
) -> Result<OscOutput, Error> {
    let config = global.merged(osc.spec.default_spec.provider_config.as_ref())?;
    if config.cloud_config() {
        if !matches!(
            osc.spec.purpose,
            OperatingSystemConfigPurpose::Provision | OperatingSystemConfigPurpose::Reconcile
        ) {
            return Err(config_problem(format!(
                "unknown purpose: {}",
                osc.spec.purpose
            )));
        }
        let rendered = cloud_config::render(osc, &cloud_config_files(osc, secrets)?);
        return Ok(OscOutput {
            user_data: Some(rendered.user_data),
            legacy: Some(LegacyOutput {
                command: rendered.command,
                units: rendered.units,
                files: rendered.files,
            }),
            ..OscOutput::default()
        });
    }
    match &osc.spec.purpose {
        OperatingSystemConfigPurpose::Provision => {
            let user_data = ignition::render(&provision(osc, &config, secrets)?)
                .map_err(|e| Error::new(e).with_codes([ErrorCode::ConfigurationProblem]))?;
            Ok(OscOutput {
                user_data: Some(user_data),
                ..OscOutput::default()
            })
        }
        OperatingSystemConfigPurpose::Reconcile => {
            let (units, files) = extension_units_and_files(&config)?;
            Ok(OscOutput {
                extension_units: Some(units),
                extension_files: Some(files),
                ..OscOutput::default()
            })
        }
        other => Err(config_problem(format!("unknown purpose: {other}"))),
    }
}
