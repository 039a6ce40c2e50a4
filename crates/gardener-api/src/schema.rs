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
