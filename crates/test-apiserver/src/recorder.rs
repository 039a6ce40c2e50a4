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
    /// Object name, if any (for a create, the name in its body).
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
    /// for non-resource URLs (discovery, `/version`), which RBAC governs separately. A create is
    /// authorized without a name (RBAC cannot restrict creates by `resourceNames`), although the
    /// log records the name from its body.
    pub fn rbac_attributes(&self) -> Option<[String; 4]> {
        (!self.resource.is_empty()).then(|| {
            let name = if self.verb == "create" {
                String::new()
            } else {
                self.name.clone()
            };
            [
                self.verb.clone(),
                self.group.clone(),
                self.full_resource(),
                name,
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

/// What a matching request gets instead of its normal answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// An error `Status` with this code (409, 429, 500, 503, ...), nothing stored.
    Status(u16),
    /// No answer at all, and nothing stored: the request hangs until the client gives up or the
    /// server stops (a peer that went away mid-request).
    Hang,
    /// The request is served and stored, then its answer is withheld: the client cannot tell
    /// whether its write happened (a process killed right after its write).
    HangAfterCommit,
}

/// Answers matching requests with a fault instead of serving them normally.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Verb to match (`None` = any).
    pub verb: Option<String>,
    /// Resource (plural, or `plural/status`) to match (`None` = any).
    pub resource: Option<String>,
    /// How many more requests to fault; the rule is dropped at 0.
    pub remaining: usize,
    /// Fault every `one_in`-th matching request (1 = every one).
    pub one_in: usize,
    /// What faulted requests get.
    pub action: FaultAction,
    seen: usize,
}

impl FaultRule {
    /// Fails the next `times` requests with verb `verb` on `resource` with `code`.
    pub fn new(verb: &str, resource: &str, times: usize, code: u16) -> Self {
        Self::matching(Some(verb), Some(resource), times, FaultAction::Status(code))
    }

    /// Fails every `one_in`-th request with verb `verb` on `resource` with `code`, for as long as
    /// the rule is installed: a steady share of failures rather than a burst.
    pub fn share(verb: &str, resource: &str, one_in: usize, code: u16) -> Self {
        Self {
            one_in: one_in.max(1),
            ..Self::matching(
                Some(verb),
                Some(resource),
                usize::MAX,
                FaultAction::Status(code),
            )
        }
    }

    /// Only the `n`-th request (counting from 1) with verb `verb` on `resource` gets `action`:
    /// e.g. the second status patch of a reconcile, after the first one recorded `Processing`.
    pub fn nth(verb: &str, resource: &str, n: usize, action: FaultAction) -> Self {
        Self {
            one_in: n.max(1),
            ..Self::matching(Some(verb), Some(resource), 1, action)
        }
    }

    /// Fails the next `times` requests of any kind with `code`: an overloaded or restarting
    /// server.
    pub fn burst(times: usize, code: u16) -> Self {
        Self::matching(None, None, times, FaultAction::Status(code))
    }

    /// The next request with verb `verb` on `resource` gets `action` (see [`FaultAction::Hang`]
    /// and [`FaultAction::HangAfterCommit`]).
    pub fn once(verb: &str, resource: &str, action: FaultAction) -> Self {
        Self::matching(Some(verb), Some(resource), 1, action)
    }

    fn matching(
        verb: Option<&str>,
        resource: Option<&str>,
        times: usize,
        action: FaultAction,
    ) -> Self {
        Self {
            verb: verb.map(Into::into),
            resource: resource.map(Into::into),
            remaining: times,
            one_in: 1,
            action,
            seen: 0,
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
    /// Counts the request against the first matching rule and returns its action when this
    /// request is one the rule faults.
    pub(crate) fn take(&mut self, verb: &str, resource: &str) -> Option<FaultAction> {
        let rule = self.rules.iter_mut().find(|r| r.matches(verb, resource))?;
        rule.seen += 1;
        if rule.seen % rule.one_in != 0 {
            return None;
        }
        rule.remaining -= 1;
        let action = rule.action;
        self.rules.retain(|r| r.remaining > 0);
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_faults_every_nth_matching_request_and_bursts_run_out() {
        let mut faults = Faults {
            rules: vec![
                FaultRule::share("patch", "extensions/status", 3, 409),
                FaultRule::burst(2, 503),
            ],
            ..Faults::default()
        };
        let statuses: Vec<_> = (0..6)
            .map(|_| faults.take("patch", "extensions/status"))
            .collect();
        let conflict = Some(FaultAction::Status(409));
        assert_eq!(
            statuses,
            [None, None, conflict, None, None, conflict],
            "the share takes the first match; requests it lets through are not passed on"
        );
        assert_eq!(
            faults.take("get", "secrets"),
            Some(FaultAction::Status(503))
        );
        assert_eq!(
            faults.take("get", "secrets"),
            Some(FaultAction::Status(503))
        );
        assert_eq!(faults.take("get", "secrets"), None, "the burst is spent");
        assert_eq!(faults.rules.len(), 1);
        faults.rules = vec![FaultRule::nth("patch", "x", 2, FaultAction::Hang)];
        assert_eq!(faults.take("patch", "x"), None);
        assert_eq!(faults.take("patch", "x"), Some(FaultAction::Hang));
        assert_eq!(faults.take("patch", "x"), None, "only the n-th");
    }
}
