//! The objects the extension puts into the shoot: the base (ServiceAccount and RuntimeClass) and,
//! per worker pool, the installation (the script's ConfigMap and the DaemonSet that runs it).

use extension_framework::registry::{Registry, RegistryError};
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, HostPathVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, SeccompProfile, SecurityContext, ServiceAccount, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::api::node::v1::{RuntimeClass, Scheduling};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Where the objects go in the shoot.
pub const NAMESPACE: &str = "kube-system";
/// The RuntimeClass pods select (`runtimeClassName: gvisor`); also the ServiceAccount's name.
pub const RUNTIME_CLASS: &str = "gvisor";
/// The containerd runtime handler.
pub const HANDLER: &str = "runsc";
/// The node label gardenlet sets on pools with the gvisor runtime.
pub const NODE_LABEL: &str = "containerruntime.worker.gardener.cloud/gvisor";
/// The node label naming the CRI.
pub const CRI_LABEL: &str = "worker.gardener.cloud/cri-name";
/// The script's key in the ConfigMap and its name under `/scripts`.
pub const SCRIPT_KEY: &str = "install-gvisor-containerd.sh";
const APP_LABEL: &str = "app.kubernetes.io/name";
const APP: &str = "containerd-gvisor";

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NAMESPACE.into()),
        ..ObjectMeta::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// ServiceAccount `kube-system/gvisor` and RuntimeClass `gvisor` (`handler: runsc`, scheduled onto
/// nodes labelled for gvisor).
///
/// # Errors
/// Only a serialisation failure, which typed objects do not produce.
pub fn base() -> Result<Registry, RegistryError> {
    let service_account = ServiceAccount {
        metadata: meta(RUNTIME_CLASS),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    };
    let runtime_class = RuntimeClass {
        metadata: ObjectMeta {
            name: Some(RUNTIME_CLASS.into()),
            ..ObjectMeta::default()
        },
        handler: HANDLER.into(),
        scheduling: Some(Scheduling {
            node_selector: Some(labels(&[(NODE_LABEL, "true")])),
            tolerations: None,
        }),
        overhead: None,
    };
    let mut registry = Registry::new();
    registry.add(&service_account)?.add(&runtime_class)?;
    Ok(registry)
}

/// What the installation of one pool needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// The worker pool.
    pub pool: String,
    /// The pool's node selector (`spec.workerPool.selector.matchLabels`).
    pub pool_selector: BTreeMap<String, String>,
    /// The installation image.
    pub image: String,
    /// The rendered installer script.
    pub script: String,
}

impl Installation {
    /// `containerd-gvisor-<pool>`: the ConfigMap's and the DaemonSet's name.
    pub fn name(&self) -> String {
        format!("{APP}-{}", self.pool)
    }

    fn config_map(&self) -> ConfigMap {
        ConfigMap {
            metadata: meta(&self.name()),
            data: Some([(SCRIPT_KEY.to_string(), self.script.clone())].into()),
            ..ConfigMap::default()
        }
    }

    /// `cri-name: containerd` plus the pool's labels (the pool's win on a clash).
    fn node_selector(&self) -> BTreeMap<String, String> {
        let mut selector = labels(&[(CRI_LABEL, "containerd")]);
        selector.extend(self.pool_selector.clone());
        selector
    }

    fn daemon_set(&self, config_checksum: String) -> DaemonSet {
        let container = Container {
            name: "container-runtime-gvisor-containerd".into(),
            image: Some(self.image.clone()),
            command: Some(vec![format!("/scripts/{SCRIPT_KEY}")]),
            security_context: Some(SecurityContext {
                privileged: Some(true),
                ..SecurityContext::default()
            }),
            volume_mounts: Some(vec![
                VolumeMount {
                    name: "host-root".into(),
                    mount_path: "/var/host".into(),
                    ..VolumeMount::default()
                },
                VolumeMount {
                    name: "scripts".into(),
                    mount_path: "/scripts".into(),
                    ..VolumeMount::default()
                },
            ]),
            ..Container::default()
        };
        let toleration = |effect: &str| Toleration {
            effect: Some(effect.into()),
            operator: Some("Exists".into()),
            ..Toleration::default()
        };
        let pod = PodSpec {
            service_account_name: Some(RUNTIME_CLASS.into()),
            automount_service_account_token: Some(false),
            host_pid: Some(true),
            host_ipc: Some(true),
            node_selector: Some(self.node_selector()),
            tolerations: Some(vec![toleration("NoSchedule"), toleration("NoExecute")]),
            security_context: Some(PodSecurityContext {
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..PodSecurityContext::default()
            }),
            containers: vec![container],
            volumes: Some(vec![
                Volume {
                    name: "host-root".into(),
                    host_path: Some(HostPathVolumeSource {
                        path: "/".into(),
                        type_: None,
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: "scripts".into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: self.name(),
                        default_mode: Some(0o744),
                        ..ConfigMapVolumeSource::default()
                    }),
                    ..Volume::default()
                },
            ]),
            ..PodSpec::default()
        };
        let mut daemon_set_meta = meta(&self.name());
        daemon_set_meta.labels = Some(labels(&[(APP_LABEL, APP), ("helm.sh/chart", APP)]));
        DaemonSet {
            metadata: daemon_set_meta,
            spec: Some(DaemonSetSpec {
                selector: LabelSelector {
                    match_labels: Some(labels(&[(APP_LABEL, APP)])),
                    ..LabelSelector::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        // Upstream's annotation name, typo included: tools select on it.
                        annotations: Some(labels(&[(
                            "checksum/configmp-containerd-gvisor",
                            &config_checksum,
                        )])),
                        labels: Some(labels(&[
                            (APP_LABEL, APP),
                            ("origin", "gardener-extension-runtime-gvisor"),
                            ("gardener.cloud/role", "container-runtime"),
                        ])),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(pod),
                },
                ..DaemonSetSpec::default()
            }),
            status: None,
        }
    }

    /// The ConfigMap with the script and the DaemonSet running it; a changed script changes the
    /// pod template's checksum annotation, which rolls the DaemonSet.
    ///
    /// # Errors
    /// Only a serialisation failure, which typed objects do not produce.
    pub fn objects(&self) -> Result<Registry, RegistryError> {
        let config_map = self.config_map();
        let mut only_config_map = Registry::new();
        only_config_map.add(&config_map)?;
        let checksum = hex::encode(Sha256::digest(only_config_map.yaml().as_bytes()));
        let mut registry = Registry::new();
        registry.add(&config_map)?.add(&self.daemon_set(checksum))?;
        Ok(registry)
    }
}
