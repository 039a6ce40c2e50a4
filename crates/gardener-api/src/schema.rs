//! Schema helpers for fields the API server must store without pruning.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An arbitrary JSON object whose unknown fields the API server keeps (`providerConfig`, `state`, ...).
pub(crate) fn preserve_unknown_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// Any JSON value (object, array, scalar) kept as is, e.g. containerd plugin values.
pub(crate) fn preserve_unknown_any(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// The CEL rule Gardener's CRDs put on immutable fields.
fn immutable_rule() -> serde_json::Value {
    serde_json::json!([{ "message": "Value is immutable", "rule": "self == oldSelf" }])
}

/// A string that cannot change once set (`spec.class`).
pub(crate) fn immutable_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "x-kubernetes-validations": immutable_rule() })
}

/// The OSC's `criConfig.name`: the one enum in Gardener's extension CRDs, and immutable.
pub(crate) fn cri_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": ["containerd"], "x-kubernetes-validations": immutable_rule() })
}
