//! The `migrate` command line, also runnable from inside an application
//! binary against its embedded migrations ([`run_embedded`]).

mod args;
mod clock;
mod cmd_data;
mod cmd_files;
mod cmd_list;
mod cmd_rebuild;
mod cmd_reid;
mod cmd_run;
mod cmd_schema;
mod cmd_squash;
mod cmd_verify;
mod config;
mod convert_alembic;
mod diff_view;
mod dotenv;
mod error;
mod export_file;
mod output;

use crate::hint::Cmd;
pub(crate) use args::{Cli, Command, Format};
pub(crate) use config::Config;
pub(crate) use error::CliError;

use crate::{Commands, Database, Location, Migrations, OpenMode, OpenOptions};
use clap::Parser;
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

/// Everything a command needs: the configuration, the output format and
/// the migration set (embedded, or read from the folder on first use).
pub(crate) struct Context<'a> {
    config: Config,
    format: Format,
    embedded: Option<&'a Migrations>,
    loaded: OnceLock<Migrations>,
}

impl<'a> Context<'a> {
    /// The migration set.
    pub(crate) fn migrations(&self) -> Result<&Migrations, CliError> {
        if let Some(set) = self.embedded {
            return Ok(set);
        }
        if let Some(set) = self.loaded.get() {
            return Ok(set);
        }
        let set = Migrations::from_dir(&self.config.dir)?;
        Ok(self.loaded.get_or_init(|| set))
    }

    /// The migration set for a listing: a folder in which two files declare
    /// the same revision id (two branches, merged) still lists, without the
    /// later file of each pair, and each pair is named on stderr with the
    /// command that gives one of them a new id.
    pub(crate) fn migrations_for_listing(&self) -> Result<&Migrations, CliError> {
        if self.embedded.is_some() || self.loaded.get().is_some() {
            return self.migrations();
        }
        let (set, duplicates) = Migrations::from_dir_despite_duplicates(&self.config.dir)?;
        for d in &duplicates {
            eprintln!("warning: revision `{}` is declared by both {} and {}; this listing leaves {2} out. {} gives it a new id (then {})",
                d.revision, d.kept, d.left_out,
                Cmd(format!("reid {}", d.left_out)),
                Cmd("merge heads")
            );
        }
        Ok(self.loaded.get_or_init(|| set))
    }

    /// The migrations folder, for commands that write files.
    pub(crate) fn source_dir(&self, command: &str) -> Result<&Path, CliError> {
        if self.embedded.is_some() {
            return Err(CliError::Refused(format!(
                "`{command}` writes migration files, so it needs the source folder; run {} from a checkout of the project, not from the deployed binary",
                Cmd(command)
            )));
        }
        Ok(&self.config.dir)
    }

    /// The SQLite file of the configured database; refuses a location
    /// this command cannot use.
    pub(crate) fn database_file(&self) -> Result<&Path, CliError> {
        match &self.config.database {
            Location::Sqlite { path, .. } => Ok(path),
            Location::Memory => Err(CliError::Refused(
                "the database location is `:memory:`, which keeps nothing between runs: what this command did would vanish; give a file (--database or DATABASE_URL)".to_owned(),
            )),
            Location::Postgres { .. } => Err(CliError::Refused(format!(
                "{} is a PostgreSQL database, and this command works on an SQLite file: back up a server with `pg_dump --format=custom` and restore with `pg_restore`",
                self.config.database
            ))),
        }
    }

    /// `Database: LOCATION (from SOURCE)`, which says which setting chose
    /// the database (`current`, and runs with `--verbose`).
    pub(crate) fn database_line(&self) -> String {
        format!(
            "Database: {} (from {})",
            self.config.database, self.config.database_source
        )
    }

    /// Whether the configured database exists: an SQLite file on disk; a
    /// server database is taken to exist (connecting says otherwise).
    pub(crate) fn database_exists(&self) -> Result<bool, CliError> {
        match &self.config.database {
            Location::Postgres { .. } => Ok(true),
            _ => Ok(self.database_file()?.exists()),
        }
    }

    /// Opens the database for a command that changes it, creating the file
    /// (and its folder) when missing, and saying so.
    pub(crate) fn open(&self) -> Result<Database, CliError> {
        if let Location::Sqlite {
            path,
            mode: OpenMode::ReadWriteCreate,
        } = &self.config.database
        {
            if !path.exists() {
                eprintln!("creating the database {}", path.display());
            }
        }
        self.connect()
    }

    fn connect(&self) -> Result<Database, CliError> {
        if matches!(self.config.database, Location::Memory) {
            self.database_file()?;
        }
        let options = OpenOptions {
            busy_timeout: self.config.busy_timeout,
            server: self.config.server.clone(),
        };
        Ok(Database::open(&self.config.database, &options)?)
    }

    /// Opens the database for reading; `None` when the file does not exist
    /// (nothing is created).
    pub(crate) fn open_existing(&self) -> Result<Option<Database>, CliError> {
        if !self.database_exists()? {
            return Ok(None);
        }
        self.connect().map(Some)
    }

    /// The error of a command that needs an existing database.
    pub(crate) fn missing(&self) -> CliError {
        CliError::Refused(format!(
            "there is no database at {}; check --database, DATABASE_URL or migrate.toml ({} creates it)",
            self.config.database,
            Cmd("upgrade head")
        ))
    }

    /// Says on stderr that the database does not exist, for a listing that
    /// then shows it as empty (Alembic shows nothing and exits 0).
    pub(crate) fn note_missing(&self) {
        if !self.json() {
            eprintln!("note: there is no database at {}, so nothing is applied; nothing was created ({} creates it)",
                self.config.database,
                Cmd("upgrade head")
            );
        }
    }

    /// The resolved configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Whether results are JSON.
    pub(crate) fn json(&self) -> bool {
        self.format == Format::Json
    }
}

/// Runs the command line of the `migrate` binary.
pub fn main() -> ExitCode {
    let commands = Commands::default();
    finish(
        Cli::try_parse()
            .map_err(clap_exit)
            .and_then(|cli| commands.scope(|| run(cli, None))),
        &commands,
    )
}

/// Runs the whole command line against an embedded set, from inside an
/// application binary: `repair_bot migrate upgrade head` on a server that has
/// no migration files. `args` are the words after the binary's own
/// subcommand (for example `["upgrade", "head"]`).
pub fn run_embedded<I, T>(migrations: &Migrations, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // Hints name the bot's own command: `repair_bot migrate verify`.
    let program = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map_or_else(|| "migrate".to_owned(), |bin| format!("{bin} migrate"));
    let commands = Commands::new(program);
    let words = std::iter::once(OsString::from("migrate")).chain(args.into_iter().map(Into::into));
    finish(
        Cli::try_parse_from(words)
            .map_err(clap_exit)
            .and_then(|cli| commands.scope(|| run(cli, Some(migrations)))),
        &commands,
    )
}

/// Clap's own errors and `--help` keep clap's output and exit codes.
fn clap_exit(error: clap::Error) -> CliError {
    let _ = error.print();
    CliError::Exit(u8::try_from(error.exit_code()).unwrap_or(2))
}

fn finish(result: Result<(), CliError>, commands: &Commands) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Exit(code)) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {}", commands.render(&error));
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs a parsed command line (inside the face's [`Commands::scope`], so
/// that hints name the face's commands).
pub(crate) fn run(cli: Cli, embedded: Option<&Migrations>) -> Result<(), CliError> {
    let config = Config::resolve(
        cli.config.as_deref(),
        cli.dir.as_deref(),
        cli.database.as_deref(),
        cli.dev_url.as_deref(),
        &dotenv::DotEnv::read()?,
    )?;
    let ctx = Context {
        config,
        format: cli.format,
        embedded,
        loaded: OnceLock::new(),
    };
    match cli.command {
        Command::Init => cmd_files::init(&ctx),
        Command::ConvertAlembic(args) => convert_alembic::convert(&ctx, &args),
        Command::Revision(args) => cmd_files::revision(&ctx, &args),
        Command::Merge(args) => cmd_files::merge(&ctx, &args),
        Command::Reid(args) => cmd_reid::reid(&ctx, &args),
        Command::Upgrade(args) => cmd_run::upgrade(&ctx, &args),
        Command::Downgrade(args) => cmd_run::downgrade(&ctx, &args),
        Command::Stamp {
            target,
            purge,
            force,
        } => cmd_run::stamp(&ctx, &target, purge, force),
        Command::Current(v) => cmd_list::current(&ctx, v.verbose),
        Command::History(args) => cmd_list::history(&ctx, &args),
        Command::Heads(v) => cmd_list::heads(&ctx, v.verbose),
        Command::Branches(v) => cmd_list::branches(&ctx, v.verbose),
        Command::Show { rev } => cmd_list::show(&ctx, &rev),
        Command::Verify => cmd_verify::verify(&ctx),
        Command::Check { lint } => cmd_schema::check(&ctx, lint),
        Command::Test => cmd_schema::stairway(&ctx),
        Command::Adopt { yes } => cmd_schema::adopt(&ctx, yes),
        Command::Rebuild(args) => cmd_rebuild::rebuild(&ctx, &args),
        Command::Squash { rev, message } => cmd_squash::squash(&ctx, &rev, &message),
        Command::Repair(args) => cmd_verify::repair(&ctx, &args),
        Command::Backup { out } => cmd_data::backup(&ctx, out.as_deref()),
        Command::Restore { file } => cmd_data::restore(&ctx, &file),
        Command::Export { out } => cmd_data::export(&ctx, out.as_deref()),
        Command::Import(args) => cmd_data::import(&ctx, &args),
        Command::Schema { table } => cmd_data::schema(&ctx, table.as_deref()),
    }
}
