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

/// The operation to perform, in the precedence order of gardener-contract §4.2.
pub fn operation_type(meta: &ObjectMeta, last: Option<&LastOperation>) -> LastOperationType {
    use LastOperationState::Succeeded;
    use LastOperationType::*;
    match operation_annotation(meta) {
        Some(OPERATION_MIGRATE) => return Migrate,
        _ if meta.deletion_timestamp.is_some() => return Delete,
        Some(OPERATION_RESTORE) => return Restore,
        _ => {}
    }
    match last {
        None => Create,
        Some(op) if op.type_ == Create && op.state != Succeeded => Create,
        Some(op) if op.type_ == Migrate && op.state != Succeeded => Migrate,
        Some(op) if op.type_ == Restore && op.state != Succeeded => Restore,
        Some(_) => Reconcile,
    }
}

/// Objects that finished migrating are left alone unless migrate or restore is asked for.
pub fn should_skip(op: LastOperationType, last: Option<&LastOperation>) -> bool {
    !matches!(op, LastOperationType::Migrate | LastOperationType::Restore)
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
        use LastOperationType::*;
        assert_eq!(operation_type(&meta(Some("migrate"), true), None), Migrate);
        assert_eq!(operation_type(&meta(Some("restore"), true), None), Delete);
        assert_eq!(operation_type(&meta(Some("restore"), false), None), Restore);
        assert_eq!(
            operation_type(&meta(Some("reconcile"), false), None),
            Create
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(Create, Error))),
            Create
        );
        assert_eq!(
            operation_type(
                &meta(Some("reconcile"), false),
                Some(&last(Create, Succeeded))
            ),
            Reconcile
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(Migrate, Error))),
            Migrate
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(Restore, Processing))),
            Restore
        );
        assert_eq!(
            operation_type(&meta(None, false), Some(&last(Delete, Error))),
            Reconcile
        );
    }

    #[test]
    fn migrated_objects_are_skipped() {
        use LastOperationState::*;
        use LastOperationType::*;
        let migrated = last(Migrate, Succeeded);
        assert!(should_skip(Reconcile, Some(&migrated)));
        assert!(should_skip(Delete, Some(&migrated)));
        assert!(!should_skip(Restore, Some(&migrated)));
        assert!(!should_skip(Migrate, Some(&migrated)));
        assert!(!should_skip(Reconcile, Some(&last(Migrate, Error))));
    }
}
