//! The request log and fault injection.

use std::time::Duration;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    /// When it arrived (RFC 3339).
    pub time: String,
    /// Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`, or `discovery`/`other` for non-resource URLs.
    pub verb: String,
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// API group (empty for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource plural.
    pub resource: String,
    /// Subresource (`status`), if any.
    pub subresource: String,
    /// Namespace, if any.
    pub namespace: String,
    /// Object name, if any.
    pub name: String,
    /// Request content type.
    pub content_type: String,
    /// `fieldManager` query parameter.
    pub field_manager: String,
    /// User agent.
    pub user_agent: String,
    /// Response status code.
    pub code: u16,
}

impl RequestRecord {
    /// Whether the request changed state (create, update, patch, delete, deletecollection).
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }

    /// What RBAC checks for this request: `[verb, group, resource[/subresource], name]`; `None`
    /// for non-resource URLs (discovery, `/version`), which RBAC governs separately.
    pub fn rbac_attributes(&self) -> Option<[String; 4]> {
        (!self.resource.is_empty()).then(|| {
            [
                self.verb.clone(),
                self.group.clone(),
                self.full_resource(),
                self.name.clone(),
            ]
        })
    }

    /// `resource` or `resource/subresource`.
    pub fn full_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// Answers matching requests with an error status instead of serving them.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Verb to match (`None` = any).
    pub verb: Option<String>,
    /// Resource (plural, or `plural/status`) to match (`None` = any).
    pub resource: Option<String>,
    /// How many requests to fail.
    pub remaining: usize,
    /// Status code to answer (409, 429, 500, 503, ...).
    pub code: u16,
}

impl FaultRule {
    /// Fails the next `times` requests with verb `verb` on `resource` with `code`.
    pub fn new(verb: &str, resource: &str, times: usize, code: u16) -> Self {
        Self {
            verb: Some(verb.into()),
            resource: Some(resource.into()),
            remaining: times,
            code,
        }
    }

    pub(crate) fn matches(&self, verb: &str, resource: &str) -> bool {
        self.remaining > 0
            && self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
    }
}

/// Active faults.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Rules, first match wins.
    pub rules: Vec<FaultRule>,
    /// Delay added before every resource request.
    pub latency: Duration,
}

impl Faults {
    /// Consumes one use of the first matching rule and returns its status code.
    pub(crate) fn take(&mut self, verb: &str, resource: &str) -> Option<u16> {
        let rule = self.rules.iter_mut().find(|r| r.matches(verb, resource))?;
        rule.remaining -= 1;
        let code = rule.code;
        self.rules.retain(|r| r.remaining > 0);
        Some(code)
    }
}
