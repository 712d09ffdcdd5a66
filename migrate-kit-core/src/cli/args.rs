//! The command line's shape: every command, flag and its help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  migrate upgrade head                 apply every pending migration
  migrate upgrade head --backup        back up the database first (into backups/), then apply
  migrate current                      show the database's revision
  migrate history --indicate-current   list revisions, newest first
  migrate downgrade -1                 roll back one revision
  migrate upgrade head --sql           print the SQL instead of running it
  migrate revision -m \"add settings\"   write a new migration file
  migrate merge heads -m \"merge\"       join two branches
  migrate stamp head                   record head without running anything
  migrate adopt                        find the revision a hand-made database matches, and stamp it

Configuration: flags, then DATABASE_URL and MIGRATE_DIR, then migrate.toml,
then the defaults (migrations/, data/bot_database.db).
Exit codes: 0 success, 1 refused or failed, 2 usage error.";

/// Alembic-style migrations for SQLite and PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "migrate", version, after_help = EXAMPLES, propagate_version = true)]
pub(crate) struct Cli {
    /// Configuration file (default: ./migrate.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Migrations folder, the one holding versions/.
    // An empty MIGRATE_DIR (a blank line of a .env file) counts as unset.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "MIGRATE_DIR",
        value_parser = clap::builder::TypedValueParser::map(
            clap::builder::OsStringValueParser::new(),
            PathBuf::from
        )
    )]
    pub dir: Option<PathBuf>,
    /// Database: an SQLite file path or URL (sqlite:///data/bot.db, sqlite+aiosqlite:///...), or a postgresql:// URL.
    // The URL may hold a password: --help names the variable, never its value.
    #[arg(
        long,
        global = true,
        value_name = "PATH|URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// PostgreSQL: the server (any database on it) where the schema tools
    /// create their scratch databases, when the live server's user may not.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "MIGRATE_DEV_URL",
        hide_env_values = true
    )]
    pub dev_url: Option<String>,
    /// Output format of results.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// As Alembic prints them.
    Text,
    /// A stable machine-readable form.
    Json,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write migrate.toml and an empty migrations/versions/ folder.
    #[command(after_help = "Example:\n  migrate init")]
    Init,
    /// Turn an Alembic project's revisions into migration files: same ids and graph, the SQL Alembic runs.
    #[command(
        name = "convert-alembic",
        after_help = "Examples:\n  migrate convert-alembic alembic.ini                       the SQL for the configured database's dialect\n  migrate convert-alembic alembic --dialect sqlite --python .venv/bin/python\n\nAlembic runs each revision online on a scratch database (a temporary SQLite file,\nor a database created on the configured PostgreSQL server and dropped after);\nwhat cannot be captured as SQL is reported with its file and line. Then each\nrevision's upgrade and downgrade are compared with Alembic's own. Exit code 1\nwhen a revision needs a hand (its file is written with a failing placeholder)."
    )]
    ConvertAlembic(ConvertArgs),
    /// Write a new migration file whose parent is the current head.
    #[command(
        after_help = "Examples:\n  migrate revision -m \"add phone_number to users\"\n  migrate revision -m \"hotfix\" --head 002 --rev-id 002a"
    )]
    Revision(RevisionArgs),
    /// Write a merge revision that joins several heads.
    #[command(
        after_help = "Examples:\n  migrate merge heads -m \"merge\"\n  migrate merge 3f2a 9bc1 -m \"merge billing and crm\""
    )]
    Merge(MergeArgs),
    /// Give a revision a new id: its header, its file name and the headers that name it.
    #[command(
        after_help = "Examples:\n  migrate reid versions/008_add_reviews_table.sql            two branches both made 008\n  migrate reid versions/008_add_reviews_table.sql --with versions/009_x.sql\n\nWhen two files share the id, only the files given with --with follow the\nnew id; the others keep naming the other file. A revision the database has\napplied keeps its id."
    )]
    Reid(ReidArgs),
    /// Apply migrations up to a target.
    #[command(
        after_help = "Examples:\n  migrate upgrade head\n  migrate upgrade +1\n  migrate upgrade heads\n  migrate upgrade head --sql > upgrade.sql\n  migrate upgrade 001:head --sql"
    )]
    Upgrade(UpgradeArgs),
    /// Revert migrations down to a target.
    #[command(
        after_help = "Examples:\n  migrate downgrade -1\n  migrate downgrade base\n  migrate downgrade 003:001 --sql"
    )]
    Downgrade(DowngradeArgs),
    /// Show the database's current revision(s).
    #[command(after_help = "Example:\n  migrate current --verbose")]
    Current(Verbose),
    /// List revisions, newest first.
    #[command(
        after_help = "Examples:\n  migrate history\n  migrate history -r 001:head --indicate-current"
    )]
    History(HistoryArgs),
    /// Show the head revisions of the migrations.
    #[command(after_help = "Example:\n  migrate heads")]
    Heads(Verbose),
    /// Show branch points.
    #[command(after_help = "Example:\n  migrate branches")]
    Branches(Verbose),
    /// Show one revision.
    #[command(after_help = "Example:\n  migrate show 002")]
    Show {
        /// Revision, prefix, label, head or current.
        rev: String,
    },
    /// Mark the database as being at a target without running migrations.
    #[command(
        after_help = "Examples:\n  migrate stamp head\n  migrate stamp 002 --purge\n\nThe live schema must be the one the migrations produce at the target; the\ndifference is shown otherwise (`migrate adopt` finds the revision it matches)."
    )]
    Stamp {
        /// Target revision.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Delete every version row first (also rows naming unknown revisions).
        #[arg(long)]
        purge: bool,
        /// Stamp even when the live schema differs from the target's.
        #[arg(long)]
        force: bool,
    },
    /// Fail on a forgotten migration (schema.sql) or schema drift (the live database).
    #[command(
        after_help = "Examples:\n  migrate check              schema.sql vs migrations, live database vs migrations\n  migrate check --lint       also refuse unacknowledged destructive changes\n\nExit code 1 with a readable diff when something disagrees."
    )]
    Check {
        /// Also lint every migration for destructive or data-dependent changes.
        #[arg(long)]
        lint: bool,
    },
    /// Stairway test: upgrade, downgrade and upgrade again each revision on a scratch database.
    #[command(
        after_help = "Example:\n  migrate test               exit 1 on the first inconsistency, naming the revision"
    )]
    Test,
    /// Find the revision a hand-made database matches, and stamp it.
    #[command(
        after_help = "Examples:\n  migrate adopt\n  migrate adopt --yes        stamp without asking"
    )]
    Adopt {
        /// Stamp without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Move a hand-made database's rows into a fresh database built by the migrations.
    #[command(
        after_help = "Examples:\n  migrate rebuild --dry-run                 list every problem, change nothing\n  migrate rebuild --drop-column users.karma drop a column the migrations have no place for\n  migrate rebuild                           backup, load every row, swap files, keep the old one"
    )]
    Rebuild(RebuildArgs),
    /// Collapse base..REV into one baseline revision for new databases.
    #[command(
        after_help = "Example:\n  migrate squash 003 -m \"baseline\"\n\nDatabases already at REV or later keep working; the baseline records the\nchecksums of the files it replaces."
    )]
    Squash {
        /// The last revision to fold into the baseline.
        rev: String,
        /// One-line message.
        #[arg(short, long)]
        message: String,
    },
    /// Compare the migrations with what the database says was applied.
    #[command(after_help = "Exit code 1 on modified, unknown, inconsistent or dirty revisions.")]
    Verify,
    /// Record checksums, accept edited files, or clear an interrupted migration.
    #[command(
        after_help = "Examples:\n  migrate repair                       record checksums of revisions applied by Alembic\n  migrate repair --accept 002 --yes    accept an intentionally edited file\n  migrate repair --clear-dirty 004 --yes"
    )]
    Repair(RepairArgs),
    /// Copy the database: SQLite's online backup API, or pg_dump on a server.
    #[command(
        after_help = "Example:\n  migrate backup                       writes backups/<db>-<UTC time>-<revision>.db (.dump on a server)"
    )]
    Backup {
        /// Where to write the copy.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Replace the database with a backup (the current one is backed up first).
    #[command(
        after_help = "Example:\n  migrate restore backups/bot_database-20251013T120000Z-003.db"
    )]
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Write every user table to JSON, losslessly.
    #[command(after_help = "Example:\n  migrate export --out db_export.json")]
    Export {
        /// Output file (default: db_export_<UTC time>.json).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Load an export into a database migrated to the same revision.
    #[command(
        after_help = "Examples:\n  migrate import db_export_20251013T120000Z.json            into empty tables\n  migrate import db_export_20251013T120000Z.json --merge    add what is missing, keep the rest\n  migrate import db_export_20251013T120000Z.json --replace  the tables become the export\n\nTables that already hold rows are refused unless --replace or --merge says\nwhat happens to them. Nothing is imported unless everything is."
    )]
    Import(ImportArgs),
    /// Print the tables and their SQL.
    #[command(after_help = "Examples:\n  migrate schema\n  migrate schema users")]
    Schema {
        /// Only this table (and its indexes and triggers).
        table: Option<String>,
    },
}

/// `--verbose`.
#[derive(Debug, Args)]
pub(crate) struct Verbose {
    /// Show full details.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The export file.
    pub file: PathBuf,
    /// Make the tables hold exactly the export's rows (rows added since
    /// the export are lost; the backup keeps them).
    #[arg(long, conflicts_with = "merge")]
    pub replace: bool,
    /// Add the export's rows whose primary key is not there yet; every row
    /// that is there stays as it is.
    #[arg(long)]
    pub merge: bool,
    /// Rows whose foreign key names a missing row (SQLite): keep them as
    /// they are, or drop them; either way each is listed.
    #[arg(long, value_enum, value_name = "keep|drop")]
    pub orphans: Option<OrphansArg>,
    /// Leave this table's rows out (repeatable).
    #[arg(long, value_name = "TABLE")]
    pub drop_table: Vec<String>,
    /// How non-ISO date text orders day and month, for a server's date
    /// columns: dmy (02.12.2026 is 2 December) or mdy.
    #[arg(long, value_enum, value_name = "dmy|mdy")]
    pub date_order: Option<DateOrderArg>,
}

/// `--orphans`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OrphansArg {
    /// Load them as they are.
    Keep,
    /// Leave them out.
    Drop,
}

/// `--date-order`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DateOrderArg {
    /// Day, month, year.
    Dmy,
    /// Month, day, year.
    Mdy,
}

/// Arguments of `convert-alembic`.
#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The Alembic project: its alembic.ini (or the folder holding it), or the script folder (env.py and versions/).
    pub path: PathBuf,
    /// The SQL dialect to capture (default: the configured database's).
    #[arg(long, value_enum)]
    pub dialect: Option<Dialect>,
    /// The Python that has the project's Alembic (and its imports); default: the project's .venv or venv beside alembic.ini when it has Alembic, else python3 when it has Alembic, else a virtualenv made once in ~/.cache/migrate-kit/alembic-venv with Alembic from PyPI.
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<String>,
    /// The environment variable the project's env.py reads its database URL from, when it does not use sqlalchemy.url.
    #[arg(long, value_name = "NAME", default_value = "DATABASE_URL")]
    pub url_variable: String,
    /// Overwrite migration files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// A SQL dialect Alembic renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgresql,
}

/// Arguments of `revision`.
#[derive(Debug, Args)]
pub(crate) struct RevisionArgs {
    /// One-line message.
    #[arg(short, long)]
    pub message: String,
    /// Use this revision id instead of the generated one.
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
    /// Parent revision (needed when there are several heads).
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Allow a parent that is not a head (start a branch).
    #[arg(long)]
    pub splice: bool,
    /// Write the SQL that turns the migrations' schema into schema.sql.
    #[arg(long)]
    pub autogenerate: bool,
    /// With --autogenerate: a table rename, `OLD=NEW` (renames are never guessed).
    #[arg(long, value_name = "OLD=NEW", requires = "autogenerate")]
    pub rename_table: Vec<String>,
    /// With --autogenerate: a column rename, `TABLE.OLD=NEW`.
    #[arg(long, value_name = "TABLE.OLD=NEW", requires = "autogenerate")]
    pub rename_column: Vec<String>,
}

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// `heads`, or the revisions to merge.
    #[arg(required = true)]
    pub revisions: Vec<String>,
    /// One-line message.
    #[arg(short, long)]
    pub message: String,
    /// Use this revision id instead of the generated one.
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
}

/// Arguments of `upgrade`.
/// `reid`.
#[derive(Debug, Args)]
pub(crate) struct ReidArgs {
    /// The migration file whose revision gets a new id.
    pub file: String,
    /// The new id (default: the next collision-free id).
    #[arg(long)]
    pub rev_id: Option<String>,
    /// A file that names this revision (not its twin) and follows the new id (repeatable).
    #[arg(long = "with", value_name = "FILE")]
    pub with: Vec<String>,
}

/// `rebuild`.
#[derive(Debug, Args)]
pub(crate) struct RebuildArgs {
    /// Load the rows into a scratch database and list every problem; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave a column with values behind: TABLE.COLUMN (repeatable).
    #[arg(long, value_name = "TABLE.COLUMN")]
    pub drop_column: Vec<String>,
    /// Leave a table with rows behind (repeatable).
    #[arg(long, value_name = "TABLE")]
    pub drop_table: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UpgradeArgs {
    /// Target: head, heads, a revision, +N, REV+N, LABEL@head; `FROM:TO` with --sql.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// Print the SQL instead of running it (no database needed).
    #[arg(long)]
    pub sql: bool,
    #[command(flatten)]
    pub run: RunFlags,
}

/// The flags `upgrade` and `downgrade` share.
#[derive(Debug, Args)]
pub(crate) struct RunFlags {
    /// Back up the database first (into backups/, or backup_dir), when there is something to run.
    #[arg(long)]
    pub backup: bool,
    /// Commit after each migration instead of once for the run.
    #[arg(long)]
    pub transaction_per_migration: bool,
    /// One line per migration on stderr, also outside a terminal (CI logs).
    #[arg(short, long)]
    pub verbose: bool,
}

/// Arguments of `downgrade`.
#[derive(Debug, Args)]
pub(crate) struct DowngradeArgs {
    /// Target: -N, base, a revision, REV-N, LABEL@base; `FROM:TO` with --sql.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// Print the SQL instead of running it (needs FROM:TO).
    #[arg(long)]
    pub sql: bool,
    #[command(flatten)]
    pub run: RunFlags,
}

/// Arguments of `history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Range `[START]:[END]`, such as `001:head` or `-2:`.
    #[arg(short = 'r', long, allow_hyphen_values = true)]
    pub rev_range: Option<String>,
    /// Show full details.
    #[arg(short, long)]
    pub verbose: bool,
    /// Mark the database's current revision(s).
    #[arg(short = 'i', long)]
    pub indicate_current: bool,
}

/// Arguments of `repair`.
#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    /// Accept the current file of an applied revision whose checksum changed.
    #[arg(long, value_name = "REV")]
    pub accept: Option<String>,
    /// Clear the "started" mark of an interrupted non-transactional migration.
    #[arg(long, value_name = "REV")]
    pub clear_dirty: Option<String>,
    /// Confirm without asking.
    #[arg(long)]
    pub yes: bool,
}
