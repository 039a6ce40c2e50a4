//! The garden ConfigMap workflow (the original design): without a providerConfig, Flux's source
//! comes from the ConfigMap `flux-config` in the shoot's project namespace in the garden, and a
//! private repository's deploy key from the garden Secret `flux-source`, shared by all shoots of
//! the project.

use crate::api::{
    DEFAULT_NAMESPACE, FluxConfig, FluxInstallation, KUSTOMIZE_API_VERSION, Kustomization,
    SOURCE_API_VERSION, Source,
};
use crate::ssh::{self, SshTarget};
use extension_framework::Error;
use extension_framework::config::{FieldError, FieldPath, VersionedConfig};
use gardener_api::core::Shoot;
use gardener_api::extensions::ErrorCode;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The garden ConfigMap with the repository.
pub const CONFIG_MAP: &str = "flux-config";
/// The garden Secret (and the shoot Secret) with the deploy key and `known_hosts`.
pub const SOURCE_SECRET: &str = "flux-source";
/// The GitRepository's name.
pub const GIT_REPOSITORY: &str = "main-gitrepo";
/// The Kustomization's name.
pub const KUSTOMIZATION: &str = "main-ks";
/// The seed Secret with gardenlet's garden kubeconfig (key `kubeconfig`), used as upstream did.
pub const GARDENLET_KUBECONFIG: (&str, &str) = ("garden", "gardenlet-kubeconfig");

/// The keys of `flux-config`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositoryConfig {
    /// `fluxVersion` (a missing `v` is added: upstream's example `0.29.5` failed its tag lookup).
    pub flux_version: Option<String>,
    /// `repositoryUrl`.
    pub repository_url: String,
    /// `repositoryBranch`.
    pub repository_branch: String,
    /// `repositoryType`: `private` makes the extension manage a deploy key.
    pub repository_type: String,
    /// `knownHosts`: used instead of reading the host's key over SSH.
    pub known_hosts: Option<String>,
}

fn non_empty(data: &BTreeMap<String, String>, key: &str) -> Option<String> {
    data.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl RepositoryConfig {
    /// Reads the ConfigMap's data.
    pub fn from_data(data: &BTreeMap<String, String>) -> Self {
        Self {
            flux_version: non_empty(data, "fluxVersion").map(|v| {
                if v.starts_with('v') {
                    v
                } else {
                    format!("v{v}")
                }
            }),
            repository_url: non_empty(data, "repositoryUrl").unwrap_or_default(),
            repository_branch: non_empty(data, "repositoryBranch").unwrap_or_default(),
            repository_type: non_empty(data, "repositoryType").unwrap_or_default(),
            known_hosts: non_empty(data, "knownHosts"),
        }
    }

    /// Whether the repository needs the deploy key.
    pub fn is_private(&self) -> bool {
        self.repository_type == "private"
    }

    /// Whether a repository is configured at all (otherwise only Flux is installed, as upstream
    /// delivered an empty configuration).
    pub fn has_repository(&self) -> bool {
        !(self.repository_url.is_empty()
            && self.repository_branch.is_empty()
            && self.repository_type.is_empty())
    }

    /// The problems, with paths naming the ConfigMap's keys.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !self.has_repository() {
            return errors;
        }
        let root = FieldPath::new("");
        if self.repository_url.is_empty() {
            errors.push(FieldError::required(root.child("repositoryUrl")));
        } else if self.is_private() && SshTarget::from_url(&self.repository_url).is_none() {
            errors.push(FieldError::invalid(
                root.child("repositoryUrl"),
                &self.repository_url,
                "must name an SSH host for a private repository",
            ));
        }
        if self.repository_branch.is_empty() {
            errors.push(FieldError::required(root.child("repositoryBranch")));
        }
        if !["", "public", "private"].contains(&self.repository_type.as_str()) {
            errors.push(FieldError::not_supported(
                root.child("repositoryType"),
                &self.repository_type,
                &["public", "private"],
            ));
        }
        errors
    }

    /// The FluxConfig this amounts to: Flux, and `main-gitrepo` (every 30 s) applied by `main-ks`
    /// (every 5 minutes, path `./`, pruning, into `default`).
    pub fn flux_config(&self) -> FluxConfig {
        let mut config = FluxConfig {
            flux: Some(FluxInstallation {
                version: self.flux_version.clone(),
                ..FluxInstallation::default()
            }),
            ..FluxConfig::default()
        };
        if self.has_repository() {
            let mut spec = json!({"interval": "30s", "url": self.repository_url,
                                  "ref": {"branch": self.repository_branch}});
            if self.is_private() {
                spec["secretRef"] = json!({"name": SOURCE_SECRET});
            }
            config.source = Some(Source {
                template: Some(json!({
                    "apiVersion": SOURCE_API_VERSION, "kind": "GitRepository",
                    "metadata": {"name": GIT_REPOSITORY, "namespace": DEFAULT_NAMESPACE},
                    "spec": spec,
                })),
                secret_resource_name: None,
            });
            config.kustomization = Some(Kustomization {
                template: Some(json!({
                    "apiVersion": KUSTOMIZE_API_VERSION, "kind": "Kustomization",
                    "metadata": {"name": KUSTOMIZATION, "namespace": DEFAULT_NAMESPACE},
                    "spec": {"interval": "5m", "path": "./", "prune": true, "targetNamespace": "default",
                             "sourceRef": {"kind": "GitRepository", "name": GIT_REPOSITORY}},
                })),
            });
        }
        config.set_defaults();
        config
    }
}

/// How the extension reaches the garden.
#[derive(Clone, Debug)]
pub enum GardenAccess {
    /// A kubeconfig file (`--garden-kubeconfig`).
    Kubeconfig(PathBuf),
    /// gardenlet's kubeconfig Secret in the seed; without it the workflow is off.
    GardenletSecret,
}

/// What the garden workflow delivers: the config and the shoot Secrets beyond the config's own.
#[derive(Debug)]
pub struct Plan {
    /// The FluxConfig built from `flux-config`.
    pub config: FluxConfig,
    /// `flux-system/flux-source` for private repositories.
    pub secrets: Vec<Value>,
}

/// The garden side of the workflow.
pub struct Garden {
    access: GardenAccess,
    client: OnceCell<Client>,
    ssh_timeout: Duration,
}

async fn client_from_yaml(yaml: &str, what: &str) -> Result<Client, Error> {
    // YAML errors may quote values, and this document holds credentials: say where, not what.
    let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|_| {
        Error::msg(format!(
            "invalid garden kubeconfig {what}: not a kubeconfig (details withheld, it holds credentials)"
        ))
    })?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::context(format!("invalid garden kubeconfig {what}"), e))?;
    Client::try_from(config)
        .map_err(|e| Error::context(format!("could not build a garden client from {what}"), e))
}

/// The project's `flux-config`, checked.
async fn repository_config(garden: &Client, project: &str) -> Result<RepositoryConfig, Error> {
    let config_maps: Api<ConfigMap> = Api::namespaced(garden.clone(), project);
    let config_map = config_maps
        .get_opt(CONFIG_MAP)
        .await
        .map_err(|e| Error::context(format!("could not read ConfigMap {project}/{CONFIG_MAP} in the garden"), e))?
        .ok_or_else(|| {
            Error::msg(format!("ConfigMap {project}/{CONFIG_MAP} not found in the garden: it names the repository Flux syncs from"))
                .with_codes([ErrorCode::ConfigurationProblem])
        })?;
    let repository = RepositoryConfig::from_data(&config_map.data.unwrap_or_default());
    let errors = repository.validate();
    if !errors.is_empty() {
        return Err(Error::context(
            format!("invalid ConfigMap {project}/{CONFIG_MAP} in the garden"),
            extension_framework::config::ConfigError::Invalid(errors),
        )
        .with_codes([ErrorCode::ConfigurationProblem]));
    }
    Ok(repository)
}

impl Garden {
    /// Garden access as configured; SSH host-key reads give up after `ssh_timeout`.
    pub fn new(access: GardenAccess, ssh_timeout: Duration) -> Self {
        Self {
            access,
            client: OnceCell::new(),
            ssh_timeout,
        }
    }

    /// The garden client, or `None` when the workflow is off (no gardenlet Secret in the seed).
    async fn client(&self, seed: &Client) -> Result<Option<Client>, Error> {
        if let Some(client) = self.client.get() {
            return Ok(Some(client.clone()));
        }
        let client = match &self.access {
            GardenAccess::Kubeconfig(path) => {
                let yaml = tokio::fs::read_to_string(path).await.map_err(|e| {
                    Error::context(
                        format!("could not read the garden kubeconfig {}", path.display()),
                        e,
                    )
                })?;
                client_from_yaml(&yaml, &path.display().to_string()).await?
            }
            GardenAccess::GardenletSecret => {
                let (namespace, name) = GARDENLET_KUBECONFIG;
                let secrets: Api<Secret> = Api::namespaced(seed.clone(), namespace);
                let Some(secret) = secrets.get_opt(name).await? else {
                    return Ok(None);
                };
                let yaml = secret
                    .data
                    .as_ref()
                    .and_then(|d| d.get("kubeconfig"))
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                    .ok_or_else(|| {
                        Error::msg(format!("secret {namespace}/{name} has no key kubeconfig"))
                    })?;
                client_from_yaml(&yaml, &format!("secret {namespace}/{name}")).await?
            }
        };
        Ok(Some(
            self.client.get_or_init(|| async { client }).await.clone(),
        ))
    }

    /// The workflow for `shoot`, or `None` when the extension has no garden access.
    ///
    /// # Errors
    /// Configuration problems (`ERR_CONFIGURATION_PROBLEM`) for a missing or invalid `flux-config`;
    /// retried errors for garden API failures and repository hosts whose key cannot be read.
    pub async fn plan(&self, seed: &Client, shoot: &Shoot) -> Result<Option<Plan>, Error> {
        let Some(garden) = self.client(seed).await? else {
            return Ok(None);
        };
        let project = shoot.metadata.namespace.clone().unwrap_or_default();
        let repository = repository_config(&garden, &project).await?;
        let mut secrets = Vec::new();
        if repository.has_repository() && repository.is_private() {
            let secret = self.source_secret(&garden, &project, &repository).await?;
            secrets.push(crate::shoot_objects::shoot_secret(
                &secret,
                SOURCE_SECRET,
                DEFAULT_NAMESPACE,
            ));
        }
        Ok(Some(Plan {
            config: repository.flux_config(),
            secrets,
        }))
    }

    /// The project's `flux-source` Secret: reused when it exists, else created with a new deploy
    /// key and the host's `known_hosts` line.
    async fn source_secret(
        &self,
        garden: &Client,
        project: &str,
        repository: &RepositoryConfig,
    ) -> Result<Secret, Error> {
        let secrets: Api<Secret> = Api::namespaced(garden.clone(), project);
        let reading = |e| {
            Error::context(
                format!("could not read Secret {project}/{SOURCE_SECRET} in the garden"),
                e,
            )
        };
        if let Some(existing) = secrets.get_opt(SOURCE_SECRET).await.map_err(reading)? {
            return Ok(existing);
        }
        let known_hosts = match &repository.known_hosts {
            Some(lines) => lines.clone(),
            None => {
                let target = SshTarget::from_url(&repository.repository_url)
                    .ok_or_else(|| Error::msg("private repository URL without an SSH host"))?;
                // Unreachable hosts may be a passing network problem: retried, not a user error.
                ssh::known_hosts(&target, self.ssh_timeout)
                    .await
                    .map_err(Error::new)?
            }
        };
        let key = ssh::generate_deploy_key().map_err(Error::new)?;
        let data = [
            ("identity", key.private),
            ("identity.pub", key.public),
            ("known_hosts", known_hosts),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.into_bytes())))
        .collect();
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(SOURCE_SECRET.into()),
                namespace: Some(project.into()),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..Secret::default()
        };
        match secrets.create(&PostParams::default(), &secret).await {
            Ok(created) => {
                tracing::info!(
                    secret = %format!("{project}/{SOURCE_SECRET}"),
                    "Created a deploy key for the Flux repository; please add the (public) deploy key to your git repository, you can find it in the secret"
                );
                Ok(created)
            }
            // Another shoot of the project won the race: use its key.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                secrets.get(SOURCE_SECRET).await.map_err(reading)
            }
            Err(e) => Err(Error::context(
                format!("could not create Secret {project}/{SOURCE_SECRET} in the garden"),
                e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn private_repo() -> RepositoryConfig {
        RepositoryConfig::from_data(&data(&[
            ("fluxVersion", "0.29.5"),
            ("repositoryUrl", "ssh://git@github.com/THE-OWNER/THE-REPO"),
            ("repositoryBranch", "main"),
            ("repositoryType", "private"),
        ]))
    }

    #[tokio::test]
    async fn kubeconfig_errors_do_not_quote_the_document() {
        let Err(error) =
            client_from_yaml("users: token-abc123", "secret garden/gardenlet-kubeconfig").await
        else {
            panic!("a string is not a list of users");
        };
        let printed = format!("{error:#}");
        assert!(
            printed.contains("secret garden/gardenlet-kubeconfig"),
            "{printed}"
        );
        assert!(!printed.contains("token-abc123"), "{printed}");
    }

    #[test]
    fn versions_get_their_v() {
        assert_eq!(private_repo().flux_version.as_deref(), Some("v0.29.5"));
        let tagged = RepositoryConfig::from_data(&data(&[("fluxVersion", "v2.9.2")]));
        assert_eq!(tagged.flux_version.as_deref(), Some("v2.9.2"));
    }

    #[test]
    fn private_repositories_become_an_authenticated_git_repository() {
        let config = private_repo().flux_config();
        let source = config.source.unwrap().template.unwrap();
        assert_eq!(
            source,
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": "main-gitrepo", "namespace": "flux-system"},
                   "spec": {"interval": "30s", "url": "ssh://git@github.com/THE-OWNER/THE-REPO",
                            "ref": {"branch": "main"}, "secretRef": {"name": "flux-source"}}})
        );
        let kustomization = config.kustomization.unwrap().template.unwrap();
        assert_eq!(kustomization["spec"]["interval"], "5m");
        assert_eq!(kustomization["spec"]["path"], "./");
        assert_eq!(kustomization["spec"]["prune"], true);
        assert_eq!(kustomization["spec"]["targetNamespace"], "default");
        assert_eq!(kustomization["spec"]["sourceRef"]["name"], "main-gitrepo");
        assert_eq!(
            kustomization["spec"]["sourceRef"]["namespace"],
            "flux-system"
        );
        assert_eq!(config.flux.unwrap().version.as_deref(), Some("v0.29.5"));
    }

    #[test]
    fn public_repositories_have_no_secret_and_an_empty_config_installs_flux_only() {
        let public = RepositoryConfig::from_data(&data(&[
            ("repositoryUrl", "https://github.com/o/r"),
            ("repositoryBranch", "main"),
        ]));
        let source = public.flux_config().source.unwrap().template.unwrap();
        assert!(source["spec"].get("secretRef").is_none());
        let empty = RepositoryConfig::from_data(&BTreeMap::new()).flux_config();
        assert!(empty.source.is_none() && empty.kustomization.is_none());
        assert_eq!(
            empty.flux.unwrap().version.as_deref(),
            Some(crate::api::DEFAULT_VERSION)
        );
    }

    #[test]
    fn incomplete_repositories_are_named_by_key() {
        let errors = RepositoryConfig::from_data(&data(&[("repositoryType", "secret")])).validate();
        let printed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "repositoryUrl: Required value",
                "repositoryBranch: Required value",
                "repositoryType: Unsupported value: \"secret\": supported values: \"public\", \"private\"",
            ]
        );
        assert!(private_repo().validate().is_empty());
    }
}
