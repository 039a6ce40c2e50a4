//! OperatingSystemConfig output: the result Secret `osc-result-<name>` and the status fields.

use crate::Error;
use crate::operation::Operation;
use crate::output::OutputError;
use gardener_api::extensions::{File, InPlaceUpdatesStatus, OperatingSystemConfig, Unit};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Map, Value, json};

/// Data key of the user data in the result Secret.
pub const CLOUD_CONFIG_KEY: &str = "cloud_config";

/// What an OperatingSystemConfig actuator produces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OscOutput {
    /// Node user data (purpose `provision`); written to the result Secret when set.
    pub user_data: Option<Vec<u8>>,
    /// Units the OS adds (`status.extensionUnits`; `None` clears).
    pub extension_units: Option<Vec<Unit>>,
    /// Files the OS adds (`status.extensionFiles`; `None` clears).
    pub extension_files: Option<Vec<File>>,
    /// In-place update instructions (`status.inPlaceUpdates`; `None` clears).
    pub in_place_updates: Option<InPlaceUpdatesStatus>,
    /// Legacy fields for gardenlets before v1.97 (`status.command`, `status.units`, `status.files`).
    pub legacy: Option<LegacyOutput>,
}

/// Status fields the original os-coreos wrote for old gardenlets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegacyOutput {
    /// `status.command`.
    pub command: Option<String>,
    /// `status.units` (unit names).
    pub units: Vec<String>,
    /// `status.files` (paths).
    pub files: Vec<String>,
}

/// Name and namespace of the result Secret: the existing `status.cloudConfig.secretRef`, else
/// `osc-result-<name>` in the OSC's namespace.
pub fn result_secret_ref(osc: &OperatingSystemConfig) -> (String, String) {
    let existing = osc
        .status
        .as_ref()
        .and_then(|s| s.cloud_config.as_ref())
        .map(|c| &c.secret_ref);
    let name = existing
        .and_then(|r| r.name.clone())
        .unwrap_or_else(|| format!("osc-result-{}", osc.name_any()));
    let namespace = existing
        .and_then(|r| r.namespace.clone())
        .or_else(|| osc.namespace())
        .unwrap_or_default();
    (name, namespace)
}

fn owner_reference(osc: &OperatingSystemConfig) -> OwnerReference {
    OwnerReference {
        api_version: OperatingSystemConfig::api_version(&()).into_owned(),
        kind: OperatingSystemConfig::kind(&()).into_owned(),
        name: osc.name_any(),
        uid: osc.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Writes the result Secret without reading it: a create when the OSC's status names no Secret
/// yet, else one merge patch of the data (a no-op the server does not store in the steady state).
/// Either falls back to the other when the Secret's existence proves it wrong. The owner reference
/// is rewritten only when the Secret is not controlled by this OSC.
async fn apply_secret(
    client: &Client,
    osc: &OperatingSystemConfig,
    user_data: &[u8],
) -> Result<(String, String), Error> {
    let (name, namespace) = result_secret_ref(osc);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let owner = owner_reference(osc);
    let recorded = osc
        .status
        .as_ref()
        .is_some_and(|s| s.cloud_config.is_some());
    if !recorded && create_secret(&secrets, &name, owner.clone(), user_data).await? {
        return Ok((name, namespace));
    }
    let data_patch = json!({ "data": { CLOUD_CONFIG_KEY: ByteString(user_data.to_vec()) } });
    match secrets
        .patch(&name, &PatchParams::default(), &Patch::Merge(&data_patch))
        .await
    {
        Ok(existing) if controlled_by(&existing, &owner) => {}
        Ok(other) => take_over(&secrets, other, owner).await?,
        Err(kube::Error::Api(s)) if s.is_not_found() => {
            if !create_secret(&secrets, &name, owner, user_data).await? {
                return Err(Error::msg(format!(
                    "secret {namespace}/{name} was created concurrently, will retry"
                )));
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok((name, namespace))
}

/// Creates the Secret; `false` when it exists already.
async fn create_secret(
    secrets: &Api<Secret>,
    name: &str,
    owner: OwnerReference,
    user_data: &[u8],
) -> Result<bool, Error> {
    let mut secret = Secret::default();
    secret.metadata.name = Some(name.into());
    secret.metadata.owner_references = Some(vec![owner]);
    secret.data = Some([(CLOUD_CONFIG_KEY.to_string(), ByteString(user_data.to_vec()))].into());
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn controlled_by(secret: &Secret, owner: &OwnerReference) -> bool {
    secret
        .owner_references()
        .iter()
        .any(|r| r.uid == owner.uid && r.controller == Some(true))
}

/// Makes this OSC the Secret's controller, replacing another controller (an OSC recreated under
/// the same name) and keeping every other owner reference. The patch carries the resourceVersion
/// just returned, so a concurrent change fails it with a conflict (retried).
async fn take_over(
    secrets: &Api<Secret>,
    secret: Secret,
    owner: OwnerReference,
) -> Result<(), Error> {
    let mut refs: Vec<OwnerReference> = secret
        .owner_references()
        .iter()
        .filter(|r| r.controller != Some(true))
        .cloned()
        .collect();
    refs.push(owner);
    let patch = json!({
        "metadata": { "resourceVersion": secret.resource_version(), "ownerReferences": refs },
    });
    secrets
        .patch(
            &secret.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await?;
    Ok(())
}

/// The status merge patch for the output fields: Go's `MergeFrom` diff after overwriting
/// `extensionUnits`, `extensionFiles` and `inPlaceUpdates` (nil clears) and, when the Secret was
/// written, `cloudConfig`. `None` when nothing changes.
pub fn output_status_patch(
    osc: &OperatingSystemConfig,
    output: &OscOutput,
    secret: Option<(&str, &str)>,
) -> Option<Value> {
    let current = osc.status.as_ref().map(|s| json!(s));
    let mut desired = match &current {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if let Some((name, namespace)) = secret {
        desired.insert(
            "cloudConfig".into(),
            json!({ "secretRef": { "name": name, "namespace": namespace } }),
        );
    }
    let mut set = |key: &str, value: Value| {
        if value.is_null() {
            desired.remove(key);
        } else {
            desired.insert(key.into(), value);
        }
    };
    set("extensionUnits", json!(output.extension_units));
    set("extensionFiles", json!(output.extension_files));
    set("inPlaceUpdates", json!(output.in_place_updates));
    if let Some(legacy) = &output.legacy {
        set("command", json!(legacy.command));
        set("units", json!(legacy.units));
        set("files", json!(legacy.files));
    }
    gardener_api::patch::status_patch(current.as_ref(), &Value::Object(desired))
}

pub(crate) async fn write_output(
    client: &Client,
    osc: &OperatingSystemConfig,
    output: OscOutput,
) -> Result<Option<OperatingSystemConfig>, OutputError> {
    let secret = match &output.user_data {
        Some(data) => {
            Some(
                apply_secret(client, osc, data)
                    .await
                    .map_err(|source| OutputError {
                        description: "Could not apply secret for generated cloud config",
                        record_as: None,
                        source,
                    })?,
            )
        }
        None => None,
    };
    let Some(patch) = output_status_patch(
        osc,
        &output,
        secret.as_ref().map(|(n, ns)| (n.as_str(), ns.as_str())),
    ) else {
        return Ok(None);
    };
    let api: Api<OperatingSystemConfig> =
        Api::namespaced(client.clone(), &osc.namespace().unwrap_or_default());
    api.patch_status(
        &osc.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map(Some)
    .map_err(|e| OutputError {
        description: "Could not update status",
        // Upstream records this failure with operation type Restore, whatever the operation was.
        record_as: Some(Operation::Restore),
        source: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gardener_api::extensions::{OperatingSystemConfigSpec, OsUpdate};

    fn osc(status: Value) -> OperatingSystemConfig {
        let mut osc = OperatingSystemConfig::new("o", OperatingSystemConfigSpec::default());
        osc.status = serde_json::from_value(status).unwrap();
        osc
    }

    fn update(args: Option<Vec<&str>>) -> InPlaceUpdatesStatus {
        InPlaceUpdatesStatus {
            os_update: Some(OsUpdate {
                command: "/bin/update".into(),
                args: args.map(|a| a.into_iter().map(String::from).collect()),
            }),
        }
    }

    #[test]
    fn output_fields_are_set_changed_and_removed_as_go_diffs() {
        let current = osc(
            json!({"inPlaceUpdates": {"osUpdate": {"command": "/bin/update", "args": ["--old"]}},
            "extensionUnits": [{"name": "a.service"}]}),
        );
        let output = OscOutput {
            in_place_updates: Some(update(None)),
            ..OscOutput::default()
        };
        assert_eq!(
            output_status_patch(&current, &output, Some(("s", "ns"))),
            Some(json!({"status": {
                "inPlaceUpdates": {"osUpdate": {"args": null}},
                "extensionUnits": null,
                "cloudConfig": {"secretRef": {"name": "s", "namespace": "ns"}},
            }})),
            "stale args and units removed, secret reference set"
        );
        let same = OscOutput {
            in_place_updates: Some(update(Some(vec!["--old"]))),
            extension_units: current.status.as_ref().unwrap().extension_units.clone(),
            ..OscOutput::default()
        };
        assert_eq!(
            output_status_patch(&current, &same, None),
            None,
            "no change, no write"
        );
    }
}
