//! The bodies `migrate revision` and `migrate merge` write below a new
//! file's header: SQL that runs the same on every backend.

/// What the placeholder's failure message contains; a run that fails on it
/// advises writing the upgrade SQL instead of a fix to the database.
pub(crate) const PLACEHOLDER_MARK: &str = "has no upgrade SQL yet";

/// The sections of a new revision: an upgrade that fails until its SQL is
/// written (rather than silently applying nothing), and an empty downgrade.
pub(crate) fn placeholder_body(id: &str) -> String {
    format!(
        "-- migrate:upgrade\n-- Replace the statement below with the upgrade SQL. Until then the upgrade fails\n-- instead of silently applying nothing.\nSELECT * FROM \"revision {id} {PLACEHOLDER_MARK}\";\n\n-- migrate:downgrade\n-- Write the SQL that undoes the upgrade. Without SQL here the revision is irreversible.\n"
    )
}

/// The sections of a merge revision, which changes no schema.
pub(crate) const MERGE_BODY: &str = "-- migrate:upgrade\n-- A merge revision joins branches and changes no schema.\nSELECT 1;\n\n-- migrate:downgrade\nSELECT 1;\n";
