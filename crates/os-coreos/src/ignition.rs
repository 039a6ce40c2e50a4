//! Provision user data: an Ignition v3.3.0 config, serialised exactly as Go's
//! `github.com/coreos/ignition/v2/config/v3_3/types.Config` marshals (key order, empty objects,
//! HTML escaping, decimal modes), and validated with Ignition's rules before it is returned.

use crate::golang::{query_escape, to_json};
use crate::nodes;
use base64::Engine;
use serde::Serialize;

/// The Ignition spec version.
pub const VERSION: &str = "3.3.0";

#[derive(Serialize, Default)]
struct Empty {}

#[derive(Serialize)]
struct Config<'a> {
    ignition: Ignition,
    #[serde(rename = "kernelArguments")]
    kernel_arguments: Empty,
    passwd: Empty,
    storage: Storage,
    systemd: Systemd<'a>,
}

#[derive(Serialize)]
struct Ignition {
    config: IgnitionConfig,
    proxy: Empty,
    security: Security,
    timeouts: Empty,
    version: &'static str,
}

#[derive(Serialize)]
struct IgnitionConfig {
    replace: Resource,
}

#[derive(Serialize)]
struct Security {
    tls: Empty,
}

#[derive(Serialize, Default)]
struct Resource {
    #[serde(skip_serializing_if = "Option::is_none")]
    compression: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    verification: Empty,
}

#[derive(Serialize)]
struct Storage {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<File>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

/// A file node: `group, [overwrite], path, user, contents, [mode]`.
#[derive(Serialize)]
struct File {
    group: Empty,
    path: String,
    user: Empty,
    contents: Resource,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<u32>,
}

/// A link node: `group, overwrite, path, user, [hard], target`.
#[derive(Serialize)]
struct Link {
    group: Empty,
    overwrite: bool,
    path: String,
    user: Empty,
    #[serde(skip_serializing_if = "Option::is_none")]
    hard: Option<bool>,
    target: String,
}

#[derive(Serialize)]
struct Systemd<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    units: Vec<Unit<'a>>,
}

/// A unit: `[contents], [dropins], [enabled], name`.
#[derive(Serialize)]
struct Unit<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    contents: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dropins: Vec<Dropin<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    name: &'a str,
}

#[derive(Serialize)]
struct Dropin<'a> {
    contents: &'a str,
    name: &'a str,
}

/// One file of the user data, its content already resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    /// Absolute path on the node.
    pub path: String,
    /// File mode, if the OSC set one.
    pub mode: Option<u32>,
    /// The content.
    pub content: Content,
}

/// Where a file's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Already base64 (inline `encoding: b64`): passed through as given.
    Base64(String),
    /// Plain text (inline without encoding): a `data:,` URL, query-escaped.
    Plain(String),
    /// Bytes from a Secret: base64-encoded.
    Bytes(Vec<u8>),
}

impl Content {
    /// The raw bytes (for compression), if known.
    fn bytes(&self) -> Option<Vec<u8>> {
        match self {
            Self::Base64(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok(),
            Self::Plain(text) => Some(text.as_bytes().to_vec()),
            Self::Bytes(bytes) => Some(bytes.clone()),
        }
    }

    /// `(compression, source)`: gzip and base64 when the content is larger than `gzip_above`.
    fn resource(&self, gzip_above: Option<u64>) -> (Option<&'static str>, String) {
        if let (Some(threshold), Some(bytes)) = (gzip_above, self.bytes())
            && bytes.len() as u64 > threshold
        {
            return (Some("gzip"), Self::Bytes(gzip(&bytes)).source());
        }
        (None, self.source())
    }

    fn source(&self) -> String {
        match self {
            Self::Base64(b64) => format!("data:;base64,{b64}"),
            Self::Plain(text) => format!("data:,{}", query_escape(text)),
            Self::Bytes(bytes) => format!(
                "data:;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            ),
        }
    }
}

/// One systemd unit of the user data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitSpec {
    /// Unit name with its suffix.
    pub name: String,
    /// Unit file, if any.
    pub contents: Option<String>,
    /// Whether the unit is enabled.
    pub enabled: bool,
    /// Drop-ins: `(name, contents)`.
    pub dropins: Vec<(String, String)>,
}

/// gzip with a fixed header (no name, no time), so equal input gives equal user data.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// What the user data is made of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provision {
    /// The OSC's files, in order.
    pub files: Vec<FileSpec>,
    /// The OSC's units, in order.
    pub units: Vec<UnitSpec>,
    /// Whether docker's sysext is enabled.
    pub docker: bool,
    /// Files larger than this many bytes are gzip-compressed.
    pub gzip_above: Option<u64>,
}

/// The Ignition config of a provision OSC, and why it is invalid.
#[derive(Debug, thiserror::Error)]
#[error("ignition config validation failed: {}", .0.join("; "))]
pub struct InvalidIgnition(pub Vec<String>);

const MASKED: [&str; 4] = [
    "/etc/systemd/system/update-engine.service",
    "/etc/systemd/system/locksmithd.service",
    "/etc/systemd/system/systemd-sysupdate.timer",
    "/etc/systemd/system/systemd-sysupdate-reboot.timer",
];

fn mask(path: &str) -> Link {
    Link {
        group: Empty {},
        overwrite: true,
        path: path.into(),
        user: Empty {},
        hard: None,
        target: "/dev/null".into(),
    }
}

fn file(spec: &FileSpec, gzip_above: Option<u64>) -> File {
    let (compression, source) = spec.content.resource(gzip_above);
    File {
        group: Empty {},
        path: spec.path.clone(),
        user: Empty {},
        contents: Resource {
            compression,
            source: Some(source),
            verification: Empty {},
        },
        mode: spec.mode,
    }
}

/// The Ignition JSON for `provision` (compact, no trailing newline).
///
/// # Errors
/// [`InvalidIgnition`] when the OSC breaks one of Ignition's rules ([`crate::validate`]).
pub fn render(provision: &Provision) -> Result<Vec<u8>, InvalidIgnition> {
    let setup = FileSpec {
        path: nodes::CONTAINERD_SETUP_PATH.into(),
        mode: Some(0o755),
        content: Content::Bytes(nodes::CONTAINERD_SETUP_SCRIPT.as_bytes().to_vec()),
    };
    let files: Vec<&FileSpec> = std::iter::once(&setup).chain(&provision.files).collect();
    let mut links: Vec<Link> = MASKED.iter().map(|p| mask(p)).collect();
    let setup_unit = UnitSpec {
        name: nodes::CONTAINERD_SETUP_UNIT.into(),
        contents: Some(nodes::CONTAINERD_SETUP_SERVICE.into()),
        enabled: true,
        dropins: vec![],
    };
    let containerd = UnitSpec {
        name: "containerd.service".into(),
        contents: None,
        enabled: true,
        dropins: vec![(
            nodes::CONTAINERD_DROPIN.into(),
            nodes::CONTAINERD_EXEC_CONFIG.into(),
        )],
    };
    let mut units: Vec<&UnitSpec> = vec![&setup_unit, &containerd];
    let docker = UnitSpec {
        name: "docker.service".into(),
        contents: None,
        enabled: true,
        dropins: vec![],
    };
    if provision.docker {
        units.push(&docker);
        links.push(Link {
            hard: Some(false),
            target: "/usr/lib/systemd/system/docker.service".into(),
            ..mask("/etc/systemd/system/multi-user.target.wants/docker.service")
        });
    } else {
        links.push(mask("/etc/extensions/docker-flatcar.raw"));
    }
    units.extend(&provision.units);
    let link_paths: Vec<&str> = links.iter().map(|l| l.path.as_str()).collect();
    crate::validate::check(&files, &link_paths, &units).map_err(InvalidIgnition)?;
    let config = Config {
        ignition: Ignition {
            config: IgnitionConfig {
                replace: Resource::default(),
            },
            proxy: Empty {},
            security: Security { tls: Empty {} },
            timeouts: Empty {},
            version: VERSION,
        },
        kernel_arguments: Empty {},
        passwd: Empty {},
        storage: Storage {
            files: files
                .iter()
                .map(|f| file(f, provision.gzip_above))
                .collect(),
            links,
        },
        systemd: Systemd {
            units: units
                .iter()
                .map(|u| Unit {
                    contents: u.contents.as_deref(),
                    dropins: u
                        .dropins
                        .iter()
                        .map(|(name, contents)| Dropin { contents, name })
                        .collect(),
                    enabled: Some(u.enabled),
                    name: &u.name,
                })
                .collect(),
        },
    };
    Ok(to_json(&config).expect("plain structs serialise"))
}
