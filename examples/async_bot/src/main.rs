//! The repair-shop bot as a tokio program. It carries its migrations (the
//! SQLite set and the PostgreSQL set), applies what is pending at start-up,
//! then serves from a sqlx pool of its own.
//!
//! ```text
//! DATABASE_URL=sqlite:///tmp/bot/data/bot.db async_bot            # start
//! DATABASE_URL=postgresql://bot@db/shop async_bot                  # same, on a server
//! DATABASE_URL=... async_bot migrate history                       # the migrate CLI, embedded
//! ```
//!
//! The start-up runs on a sqlx connection, like the bot's own queries: on
//! PostgreSQL it is awaited, on SQLite it runs on the connection's handle,
//! locked out of sqlx's worker for the run. migrate's events (a span per
//! run, a line per migration) arrive in the bot's `tracing` log.

use migrate_kit::sqlite::SqlxSqlite;
use migrate_kit::{Location, Migrations};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::process::ExitCode;

static SQLITE: Migrations = migrate_kit::embed_migrations!("../../migrations");
static POSTGRES: Migrations = migrate_kit::embed_migrations!("../postgres/migrations");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn location() -> Result<Location, migrate_kit::LocationError> {
    let url = std::env::var("DATABASE_URL").unwrap_or_default();
    Location::parse(if url.is_empty() {
        "data/bot_database.db"
    } else {
        &url
    })
}

/// The migrations of the kind of database `location` names.
fn migrations(location: &Location) -> &'static Migrations {
    match location {
        Location::Postgres { .. } => &POSTGRES,
        _ => &SQLITE,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let location = match location() {
        Ok(location) => location,
        Err(error) => {
            eprintln!("async_bot: {error}");
            return ExitCode::FAILURE;
        }
    };
    if args.first().map(String::as_str) == Some("migrate") {
        // The whole command line, against the compiled-in migrations; before
        // any runtime starts, as a blocking program.
        return migrate_kit::cli::run_embedded(migrations(&location), &args[1..]);
    }
    tracing_subscriber::fmt().with_target(false).init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(location)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let commands = migrate_kit::Commands::new("async_bot migrate");
            eprintln!("async_bot: refusing to start: {}", commands.render(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(location: Location) -> Result<(), BoxError> {
    let set = migrations(&location);
    let url = pool_url(&location);
    // Refuses drift, then upgrades to head, on a connection of its own.
    let startup = match &location {
        Location::Postgres { .. } => {
            let mut connection = sqlx::PgConnection::connect(&url).await?;
            let startup = set.start_async(&mut connection).await?;
            connection.close().await?;
            startup
        }
        _ => {
            let mut connection = sqlite_connection(&location, &url).await?;
            let startup = set.start(&mut SqlxSqlite::lock(&mut connection).await?)?;
            connection.close().await?;
            startup
        }
    };
    println!(
        "async_bot: database at {}",
        startup.run.heads_after.join(", ")
    );
    serve(&url).await
}

/// The URL the bot's sqlx pool opens for `location`.
fn pool_url(location: &Location) -> String {
    match location {
        Location::Postgres { url } => url.clone(),
        Location::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
        Location::Memory => "sqlite::memory:".to_owned(),
    }
}

/// A connection to the SQLite file `url` names, created with its folder
/// when missing, as `migrate` creates it.
async fn sqlite_connection(location: &Location, url: &str) -> Result<SqliteConnection, BoxError> {
    if let Location::Sqlite { path, .. } = location {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
    }
    let options: SqliteConnectOptions = url.parse()?;
    Ok(options.create_if_missing(true).connect().await?)
}

/// A little of the bot's real work, through its own pool.
async fn serve(url: &str) -> Result<(), BoxError> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await?;
    sqlx::query(
        "INSERT INTO users (telegram_id, username, full_name) VALUES ($1, $2, $3)
         ON CONFLICT (telegram_id) DO UPDATE SET username = excluded.username",
    )
    .bind(100_200_300_i64)
    .bind("ivan_p")
    .bind("Ivan Petrov")
    .execute(&pool)
    .await?;
    let (users,): (i64,) = sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await?;
    println!("async_bot: serving {users} user(s)");
    pool.close().await;
    Ok(())
}
