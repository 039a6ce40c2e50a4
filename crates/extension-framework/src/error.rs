//! Errors actuators return, with Gardener error codes and requeue semantics.

use gardener_api::extensions::ErrorCode;
use std::time::Duration;

/// A boxed error from anywhere (kube, serde, an actuator's own type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error an [`Actuator`](crate::Actuator) returns.
///
/// * Plain errors are retried with per-key exponential backoff.
/// * [`Error::with_codes`] attaches Gardener error codes; they end up in `status.lastError.codes`.
/// * [`Error::requeue_after`] records an Error status and retries after the delay, without backoff
///   and without counting as a reconcile error (controller-runtime's `RequeueAfterError`).
/// * [`Error::multiple`] aggregates several errors; the codes of all members are reported.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Debug)]
enum ErrorKind {
    Plain(BoxError),
    WithCodes {
        source: Box<Error>,
        codes: Vec<ErrorCode>,
    },
    RequeueAfter {
        delay: Duration,
        cause: Option<Box<Error>>,
    },
    Multiple(Vec<Error>),
}

impl Error {
    /// Wraps any error.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self {
            kind: ErrorKind::Plain(source.into()),
        }
    }

    /// An error from a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new(message.into())
    }

    /// Attaches Gardener error codes (`NewErrorWithCodes`). Errors with codes are retriable.
    pub fn with_codes(self, codes: impl IntoIterator<Item = ErrorCode>) -> Self {
        Self {
            kind: ErrorKind::WithCodes {
                source: Box::new(self),
                codes: codes.into_iter().collect(),
            },
        }
    }

    /// Ask to be retried after `delay` (`RequeueAfterError`); `cause` is what the status shows.
    pub fn requeue_after(delay: Duration, cause: Option<Error>) -> Self {
        Self {
            kind: ErrorKind::RequeueAfter {
                delay,
                cause: cause.map(Box::new),
            },
        }
    }

    /// Several errors at once (a multierror).
    pub fn multiple(errors: Vec<Error>) -> Self {
        Self {
            kind: ErrorKind::Multiple(errors),
        }
    }

    /// The codes of this error and everything it wraps, in order (duplicates possible, as upstream).
    pub fn codes(&self) -> Vec<ErrorCode> {
        let mut out = Vec::new();
        self.collect_codes(&mut out);
        out
    }

    fn collect_codes(&self, out: &mut Vec<ErrorCode>) {
        match &self.kind {
            ErrorKind::Plain(_) => {}
            ErrorKind::WithCodes { source, codes } => {
                out.extend(codes.iter().copied());
                source.collect_codes(out);
            }
            ErrorKind::RequeueAfter { cause, .. } => {
                if let Some(c) = cause {
                    c.collect_codes(out);
                }
            }
            ErrorKind::Multiple(errors) => errors.iter().for_each(|e| e.collect_codes(out)),
        }
    }

    /// The requested delay, if this is a requeue-after error.
    pub fn requeue_delay(&self) -> Option<Duration> {
        match &self.kind {
            ErrorKind::RequeueAfter { delay, .. } => Some(*delay),
            _ => None,
        }
    }

    /// The error whose message the status shows (the cause of a requeue-after error).
    pub fn status_cause(&self) -> &Error {
        match &self.kind {
            ErrorKind::RequeueAfter { cause: Some(c), .. } => c,
            _ => self,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ErrorKind::Plain(e) => write!(f, "{e}"),
            ErrorKind::WithCodes { source, .. } => write!(f, "{source}"),
            ErrorKind::RequeueAfter { delay, cause: None } => write!(f, "requeue in {delay:?}"),
            ErrorKind::RequeueAfter {
                delay,
                cause: Some(c),
            } => write!(f, "requeue in {delay:?} due to {c}"),
            ErrorKind::Multiple(errors) => {
                let parts: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
                write!(
                    f,
                    "{} errors occurred:\n\t{}",
                    errors.len(),
                    parts.join("\n\t")
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Plain(e) => Some(e.as_ref()),
            ErrorKind::WithCodes { source, .. } => Some(source.as_ref()),
            ErrorKind::RequeueAfter { cause, .. } => cause.as_deref().map(|c| c as _),
            ErrorKind::Multiple(_) => None,
        }
    }
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Self::new(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::new(e)
    }
}

impl From<String> for Error {
    fn from(e: String) -> Self {
        Self::msg(e)
    }
}

impl From<&str> for Error {
    fn from(e: &str) -> Self {
        Self::msg(e)
    }
}

/// Upper-cases the first character (`gardener`'s `FormatLastErrDescription` convention).
pub fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_collected_from_chains_and_multierrors() {
        let a = Error::msg("a").with_codes([ErrorCode::InfraUnauthorized]);
        let b = Error::msg("b").with_codes([ErrorCode::ConfigurationProblem]);
        let multi = Error::multiple(vec![a, Error::msg("plain"), b]);
        assert_eq!(
            multi.codes(),
            vec![
                ErrorCode::InfraUnauthorized,
                ErrorCode::ConfigurationProblem
            ]
        );
        let nested = Error::requeue_after(Duration::from_secs(3), Some(multi));
        assert_eq!(nested.codes().len(), 2);
        assert_eq!(nested.requeue_delay(), Some(Duration::from_secs(3)));
        assert!(
            nested
                .status_cause()
                .to_string()
                .starts_with("3 errors occurred")
        );
    }

    #[test]
    fn requeue_after_messages_match_upstream() {
        assert_eq!(
            Error::requeue_after(Duration::from_secs(30), None).to_string(),
            "requeue in 30s"
        );
        assert_eq!(
            Error::requeue_after(Duration::from_secs(30), Some(Error::msg("x"))).to_string(),
            "requeue in 30s due to x"
        );
        assert_eq!(upper_first("boom: bad"), "Boom: bad");
        assert_eq!(upper_first(""), "");
    }
}
