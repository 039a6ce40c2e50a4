//! Which operation an object asks for (`ComputeOperationType`) and whether to skip it.

use gardener_api::constants::{OPERATION_ANNOTATION, OPERATION_MIGRATE, OPERATION_RESTORE};
use gardener_api::extensions::{LastOperation, LastOperationState, LastOperationType};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The operation annotation's value, if any.
pub fn operation_annotation(meta: &ObjectMeta) -> Option<&str> {
    meta.annotations
        .as_ref()?
        .get(OPERATION_ANNOTATION)
        .map(String::as_str)
}

/// An operation the framework performs. Unlike [`LastOperationType`], which also reads values a
/// newer gardenlet may write, this is exactly the set the generic reconcilers record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// First reconcile of a new object.
    Create,
    /// Any later reconcile.
    Reconcile,
    /// Deletion (or force deletion).
    Delete,
    /// Migration away from this seed.
    Migrate,
    /// Restore after migration.
    Restore,
}

impl Operation {
    /// The `lastOperation.type` this operation is recorded as.
    pub fn wire(self) -> LastOperationType {
        match self {
            Self::Create => LastOperationType::Create,
            Self::Reconcile => LastOperationType::Reconcile,
            Self::Delete => LastOperationType::Delete,
            Self::Migrate => LastOperationType::Migrate,
            Self::Restore => LastOperationType::Restore,
        }
    }
}

fn unfinished(last: &LastOperation, type_: &LastOperationType) -> bool {
    last.type_ == *type_ && last.state != LastOperationState::Succeeded
}

/// The operation to perform, in the precedence order of gardener-contract §4.2.
pub fn operation_type(meta: &ObjectMeta, last: Option<&LastOperation>) -> Operation {
    match operation_annotation(meta) {
        Some(OPERATION_MIGRATE) => return Operation::Migrate,
        _ if meta.deletion_timestamp.is_some() => return Operation::Delete,
        Some(OPERATION_RESTORE) => return Operation::Restore,
        _ => {}
    }
    match last {
        None => Operation::Create,
        Some(op) if unfinished(op, &LastOperationType::Create) => Operation::Create,
        Some(op) if unfinished(op, &LastOperationType::Migrate) => Operation::Migrate,
        Some(op) if unfinished(op, &LastOperationType::Restore) => Operation::Restore,
        Some(_) => Operation::Reconcile,
    }
}

/// Objects that finished migrating are left alone unless migrate or restore is asked for.
pub fn should_skip(op: Operation, last: Option<&LastOperation>) -> bool {
    !matches!(op, Operation::Migrate | Operation::Restore)
        && last.is_some_and(|l| {
            l.type_ == LastOperationType::Migrate && l.state == LastOperationState::Succeeded
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn meta(annotation: Option<&str>, deleting: bool) -> ObjectMeta {
        ObjectMeta {
            annotations: annotation
                .map(|a| [(OPERATION_ANNOTATION.to_string(), a.to_string())].into()),
            deletion_timestamp: deleting.then(|| Time(k8s_openapi::jiff::Timestamp::now())),
            ..ObjectMeta::default()
        }
    }

    fn last(type_: LastOperationType, state: LastOperationState) -> LastOperation {
        LastOperation {
            description: String::new(),
            last_update_time: Time(k8s_openapi::jiff::Timestamp::now()),
            progress: 0,
            state,
            type_,
        }
    }

    #[test]
    fn precedence_follows_compute_operation_type() {
        use LastOperationState::*;
        use LastOperationType::{Create as C, Delete as D, Migrate as M, Restore as R};
        use Operation::*;
        assert_eq!(operation_type(&meta(Some("migrate"), true), None), Migrate);
        assert_eq!(operation_type(&meta(Some("restore"), true), None), Delete);
        assert_eq!(operation_type(&meta(Some("restore"), false), None), Restore);
        assert_eq!(
            operation_type(&meta(Some("reconcile"), false), None),
            Create
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(C, Error))),
            Create
        );
        assert_eq!(
            operation_type(&meta(Some("reconcile"), false), Some(&last(C, Succeeded))),
            Reconcile
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(M, Error))),
            Migrate
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(R, Processing))),
            Restore
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(D, Error))),
            Reconcile
        );
        // A type this version does not know (`LiveMigrate`) is a finished operation.
        let live = last(LastOperationType::from("LiveMigrate"), Processing);
        assert_eq!(operation_type(&meta(None, false), Some(&live)), Reconcile);
    }

    #[test]
    fn migrated_objects_are_skipped() {
        use LastOperationState::*;
        use Operation::*;
        let migrated = last(LastOperationType::Migrate, Succeeded);
        assert!(should_skip(Reconcile, Some(&migrated)));
        assert!(should_skip(Delete, Some(&migrated)));
        assert!(!should_skip(Restore, Some(&migrated)));
        assert!(!should_skip(Migrate, Some(&migrated)));
        assert!(!should_skip(
            Reconcile,
            Some(&last(LastOperationType::Migrate, Error))
        ));
    }
}
