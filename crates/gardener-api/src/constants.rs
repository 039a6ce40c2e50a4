//! Exact strings of the Gardener extension contract (annotations, labels, finalizers).

/// Annotation gardenlet sets to trigger an operation on an extension object.
pub const OPERATION_ANNOTATION: &str = "gardener.cloud/operation";
/// Operation annotation value: reconcile now (removed by the extension before it starts).
pub const OPERATION_RECONCILE: &str = "reconcile";
/// Operation annotation value: migrate (removed by the extension after success).
pub const OPERATION_MIGRATE: &str = "migrate";
/// Operation annotation value: restore (removed by the extension after success).
pub const OPERATION_RESTORE: &str = "restore";
/// Operation annotation value: gardenlet is still writing `status.state`; do nothing.
pub const OPERATION_WAIT_FOR_STATE: &str = "wait-for-state";
/// Timestamp annotation gardenlet sets with every operation (RFC3339Nano, UTC).
pub const TIMESTAMP_ANNOTATION: &str = "gardener.cloud/timestamp";
/// Annotation confirming deletion of an extension object.
pub const DELETION_CONFIRMATION_ANNOTATION: &str = "confirmation.gardener.cloud/deletion";
/// Shoot annotation requesting force deletion.
pub const FORCE_DELETION_ANNOTATION: &str = "confirmation.gardener.cloud/force-deletion";
/// Cluster annotation naming the generic token kubeconfig Secret.
pub const GENERIC_TOKEN_KUBECONFIG_ANNOTATION: &str =
    "generic-token-kubeconfig.secret.gardener.cloud/name";
/// Default name of the generic token kubeconfig Secret.
pub const GENERIC_TOKEN_KUBECONFIG_DEFAULT: &str = "generic-token-kubeconfig";

/// Label marking shoot control-plane namespaces (`gardener.cloud/role=shoot`).
pub const ROLE_LABEL: &str = "gardener.cloud/role";
/// Value of [`ROLE_LABEL`] on shoot namespaces.
pub const ROLE_SHOOT: &str = "shoot";
/// Prefix of all extension finalizers.
pub const FINALIZER_PREFIX: &str = "extensions.gardener.cloud/";
/// Finalizer of the ContainerRuntime reconciler.
pub const FINALIZER_CONTAINER_RUNTIME: &str = "extensions.gardener.cloud/containerruntime";
/// Finalizer of the OperatingSystemConfig reconciler (plural, as upstream).
pub const FINALIZER_OPERATING_SYSTEM_CONFIG: &str =
    "extensions.gardener.cloud/operatingsystemconfigs";
/// Label on OSCs naming the worker pool.
pub const WORKER_POOL_LABEL: &str = "worker.gardener.cloud/pool";

/// ManagedResource origin label key.
pub const MR_ORIGIN_LABEL: &str = "origin";
/// Label on secrets the resource manager may garbage-collect once unreferenced.
pub const GARBAGE_COLLECTABLE_REFERENCE_LABEL: &str =
    "resources.gardener.cloud/garbage-collectable-reference";
/// Prefix of the reference annotations on ManagedResources.
pub const REFERENCE_ANNOTATION_PREFIX: &str = "reference.resources.gardener.cloud/";
/// Label injected into all shoot objects of extension ManagedResources.
pub const SHOOT_NO_CLEANUP_LABEL: &str = "shoot.gardener.cloud/no-cleanup";

/// Label key written by the CRD deletion protection.
pub const DELETION_PROTECTED_LABEL: &str = "gardener.cloud/deletion-protected";
/// ControllerRegistration annotation propagated to the extension namespace.
pub const POD_SECURITY_ENFORCE_ANNOTATION: &str = "security.gardener.cloud/pod-security-enforce";
/// Prefix gardenlet gives the copies of a shoot's `spec.resources[]` in the shoot namespace
/// (`v1beta1constants.ReferencedResourcesPrefix`).
pub const REFERENCED_RESOURCES_PREFIX: &str = "ref-";
