//! API errors rendered as `meta/v1` `Status` objects with the exact reasons kube-rs matches on.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

/// An error answered as a Kubernetes `Status`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `details` (name, group, kind, causes).
    pub details: Option<Value>,
}

/// Identifies the object an error is about (`Status.details`).
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// API group (empty for core).
    pub group: &'a str,
    /// Resource plural.
    pub plural: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// Object name.
    pub name: &'a str,
}

impl Target<'_> {
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn details(&self) -> Value {
        json!({ "name": self.name, "group": self.group, "kind": self.plural })
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404 `NotFound` for an object.
    pub fn not_found(t: Target<'_>) -> Self {
        Self {
            details: Some(t.details()),
            ..Self::new(
                404,
                "NotFound",
                format!("{} \"{}\" not found", t.qualified(), t.name),
            )
        }
    }

    /// 404 `NotFound` for a URL that names no resource.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409 `AlreadyExists`.
    pub fn already_exists(t: Target<'_>) -> Self {
        Self {
            details: Some(t.details()),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} \"{}\" already exists", t.qualified(), t.name),
            )
        }
    }

    /// 409 `Conflict` for a stale resourceVersion.
    pub fn conflict(t: Target<'_>) -> Self {
        Self {
            details: Some(t.details()),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                    t.qualified(),
                    t.name
                ),
            )
        }
    }

    /// 409 `Conflict` for server-side apply field ownership.
    pub fn apply_conflict(t: Target<'_>, conflicts: &[(String, String)]) -> Self {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(manager, field)| {
                json!({ "type": "FieldManagerConflict", "message": format!("conflict with \"{manager}\""), "field": field })
            })
            .collect();
        let list = conflicts
            .iter()
            .map(|(m, f)| format!("- {f} (owned by \"{m}\")"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut details = t.details();
        details["causes"] = Value::Array(causes);
        Self {
            details: Some(details),
            ..Self::new(
                409,
                "Conflict",
                format!("Apply failed with {} conflict(s):\n{list}", conflicts.len()),
            )
        }
    }

    /// 422 `Invalid` with field causes.
    pub fn invalid(t: Target<'_>, kind: &str, causes: Vec<(String, String)>) -> Self {
        let message = causes
            .iter()
            .map(|(field, msg)| format!("{field}: {msg}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut details = json!({ "name": t.name, "group": t.group, "kind": kind });
        details["causes"] = causes
            .iter()
            .map(|(field, msg)| json!({ "reason": "FieldValueInvalid", "message": msg, "field": field }))
            .collect();
        Self {
            details: Some(details),
            ..Self::new(
                422,
                "Invalid",
                format!("{kind}.{} \"{}\" is invalid: {message}", t.group, t.name),
            )
        }
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 405 `MethodNotAllowed`.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 410 `Expired` (resourceVersion compacted).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 415 `UnsupportedMediaType`.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
        )
    }

    /// 403 `Forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 401 `Unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// An injected fault with the given code.
    pub fn injected(code: u16) -> Self {
        let reason = match code {
            409 => "Conflict",
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            404 => "NotFound",
            _ => "InternalError",
        };
        Self::new(code, reason, format!("injected fault ({code} {reason})"))
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (code, axum::Json(self.to_status())).into_response();
        if self.code == 429 {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// Result of an API operation.
pub type ApiResult<T> = Result<T, ApiError>;
