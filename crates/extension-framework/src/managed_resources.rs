//! ManagedResources for gardener-resource-manager, created exactly as Gardener's Go helpers do
//! (gardener-contract §7.2): checksum-named immutable Secrets, garbage-collectable labels and
//! reference annotations.

use crate::Error;
use crate::cache::SeedCache;
use either::Either;
use gardener_api::constants::{
    GARBAGE_COLLECTABLE_REFERENCE_LABEL, MR_ORIGIN_LABEL, REFERENCE_ANNOTATION_PREFIX,
    SHOOT_NO_CLEANUP_LABEL,
};
use gardener_api::extensions::{ConditionStatus, ErrorCode};
use gardener_api::resources::{ManagedResource, ManagedResourceSpec, RESOURCES_APPLIED};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{LocalObjectReference, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// Poll interval of the wait functions (`IntervalWait`).
pub const WAIT_INTERVAL: Duration = Duration::from_secs(2);

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The checksum Gardener names secrets by: sha256 over the concatenated sha256 hex digests of the
/// values, keys sorted (key names are not hashed).
pub fn data_checksum(data: &BTreeMap<String, Vec<u8>>) -> String {
    let concatenated: String = data.values().map(|v| sha256_hex(v)).collect();
    sha256_hex(concatenated.as_bytes())
}

/// `managedresource-<name>-<first 8 hex of the checksum>`.
pub fn secret_name(mr_name: &str, data: &BTreeMap<String, Vec<u8>>) -> String {
    format!("managedresource-{mr_name}-{}", &data_checksum(data)[..8])
}

/// `reference.resources.gardener.cloud/secret-<first 8 hex of sha256(name)>`.
pub fn reference_annotation(secret_name: &str) -> String {
    format!(
        "{REFERENCE_ANNOTATION_PREFIX}secret-{}",
        &sha256_hex(secret_name.as_bytes())[..8]
    )
}

/// Who the ManagedResource is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Objects in the shoot (`class` unset), with the extension's origin label.
    Shoot {
        /// `origin` label value; must not be `gardener`.
        origin: String,
    },
    /// Objects in the seed (`class: seed`).
    Seed,
}

/// `CreateForShoot`: objects applied into the shoot by the shoot's resource manager.
pub async fn create_for_shoot(
    client: &Client,
    namespace: &str,
    name: &str,
    origin: &str,
    keep_objects: bool,
    data: BTreeMap<String, Vec<u8>>,
) -> Result<(), Error> {
    create_or_update(
        client,
        namespace,
        name,
        &Target::Shoot {
            origin: origin.into(),
        },
        keep_objects,
        data,
    )
    .await
}

/// `CreateForSeed`: objects applied into the seed by the seed's resource manager.
pub async fn create_for_seed(
    client: &Client,
    namespace: &str,
    name: &str,
    keep_objects: bool,
    data: BTreeMap<String, Vec<u8>>,
) -> Result<(), Error> {
    create_or_update(client, namespace, name, &Target::Seed, keep_objects, data).await
}

/// Creates or updates the data Secret and the ManagedResource.
///
/// # Guarantees
/// No reads. The immutable Secret, named by its content, is created first (AlreadyExists when
/// unchanged), so the ManagedResource never points to a missing Secret. Then, in the steady
/// state, one JSON patch tests the ManagedResource's reference to that Secret and sets the spec
/// (a no-op the server does not store). When the data changed, the Secrets it pointed to before
/// are labelled garbage-collectable.
///
/// # Errors
/// API errors, and a conflict when the ManagedResource changes between the two writes of an update.
pub async fn create_or_update(
    client: &Client,
    namespace: &str,
    name: &str,
    target: &Target,
    keep_objects: bool,
    data: BTreeMap<String, Vec<u8>>,
) -> Result<(), Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mrs: Api<ManagedResource> = Api::namespaced(client.clone(), namespace);
    let secret = data_secret(name, data);
    let secret_name = secret.name_any();
    let (labels, spec) = desired_state(namespace, target, keep_objects, &secret_name);
    let reference = (reference_annotation(&secret_name), secret_name);

    // Every time, as Go does: a Secret deleted by hand comes back with the next reconcile.
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => {}
        // Same name means same content: the immutable secret is already right.
        Err(kube::Error::Api(s)) if s.is_already_exists() => {}
        Err(e) => return Err(e.into()),
    }
    let unchanged = json_patch::Patch(unchanged_ops(&labels, &reference, &spec)?);
    let exists = match mrs
        .patch(name, &PatchParams::default(), &Patch::<()>::Json(unchanged))
        .await
    {
        Ok(_) => return Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() => false,
        // The test failed: the data (so the Secret) changed, or our labels are missing.
        Err(kube::Error::Api(s)) if s.code == 422 => true,
        Err(e) => return Err(e.into()),
    };
    if !exists {
        let mut mr = ManagedResource::new(name, spec.clone());
        mr.metadata.namespace = Some(namespace.into());
        mr.metadata.labels = (!labels.is_empty()).then(|| labels.clone());
        mr.metadata.annotations = Some([reference.clone()].into());
        match mrs.create(&PostParams::default(), &mr).await {
            Ok(_) => return Ok(()),
            // Created meanwhile, by another object sharing it: updated like any other.
            Err(kube::Error::Api(s)) if s.is_already_exists() => {}
            Err(e) => return Err(e.into()),
        }
    }
    update(&mrs, &secrets, name, &labels, &reference, spec).await
}

/// The immutable data Secret, named by its content.
fn data_secret(mr_name: &str, data: BTreeMap<String, Vec<u8>>) -> Secret {
    let mut secret = Secret::default();
    secret.metadata.name = Some(secret_name(mr_name, &data));
    secret.metadata.labels = Some(
        [(
            GARBAGE_COLLECTABLE_REFERENCE_LABEL.to_string(),
            "true".to_string(),
        )]
        .into(),
    );
    secret.type_ = Some("Opaque".into());
    secret.immutable = Some(true);
    secret.data = Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect());
    secret
}

/// The ManagedResource's labels and spec for `target`.
fn desired_state(
    namespace: &str,
    target: &Target,
    keep_objects: bool,
    secret_name: &str,
) -> (BTreeMap<String, String>, ManagedResourceSpec) {
    let mut labels = BTreeMap::new();
    let mut spec = ManagedResourceSpec {
        secret_refs: Some(vec![LocalObjectReference {
            name: secret_name.into(),
        }]),
        keep_objects: Some(keep_objects),
        ..ManagedResourceSpec::default()
    };
    match target {
        Target::Shoot { origin } => {
            labels.insert(MR_ORIGIN_LABEL.to_string(), origin.clone());
            spec.inject_labels =
                Some([(SHOOT_NO_CLEANUP_LABEL.to_string(), "true".to_string())].into());
        }
        Target::Seed => {
            spec.class = Some("seed".into());
            if !namespace.starts_with("shoot-") {
                labels.insert("gardener.cloud/role".into(), "seed-system-component".into());
            }
        }
    }
    (labels, spec)
}

/// JSON patch operations that succeed only while the ManagedResource references the Secret
/// already, and then set our labels and the whole spec (as Go's mutate function does).
fn unchanged_ops(
    labels: &BTreeMap<String, String>,
    reference: &(String, String),
    spec: &ManagedResourceSpec,
) -> Result<Vec<json_patch::PatchOperation>, Error> {
    let mut ops = vec![json!({
        "op": "test",
        "path": format!("/metadata/annotations/{}", escape_pointer(&reference.0)),
        "value": reference.1,
    })];
    ops.extend(labels.iter().map(|(k, v)| {
        json!({ "op": "add", "path": format!("/metadata/labels/{}", escape_pointer(k)), "value": v })
    }));
    ops.push(json!({ "op": "add", "path": "/spec", "value": spec }));
    serde_json::from_value(Value::Array(ops)).map_err(Error::new)
}

/// RFC 6901 escaping of one reference token.
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Points the ManagedResource to a new Secret: a merge patch of labels, reference annotation and
/// spec, then (only when needed) an update that drops stale references and `injectLabels` keys
/// the merge kept.
async fn update(
    mrs: &Api<ManagedResource>,
    secrets: &Api<Secret>,
    name: &str,
    labels: &BTreeMap<String, String>,
    reference: &(String, String),
    spec: ManagedResourceSpec,
) -> Result<(), Error> {
    let current = mrs
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(desired_patch(labels, reference, &spec)?),
        )
        .await?;
    // Reference annotations of other secrets name the ones the patch just replaced in
    // `secretRefs`: they become garbage-collectable, and their annotations go.
    let stale: Vec<String> = current
        .annotations()
        .iter()
        .filter(|(k, _)| k.starts_with(REFERENCE_ANNOTATION_PREFIX) && **k != reference.0)
        .map(|(_, secret)| secret.clone())
        .collect();
    for old in &stale {
        mark_garbage_collectable(secrets, old).await?;
    }
    if !stale.is_empty() || current.spec != spec {
        let mut desired = current;
        desired.spec = spec;
        desired
            .annotations_mut()
            .retain(|k, _| !k.starts_with(REFERENCE_ANNOTATION_PREFIX) || *k == reference.0);
        mrs.replace(name, &PostParams::default(), &desired).await?;
    }
    Ok(())
}

/// The merge patch that sets our labels, our reference annotation and the whole spec; fields of
/// the spec we leave unset are nulled, so that the patch replaces the spec as Go's mutate does.
fn desired_patch(
    labels: &BTreeMap<String, String>,
    reference: &(String, String),
    spec: &ManagedResourceSpec,
) -> Result<Value, Error> {
    let mut spec_patch = serde_json::to_value(spec).map_err(Error::new)?;
    if let Value::Object(fields) = &mut spec_patch {
        for field in SPEC_FIELDS {
            fields.entry(*field).or_insert(Value::Null);
        }
    }
    Ok(json!({
        "metadata": {
            "labels": labels,
            "annotations": { &reference.0: &reference.1 },
        },
        "spec": spec_patch,
    }))
}

/// Every field of `ManagedResourceSpec` (checked by a test against its serialisation).
const SPEC_FIELDS: &[&str] = &[
    "class",
    "secretRefs",
    "injectLabels",
    "forceOverwriteLabels",
    "forceOverwriteAnnotations",
    "keepObjects",
    "equivalences",
    "deletePersistentVolumeClaims",
];

/// Labels a secret garbage-collectable; a missing secret is fine.
async fn mark_garbage_collectable(secrets: &Api<Secret>, name: &str) -> Result<(), Error> {
    let patch =
        json!({ "metadata": { "labels": { GARBAGE_COLLECTABLE_REFERENCE_LABEL: "true" } } });
    ignore_not_found(
        secrets
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await,
    )
}

fn ignore_not_found<T>(result: Result<T, kube::Error>) -> Result<(), Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `Delete`: the referenced secrets first, then the ManagedResource; missing objects are fine.
/// Reads the ManagedResource from the API server ([`ManagedResources::delete`] reads through the
/// process's cache).
///
/// Returns whether the ManagedResource is gone: `false` while finalizers (the resource manager's)
/// hold it, so that only then callers need to wait for it.
///
/// # Errors
/// API errors other than NotFound.
pub async fn delete(client: &Client, namespace: &str, name: &str) -> Result<bool, Error> {
    ManagedResources::new(client.clone(), None)
        .delete(namespace, name)
        .await
}

/// `SetKeepObjects(true)` then `Delete`, as a migrate does: the shoot keeps the objects for the
/// ManagedResource the destination seed creates.
///
/// # Guarantees
/// No read: the patch answers with the ManagedResource, whose `secretRefs` are then deleted. The
/// requests are Go's sequence without its cached read. Returns whether the ManagedResource is
/// gone, as [`delete`] does; a missing one is gone.
///
/// # Errors
/// API errors other than NotFound.
pub async fn delete_keeping_objects(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<bool, Error> {
    match keep_objects(client, namespace, name, true).await {
        Ok(mr) => delete_with_secrets(client, namespace, &mr).await,
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// ManagedResource reads through the process's cache where it holds the ManagedResource
/// ([`SeedCache::with_managed_resources`]), as Go's cached client reads them, and from the API
/// server otherwise. [`Context::managed_resources`](crate::Context::managed_resources) and the
/// health checks' context hand one out.
#[derive(Clone)]
pub struct ManagedResources {
    client: Client,
    cache: Option<SeedCache>,
}

impl ManagedResources {
    /// Reads through `cache` where it holds the ManagedResource; `None` reads the API server.
    pub fn new(client: Client, cache: Option<SeedCache>) -> Self {
        Self { client, cache }
    }

    /// The ManagedResource `namespace/name`, or `None` if there is none.
    ///
    /// # Guarantees
    /// One GET at most, and none when the cache holds it: a copy without annotations and labels,
    /// which can lag by the latest events, as Go's. A miss is confirmed with the API server, so a
    /// ManagedResource created since the cache's last event, or of another origin, is found.
    ///
    /// # Errors
    /// API errors other than NotFound.
    pub async fn get(&self, namespace: &str, name: &str) -> Result<Option<ManagedResource>, Error> {
        if let Some(cache) = &self.cache
            && let Some(cached) = cache.managed_resource(namespace, name).await
        {
            return Ok(Some(ManagedResource::clone(&cached)));
        }
        let mrs: Api<ManagedResource> = Api::namespaced(self.client.clone(), namespace);
        Ok(mrs.get_opt(name).await?)
    }

    /// `Delete` ([`delete`]), with the ManagedResource's `secretRefs` read through the cache.
    ///
    /// # Errors
    /// API errors other than NotFound.
    pub async fn delete(&self, namespace: &str, name: &str) -> Result<bool, Error> {
        match self.get(namespace, name).await? {
            Some(mr) => delete_with_secrets(&self.client, namespace, &mr).await,
            None => Ok(true),
        }
    }

    /// [`wait_until_healthy`], reading through the cache.
    ///
    /// # Errors
    /// As [`wait_until_healthy`].
    pub async fn wait_until_healthy(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let healthy =
            |mr: Option<&ManagedResource>| mr.is_some_and(|mr| unhealthy_reason(mr).is_none());
        let Err(last) = poll(self, namespace, name, timeout, healthy).await? else {
            return Ok(());
        };
        let reason = last
            .as_ref()
            .and_then(unhealthy_reason)
            .unwrap_or_else(|| format!("managed resource {namespace}/{name} not found"));
        Err(Error::msg(format!(
            "retry failed with context deadline exceeded, last error: {reason}"
        )))
    }

    /// [`wait_until_deleted`], reading through the cache: while the cache holds the
    /// ManagedResource the wait sends no request.
    ///
    /// # Errors
    /// As [`wait_until_deleted`].
    pub async fn wait_until_deleted(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let gone = |mr: Option<&ManagedResource>| mr.is_none();
        let Err(Some(mr)) = poll(self, namespace, name, timeout, gone).await? else {
            return Ok(());
        };
        let failed = mr.condition(RESOURCES_APPLIED).filter(|c| {
            c.status != ConditionStatus::True
                && matches!(c.reason.as_str(), "DeletionFailed" | "DeletionPending")
        });
        Err(match failed {
            Some(c) => {
                let error = Error::msg(format!(
                    "error while waiting for all resources to be deleted: resource {namespace}/{name} still exists:\n{}",
                    c.message
                ));
                if is_configuration_problem(&c.message) {
                    error.with_codes([ErrorCode::ConfigurationProblem])
                } else {
                    error
                }
            }
            None => Error::msg(format!("resource {namespace}/{name} still exists")),
        })
    }
}

/// Deletes the secrets `mr` references, then `mr`.
async fn delete_with_secrets(
    client: &Client,
    namespace: &str,
    mr: &ManagedResource,
) -> Result<bool, Error> {
    let mrs: Api<ManagedResource> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for secret in mr.spec.secret_refs.iter().flatten() {
        ignore_not_found(secrets.delete(&secret.name, &Default::default()).await)?;
    }
    match mrs.delete(&mr.name_any(), &Default::default()).await {
        // Servers answer with the object's last state, or with a Status once it is gone.
        Ok(Either::Left(last)) => Ok(last.finalizers().is_empty()),
        Ok(Either::Right(_)) => Ok(true),
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// `SetKeepObjects`: merge-patches `spec.keepObjects`; a missing ManagedResource is fine.
///
/// # Errors
/// API errors other than NotFound.
pub async fn set_keep_objects(
    client: &Client,
    namespace: &str,
    name: &str,
    keep: bool,
) -> Result<(), Error> {
    ignore_not_found(keep_objects(client, namespace, name, keep).await)
}

async fn keep_objects(
    client: &Client,
    namespace: &str,
    name: &str,
    keep: bool,
) -> Result<ManagedResource, kube::Error> {
    let mrs: Api<ManagedResource> = Api::namespaced(client.clone(), namespace);
    let patch = json!({ "spec": { "keepObjects": keep } });
    mrs.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
}

/// Why a ManagedResource is not healthy, or `None` if it is.
pub fn unhealthy_reason(mr: &ManagedResource) -> Option<String> {
    let observed = mr.status.as_ref().and_then(|s| s.observed_generation);
    if observed != mr.metadata.generation {
        return Some(format!(
            "observed generation of managed resource '{}/{}' outdated ({:?}/{:?})",
            mr.namespace().unwrap_or_default(),
            mr.name_any(),
            observed.unwrap_or(0),
            mr.metadata.generation.unwrap_or(0)
        ));
    }
    for condition in [
        RESOURCES_APPLIED,
        gardener_api::resources::RESOURCES_HEALTHY,
    ] {
        match mr.condition(condition) {
            None => {
                return Some(format!(
                    "condition {condition:?} of managed resource '{}/{}' is missing",
                    mr.namespace().unwrap_or_default(),
                    mr.name_any()
                ));
            }
            Some(c) if c.status != ConditionStatus::True => {
                return Some(format!(
                    "condition {condition:?} of managed resource '{}/{}' is {}: {}",
                    mr.namespace().unwrap_or_default(),
                    mr.name_any(),
                    c.status,
                    c.message
                ));
            }
            Some(_) => {}
        }
    }
    None
}

/// Whether a message reports an invalid object, which is the user's configuration problem.
pub fn is_configuration_problem(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower
        .find("error during apply of object")
        .is_some_and(|start| lower[start..].contains(" is invalid:"))
}

/// Reads the ManagedResource every [`WAIT_INTERVAL`] until `done` holds (`Ok`) or `timeout` passes
/// (`Err`); either way with the last state read (`None` = not found).
async fn poll(
    mrs: &ManagedResources,
    namespace: &str,
    name: &str,
    timeout: Duration,
    done: impl Fn(Option<&ManagedResource>) -> bool,
) -> Result<Result<Option<ManagedResource>, Option<ManagedResource>>, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let current = mrs.get(namespace, name).await?;
        if done(current.as_ref()) {
            return Ok(Ok(current));
        }
        if tokio::time::Instant::now() + WAIT_INTERVAL > deadline {
            return Ok(Err(current));
        }
        tokio::time::sleep(WAIT_INTERVAL).await;
    }
}

/// `WaitUntilHealthy`: polls until healthy (NotFound keeps waiting) or `timeout` passes.
///
/// # Errors
/// The last reason it was not healthy, once `timeout` has passed; API errors.
pub async fn wait_until_healthy(
    client: &Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), Error> {
    ManagedResources::new(client.clone(), None)
        .wait_until_healthy(namespace, name, timeout)
        .await
}

/// `WaitUntilDeleted`: polls until the ManagedResource is gone.
///
/// # Errors
/// On timeout, a deletion failure reported by the resource manager with its message, and with
/// `ERR_CONFIGURATION_PROBLEM` when an object was invalid; API errors.
pub async fn wait_until_deleted(
    client: &Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), Error> {
    ManagedResources::new(client.clone(), None)
        .wait_until_deleted(namespace, name, timeout)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_patch_nulls_every_spec_field_it_leaves_unset() {
        let full = ManagedResourceSpec {
            class: Some("seed".into()),
            secret_refs: Some(vec![]),
            inject_labels: Some(BTreeMap::new()),
            force_overwrite_labels: Some(true),
            force_overwrite_annotations: Some(true),
            keep_objects: Some(true),
            equivalences: Some(vec![]),
            delete_persistent_volume_claims: Some(true),
        };
        let Value::Object(all) = serde_json::to_value(&full).unwrap() else {
            panic!("a spec serialises to an object");
        };
        let mut names: Vec<&str> = all.keys().map(String::as_str).collect();
        let mut listed = SPEC_FIELDS.to_vec();
        names.sort_unstable();
        listed.sort_unstable();
        assert_eq!(names, listed);

        let spec = ManagedResourceSpec {
            keep_objects: Some(false),
            ..ManagedResourceSpec::default()
        };
        let reference = ("ref/secret-1".to_string(), "s".to_string());
        let patch = desired_patch(&BTreeMap::new(), &reference, &spec).unwrap();
        assert_eq!(patch["spec"]["keepObjects"], json!(false));
        assert_eq!(patch["spec"]["class"], Value::Null);
        assert_eq!(patch["spec"].as_object().unwrap().len(), SPEC_FIELDS.len());
        assert_eq!(
            patch["metadata"]["annotations"],
            json!({"ref/secret-1": "s"})
        );
    }

    #[test]
    fn checksum_hashes_values_in_key_order() {
        let data: BTreeMap<String, Vec<u8>> = [
            ("b".to_string(), b"2".to_vec()),
            ("a".to_string(), b"1".to_vec()),
        ]
        .into();
        let expected = sha256_hex(format!("{}{}", sha256_hex(b"1"), sha256_hex(b"2")).as_bytes());
        assert_eq!(data_checksum(&data), expected);
        assert!(secret_name("foo", &data).starts_with("managedresource-foo-"));
        assert_eq!(
            secret_name("foo", &data).len(),
            "managedresource-foo-".len() + 8
        );
        // Key names do not matter, values do.
        let renamed: BTreeMap<String, Vec<u8>> = [
            ("x".to_string(), b"1".to_vec()),
            ("y".to_string(), b"2".to_vec()),
        ]
        .into();
        assert_eq!(data_checksum(&renamed), data_checksum(&data));
    }

    #[test]
    fn configuration_problems_are_recognised() {
        assert!(is_configuration_problem(
            "Error during apply of object \"apps/v1/Deployment/x\" is invalid: spec: bad"
        ));
        assert!(!is_configuration_problem("connection refused"));
    }
}
