//! Fields and enums shared by every extension kind (`DefaultSpec`, `DefaultStatus`).

use crate::wire::{wire_enum, zero_time};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The part of `.spec` every extension kind inlines.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DefaultSpec {
    /// Selects the responsible controller (immutable).
    #[serde(rename = "type")]
    #[schemars(extend("title" = "x-required"))]
    pub type_: String,
    /// `garden`, `seed` or `shoot`; unset means `shoot`. Immutable (CEL `self == oldSelf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::immutable_string")]
    pub class: Option<ExtensionClass>,
    /// Opaque, extension-specific configuration, usually with its own `apiVersion`/`kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub provider_config: Option<Value>,
}

impl DefaultSpec {
    /// A spec of the given type with no class and no providerConfig.
    pub fn of_type(type_: impl Into<String>) -> Self {
        Self {
            type_: type_.into(),
            ..Self::default()
        }
    }

    /// The class, defaulting to [`ExtensionClass::Shoot`] (`GetExtensionClassOrDefault`).
    pub fn class_or_default(&self) -> ExtensionClass {
        self.class.clone().unwrap_or(ExtensionClass::Shoot)
    }
}

/// The part of `.status` every extension kind inlines.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DefaultStatus {
    /// Provider-specific status, opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub provider_status: Option<Value>,
    /// Conditions written by health checks and secondary controllers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The error of the last operation, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// The last operation performed on the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<LastOperation>,
    /// The generation the status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Controller-private state, persisted by gardenlet into the ShootState for migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub state: Option<Value>,
    /// Objects in the same namespace that `state` refers to; gardenlet migrates them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<NamedResourceReference>>,
}

/// The last operation performed on an extension object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastOperation {
    /// Human-readable description.
    #[serde(default)]
    #[schemars(extend("title" = "x-required"))]
    pub description: String,
    /// When the operation was last updated (second precision, UTC).
    #[serde(default = "zero_time", with = "crate::wire::time")]
    #[schemars(with = "Time")]
    #[schemars(extend("title" = "x-required"))]
    pub last_update_time: Time,
    /// Progress in percent (the generic reconcilers write 1, 50 or 100).
    #[serde(default)]
    #[schemars(extend("title" = "x-required"))]
    pub progress: i32,
    /// State of the operation.
    #[serde(default)]
    #[schemars(extend("title" = "x-required"))]
    pub state: LastOperationState,
    /// Type of the operation.
    #[serde(default, rename = "type")]
    #[schemars(extend("title" = "x-required"))]
    pub type_: LastOperationType,
}

/// The error of the last operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    /// Human-readable description (first letter upper-cased by the framework).
    #[serde(default)]
    #[schemars(extend("title" = "x-required"))]
    pub description: String,
    /// ID of the task that failed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "taskID")]
    pub task_id: Option<String>,
    /// Well-known error codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<ErrorCode>>,
    /// When the error was last observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
}

/// A Gardener condition (richer than `metav1.Condition`: `lastUpdateTime` and `codes`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `SystemComponentsHealthy`.
    #[serde(default, rename = "type")]
    #[schemars(extend("title" = "x-required"))]
    pub type_: String,
    /// `True`, `False`, `Unknown` or `Progressing`.
    #[serde(default)]
    #[schemars(extend("title" = "x-required"))]
    pub status: ConditionStatus,
    /// Last time the status changed.
    #[serde(default = "zero_time", with = "crate::wire::time")]
    #[schemars(with = "Time")]
    #[schemars(extend("title" = "x-required"))]
    pub last_transition_time: Time,
    /// Last time the condition was updated.
    #[serde(default = "zero_time", with = "crate::wire::time")]
    #[schemars(with = "Time")]
    #[schemars(extend("title" = "x-required"))]
    pub last_update_time: Time,
    /// Machine-readable reason.
    #[serde(default)]
    #[schemars(extend("title" = "x-required"))]
    pub reason: String,
    /// Human-readable message.
    #[serde(default)]
    #[schemars(extend("title" = "x-required"))]
    pub message: String,
    /// Well-known error codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<ErrorCode>>,
}

/// A named reference to an object in the same namespace (`status.resources[]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct NamedResourceReference {
    /// Name of the reference, as used in `state`.
    #[schemars(extend("title" = "x-required"))]
    pub name: String,
    /// The referenced object.
    #[schemars(extend("title" = "x-required"))]
    pub resource_ref: CrossVersionObjectReference,
}

/// Reference to an object by kind and name (`autoscaling/v1` shape).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CrossVersionObjectReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    #[schemars(extend("title" = "x-required"))]
    pub kind: String,
    /// Name of the referent.
    #[schemars(extend("title" = "x-required"))]
    pub name: String,
}

wire_enum!(
    /// Type of an operation (`lastOperation.type`).
    LastOperationType {
        /// First reconcile of a new object.
        Create = "Create",
        /// Any later reconcile.
        Reconcile = "Reconcile",
        /// Deletion.
        Delete = "Delete",
        /// Control-plane migration away from this seed.
        Migrate = "Migrate",
        /// Restore on the destination seed.
        Restore = "Restore",
    }
);

wire_enum!(
    /// State of an operation (`lastOperation.state`).
    LastOperationState {
        /// Running.
        Processing = "Processing",
        /// Finished successfully.
        Succeeded = "Succeeded",
        /// Failed, will be retried.
        Error = "Error",
        /// Failed, will not be retried (only interpreted on Shoots).
        Failed = "Failed",
        /// Waiting.
        Pending = "Pending",
        /// Aborted.
        Aborted = "Aborted",
    }
);

wire_enum!(
    /// Status of a condition.
    ConditionStatus {
        /// Healthy.
        True = "True",
        /// Unhealthy.
        False = "False",
        /// Not known.
        Unknown = "Unknown",
        /// Moving towards healthy.
        Progressing = "Progressing",
    }
);

wire_enum!(
    /// Well-known error codes (`lastError.codes`).
    ErrorCode {
        /// Credentials are wrong.
        InfraUnauthenticated = "ERR_INFRA_UNAUTHENTICATED",
        /// Credentials lack permissions.
        InfraUnauthorized = "ERR_INFRA_UNAUTHORIZED",
        /// A quota is exhausted.
        InfraQuotaExceeded = "ERR_INFRA_QUOTA_EXCEEDED",
        /// A rate limit was hit.
        InfraRateLimitsExceeded = "ERR_INFRA_RATE_LIMITS_EXCEEDED",
        /// A dependency of the infrastructure is broken.
        InfraDependencies = "ERR_INFRA_DEPENDENCIES",
        /// A dependency is broken, retrying may help.
        RetryableInfraDependencies = "ERR_RETRYABLE_INFRA_DEPENDENCIES",
        /// Resources are depleted in the region.
        InfraResourcesDepleted = "ERR_INFRA_RESOURCES_DEPLETED",
        /// Resources in the cluster block cleanup.
        CleanupClusterResources = "ERR_CLEANUP_CLUSTER_RESOURCES",
        /// The user's configuration is wrong.
        ConfigurationProblem = "ERR_CONFIGURATION_PROBLEM",
        /// The configuration is wrong, retrying may help.
        RetryableConfigurationProblem = "ERR_RETRYABLE_CONFIGURATION_PROBLEM",
        /// A webhook in the shoot blocks the operation.
        ProblematicWebhook = "ERR_PROBLEMATIC_WEBHOOK",
    }
);

impl ErrorCode {
    /// Whether gardenlet stops retrying a shoot operation that failed with this code
    /// (`HasNonRetryableErrorCode`).
    pub fn is_non_retryable(&self) -> bool {
        matches!(
            self,
            Self::InfraUnauthenticated
                | Self::InfraUnauthorized
                | Self::InfraDependencies
                | Self::InfraQuotaExceeded
                | Self::InfraRateLimitsExceeded
                | Self::ConfigurationProblem
                | Self::ProblematicWebhook
        )
    }
}

wire_enum!(
    /// Which cluster an extension object targets (`spec.class`).
    ExtensionClass {
        /// The garden runtime cluster.
        Garden = "garden",
        /// The seed itself.
        Seed = "seed",
        /// A shoot (the default).
        Shoot = "shoot",
    }
);

/// Access to the inlined default spec and status of any extension kind.
pub trait ExtensionObject: kube::Resource<DynamicType = ()> {
    /// The inlined `DefaultSpec`.
    fn default_spec(&self) -> &DefaultSpec;
    /// The inlined `DefaultStatus`, if the object has a status.
    fn default_status(&self) -> Option<&DefaultStatus>;
    /// The extension purpose (only OperatingSystemConfig has one).
    fn purpose(&self) -> Option<&str> {
        None
    }
}

/// Implements [`ExtensionObject`] for a kind whose spec has `default_spec` and whose status has
/// `default_status` (flattened).
macro_rules! impl_extension_object {
    ($kind:ty) => {
        impl $crate::extensions::ExtensionObject for $kind {
            fn default_spec(&self) -> &$crate::extensions::DefaultSpec {
                &self.spec.default_spec
            }
            fn default_status(&self) -> Option<&$crate::extensions::DefaultStatus> {
                self.status.as_ref().map(|s| &s.default_status)
            }
        }
    };
}
pub(crate) use impl_extension_object;
