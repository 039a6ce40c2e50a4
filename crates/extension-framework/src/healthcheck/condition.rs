//! From check results to a condition: upstream's precedence, its exact messages, and Gardener's
//! condition builder. gardenlet copies these messages into the Shoot's conditions, so every string
//! matches `extensions/pkg/controller/healthcheck` to the letter.

use super::CheckResult;
use gardener_api::extensions::{Condition, ConditionStatus, ErrorCode};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::fmt::Write;

/// Reason of a successful condition.
pub const REASON_SUCCESSFUL: &str = "HealthCheckSuccessful";
/// Reason of a failed condition.
pub const REASON_UNSUCCESSFUL: &str = "HealthCheckUnsuccessful";
/// Reason of a progressing condition.
pub const REASON_PROGRESSING: &str = "HealthCheckProgressing";
/// Reason when checks could not run.
pub const REASON_CHECK_ERROR: &str = "ConditionCheckError";

/// The condition fields a set of check results produces (before the condition builder).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Status.
    pub status: ConditionStatus,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Codes.
    pub codes: Vec<ErrorCode>,
}

impl Verdict {
    /// Every check passed.
    pub fn successful() -> Self {
        Self::of(
            ConditionStatus::True,
            REASON_SUCCESSFUL,
            "All health checks successful",
        )
    }

    /// The shoot is hibernated: nothing to check.
    pub fn hibernated() -> Self {
        Self::of(
            ConditionStatus::True,
            REASON_SUCCESSFUL,
            "Shoot is hibernated",
        )
    }

    fn of(status: ConditionStatus, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            message: message.into(),
            codes: Vec::new(),
        }
    }
}

/// `check` or `checks` (Go's `getSingularOrPlural`: only counts above one are plural).
fn checks(count: usize) -> &'static str {
    if count > 1 { "checks" } else { "check" }
}

fn ensure_trailing_dot(detail: &str) -> String {
    if detail.ends_with('.') {
        detail.to_string()
    } else {
        format!("{detail}.")
    }
}

/// One section of the details: `"<prefix> check(s): "` when other kinds are present, then `"a. "`
/// for one entry or `"1) a. 2) b. "` for several.
fn section(out: &mut String, prefix: &str, entries: &[String], others_present: bool) {
    if entries.is_empty() {
        return;
    }
    if others_present {
        let _ = write!(out, "{prefix} {}: ", checks(entries.len()));
    }
    if let [only] = entries {
        let _ = write!(out, "{} ", ensure_trailing_dot(only));
        return;
    }
    for (i, entry) in entries.iter().enumerate() {
        let _ = write!(out, "{}) {} ", i + 1, ensure_trailing_dot(entry));
    }
}

/// The details of a condition with failing checks: errors, then failures, then progressing checks,
/// each section titled only when sections are mixed, trailing blank trimmed.
pub fn unsuccessful_details(
    errors: &[String],
    failed: &[String],
    progressing: &[String],
) -> String {
    let mut out = String::new();
    section(
        &mut out,
        "Unable to execute",
        errors,
        !failed.is_empty() || !progressing.is_empty(),
    );
    section(
        &mut out,
        "Failed",
        failed,
        !progressing.is_empty() || !errors.is_empty(),
    );
    section(
        &mut out,
        "Progressing",
        progressing,
        !failed.is_empty() || !errors.is_empty(),
    );
    out.strip_suffix(' ').map(str::to_string).unwrap_or(out)
}

/// Aggregates the results of one condition's checks (an `Err` is a check that could not run)
/// with upstream's precedence: any error ⇒ `Unknown`; any failure ⇒ `False`; only progressing ⇒
/// `Progressing` within the smallest threshold, else `False`; otherwise `True`.
pub fn aggregate(
    results: &[Result<CheckResult, String>],
    previous: Option<&Condition>,
    now: k8s_openapi::jiff::Timestamp,
) -> Verdict {
    let mut errors = Vec::new();
    let (mut failed, mut progressing) = (Vec::new(), Vec::new());
    let mut codes = Vec::new();
    let mut threshold = None;
    for result in results {
        match result {
            Err(e) => errors.push(e.clone()),
            Ok(r) if r.status == ConditionStatus::False => {
                failed.push(r.detail.clone());
                codes.extend(r.codes.iter().cloned());
            }
            Ok(r) if r.status == ConditionStatus::Progressing => {
                progressing.push(r.detail.clone());
                codes.extend(r.codes.iter().cloned());
                threshold = match (threshold, r.progressing_threshold) {
                    (Some(t), Some(n)) => Some(std::cmp::min(t, n)),
                    (t, n) => t.or(n),
                };
            }
            Ok(_) => {}
        }
    }
    if !errors.is_empty() {
        let details = unsuccessful_details(&errors, &failed, &progressing);
        return Verdict::of(
            ConditionStatus::Unknown,
            REASON_CHECK_ERROR,
            format!(
                "failed to execute {} health {}: {details}",
                errors.len(),
                checks(errors.len())
            ),
        );
    }
    if !failed.is_empty() {
        // Upstream counts no progressing checks in this result, so no "N failing and M
        // progressing" prefix appears and no threshold applies.
        let mut verdict = Verdict::of(
            ConditionStatus::False,
            REASON_UNSUCCESSFUL,
            unsuccessful_details(&[], &failed, &progressing),
        );
        verdict.codes = codes;
        return verdict;
    }
    if !progressing.is_empty() {
        let message = unsuccessful_details(&[], &[], &progressing);
        let within = threshold.is_some_and(|t| match previous {
            None => true,
            Some(p) if p.status == ConditionStatus::False => false,
            Some(p) if p.status == ConditionStatus::True => true,
            Some(p) => now.duration_since(p.last_transition_time.0).unsigned_abs() <= t,
        });
        let mut verdict = if within {
            Verdict::of(ConditionStatus::Progressing, REASON_PROGRESSING, message)
        } else {
            Verdict::of(ConditionStatus::False, REASON_UNSUCCESSFUL, message)
        };
        verdict.codes = codes;
        return verdict;
    }
    Verdict::successful()
}

/// Gardener's condition builder: `lastTransitionTime` moves only when the status changes,
/// `lastUpdateTime` when reason, message or codes change; an empty reason is `Unspecified`, an
/// empty message `No message given.`.
pub fn build_condition(
    type_: &str,
    previous: Option<&Condition>,
    verdict: Verdict,
    now: Time,
) -> Condition {
    let reason = if verdict.reason.is_empty() {
        "Unspecified".to_string()
    } else {
        verdict.reason
    };
    let message = if verdict.message.is_empty() {
        "No message given.".to_string()
    } else {
        verdict.message
    };
    let codes = (!verdict.codes.is_empty()).then_some(verdict.codes);
    let (transition, update) = match previous {
        None => (now.clone(), now),
        Some(p) => {
            let status_changed = p.status != verdict.status;
            let transition = if status_changed {
                now.clone()
            } else {
                p.last_transition_time.clone()
            };
            let changed =
                status_changed || p.reason != reason || p.message != message || p.codes != codes;
            (
                transition,
                if changed {
                    now
                } else {
                    p.last_update_time.clone()
                },
            )
        }
    };
    Condition {
        type_: type_.into(),
        status: verdict.status,
        last_transition_time: transition,
        last_update_time: update,
        reason,
        message,
        codes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// Upstream's `message_util_test.go` table, entry by entry.
    #[test]
    fn details_match_upstream_table() {
        type Row<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], &'a str);
        let table: &[Row] = &[
            (&[], &[], &[], ""),
            (&[], &["MyBad"], &[], "MyBad."),
            (&["fail"], &[], &[], "fail."),
            (&[], &[], &["fail again"], "fail again."),
            (
                &[],
                &["MyBad"],
                &["xyz"],
                "Failed check: MyBad. Progressing check: xyz.",
            ),
            (
                &[],
                &["MyBad", "MyBad2"],
                &["xyz", "xtc"],
                "Failed checks: 1) MyBad. 2) MyBad2. Progressing checks: 1) xyz. 2) xtc.",
            ),
            (
                &[],
                &["MyBad"],
                &["xyz", "abc"],
                "Failed check: MyBad. Progressing checks: 1) xyz. 2) abc.",
            ),
            (
                &["super bad"],
                &["MyBad"],
                &[],
                "Unable to execute check: super bad. Failed check: MyBad.",
            ),
            (
                &["super bad", "super bad2"],
                &["MyBad"],
                &[],
                "Unable to execute checks: 1) super bad. 2) super bad2. Failed check: MyBad.",
            ),
            (
                &["could not reach API"],
                &["deployment unhealthy"],
                &["scaling up"],
                "Unable to execute check: could not reach API. Failed check: deployment unhealthy. Progressing check: scaling up.",
            ),
            (&["error 1", "error 2"], &[], &[], "1) error 1. 2) error 2."),
            (
                &[],
                &[],
                &["progressing 1", "progressing 2"],
                "1) progressing 1. 2) progressing 2.",
            ),
            (
                &[],
                &["unhealthy 1", "unhealthy 2"],
                &[],
                "1) unhealthy 1. 2) unhealthy 2.",
            ),
            (&[], &["already has dot."], &[], "already has dot."),
        ];
        for (errors, failed, progressing, want) in table {
            assert_eq!(
                unsuccessful_details(&s(errors), &s(failed), &s(progressing)),
                *want
            );
        }
        assert_eq!(ensure_trailing_dot(""), ".");
        assert_eq!(ensure_trailing_dot("some detail "), "some detail .");
    }

    fn progressing(detail: &str, threshold: Option<u64>) -> CheckResult {
        CheckResult {
            status: ConditionStatus::Progressing,
            detail: detail.into(),
            codes: vec![],
            progressing_threshold: threshold.map(Duration::from_secs),
        }
    }

    #[test]
    fn condition_messages_match_upstream() {
        let now = k8s_openapi::jiff::Timestamp::now();
        let one_error = aggregate(&[Ok(CheckResult::healthy()), Err("x".into())], None, now);
        assert_eq!(one_error.status, ConditionStatus::Unknown);
        assert_eq!(one_error.message, "failed to execute 1 health check: x.");
        let mixed = aggregate(
            &[
                Err("a".into()),
                Err("b".into()),
                Ok(CheckResult::unhealthy("down")),
            ],
            None,
            now,
        );
        assert_eq!(
            mixed.message,
            "failed to execute 2 health checks: Unable to execute checks: 1) a. 2) b. Failed check: down."
        );
        assert_eq!(mixed.reason, REASON_CHECK_ERROR);
        let failing_and_progressing = aggregate(
            &[
                Ok(CheckResult::unhealthy("down")),
                Ok(progressing("rolling", Some(60))),
            ],
            None,
            now,
        );
        assert_eq!(failing_and_progressing.status, ConditionStatus::False);
        assert_eq!(
            failing_and_progressing.message, "Failed check: down. Progressing check: rolling.",
            "no count prefix"
        );
        assert_eq!(aggregate(&[], None, now), Verdict::successful());
    }

    #[test]
    fn progressing_threshold_follows_the_previous_condition() {
        let now = k8s_openapi::jiff::Timestamp::now();
        let rolling = [Ok(progressing("rolling", Some(60)))];
        assert_eq!(
            aggregate(&rolling, None, now).status,
            ConditionStatus::Progressing
        );
        let without = [Ok(progressing("rolling", None))];
        assert_eq!(
            aggregate(&without, None, now).status,
            ConditionStatus::False
        );
        let old = |status: ConditionStatus, age: i64| Condition {
            type_: "X".into(),
            status,
            last_transition_time: Time(now - k8s_openapi::jiff::SignedDuration::from_secs(age)),
            last_update_time: Time(now),
            reason: String::new(),
            message: String::new(),
            codes: None,
        };
        let status = |c: Condition| aggregate(&rolling, Some(&c), now).status;
        assert_eq!(
            status(old(ConditionStatus::True, 600)),
            ConditionStatus::Progressing
        );
        assert_eq!(
            status(old(ConditionStatus::False, 1)),
            ConditionStatus::False
        );
        assert_eq!(
            status(old(ConditionStatus::Progressing, 30)),
            ConditionStatus::Progressing
        );
        assert_eq!(
            status(old(ConditionStatus::Progressing, 120)),
            ConditionStatus::False
        );
    }
}
