//! Offline SQL (`upgrade --sql`): a run written out as one script in
//! Alembic's shape, for a database the tool cannot reach, in a
//! [`Dialect`]'s text.

use crate::backend::Dialect;
use crate::error::RunError;
use crate::graph::plan::{Direction, Plan, RowOp};
use crate::graph::target::Target;
use crate::set::Migrations;

impl Migrations {
    /// The script that takes a database from `from` (one revision, as
    /// Alembic's offline mode reads it; `None`, `""` or `"base"` for an
    /// empty database) to `to`.
    pub(crate) fn offline_script(
        &self,
        from: Option<&str>,
        to: &Target,
        direction: Direction,
        dialect: &dyn Dialect,
    ) -> Result<String, RunError> {
        let graph = self.graph()?;
        let start = match from {
            None | Some("" | "base") => Vec::new(),
            Some(from) => vec![graph.resolve_revision(from)?],
        };
        let plan = self.plan_from(&start, to, direction)?;
        self.offline_sql(&plan, direction, dialect)
    }

    /// The SQL of `plan` in Alembic's offline shape, wrapped in one
    /// transaction; a `transactional: false` migration runs between a
    /// `COMMIT` and the next `BEGIN`.
    pub(crate) fn offline_sql(
        &self,
        plan: &Plan,
        direction: Direction,
        dialect: &dyn Dialect,
    ) -> Result<String, RunError> {
        let mut out = format!("{}\n\n", dialect.begin());
        // As Alembic's offline mode: the version table is created before any
        // step that starts with no row.
        let mut rows = plan.heads_before.len();
        for step in &plan.steps {
            let m = &self.as_slice()[step.revision];
            let parents = m.down_revisions().collect::<Vec<_>>().join(", ");
            let (verb, from, to, section) = match direction {
                Direction::Up => (
                    "upgrade",
                    parents,
                    m.revision().to_owned(),
                    Some(m.upgrade()),
                ),
                Direction::Down => ("downgrade", m.revision().to_owned(), parents, m.downgrade()),
            };
            if !m.is_transactional() {
                out += &format!("{}\n\n", dialect.commit());
            }
            if rows == 0 {
                out += &format!("{}\n\n", dialect.create_version_table());
            }
            out += &format!("-- Running {verb} {from} -> {to}\n\n");
            if let Some(section) = section {
                let sql = section.sql()?;
                let sql = sql.trim();
                out += sql;
                out += if sql.ends_with(';') { "\n\n" } else { ";\n\n" };
            }
            for op in &step.row_ops {
                match op {
                    RowOp::Insert(_) => rows += 1,
                    RowOp::Delete(_) => rows -= 1,
                    RowOp::Update { .. } => {}
                }
                out += &format!("{}\n\n", dialect.row_op(op));
            }
            if !m.is_transactional() {
                out += &format!("{}\n\n", dialect.begin());
            }
        }
        out += &dialect.end();
        Ok(out)
    }
}
