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
    Context {
        message: String,
        source: BoxError,
    },
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

    /// `"<message>: <source>"`, keeping `source` as the typed cause (`fmt.Errorf("...: %w", err)`).
    pub fn context(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            kind: ErrorKind::Context {
                message: message.into(),
                source: source.into(),
            },
        }
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
            ErrorKind::Plain(_) | ErrorKind::Context { .. } => {}
            ErrorKind::WithCodes { source, codes } => {
                out.extend(codes.iter().cloned());
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
            ErrorKind::RequeueAfter { delay, cause: None } => {
                write!(f, "requeue in {}", crate::format::go_duration(*delay))
            }
            ErrorKind::RequeueAfter {
                delay,
                cause: Some(c),
            } => write!(
                f,
                "requeue in {} due to {c}",
                crate::format::go_duration(*delay)
            ),
            ErrorKind::Multiple(errors) => f.write_str(&crate::format::multierror(errors)),
            ErrorKind::Context { message, source } => write!(f, "{message}: {source}"),
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
            ErrorKind::Context { source, .. } => Some(source.as_ref()),
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

impl From<crate::image_vector::ImageVectorError> for Error {
    fn from(e: crate::image_vector::ImageVectorError) -> Self {
        Self::new(e)
    }
}

impl From<crate::registry::RegistryError> for Error {
    fn from(e: crate::registry::RegistryError) -> Self {
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
        assert_eq!(
            nested.status_cause().to_string(),
            "3 errors occurred:\n\t* a\n\t* plain\n\t* b\n\n"
        );
        assert_eq!(
            Error::multiple(vec![Error::msg("only")]).to_string(),
            "1 error occurred:\n\t* only\n\n"
        );
    }

    #[test]
    fn requeue_after_messages_match_upstream() {
        assert_eq!(
            Error::requeue_after(Duration::from_secs(30), None).to_string(),
            "requeue in 30s"
        );
        assert_eq!(
            Error::requeue_after(Duration::from_secs(90), Some(Error::msg("x"))).to_string(),
            "requeue in 1m30s due to x"
        );
        let io = std::io::Error::other("refused");
        let e = Error::context("failed to add finalizer", io);
        assert_eq!(e.to_string(), "failed to add finalizer: refused");
        assert!(
            std::error::Error::source(&e)
                .unwrap()
                .is::<std::io::Error>()
        );
        assert_eq!(upper_first("boom: bad"), "Boom: bad");
        assert_eq!(upper_first(""), "");
    }
}
