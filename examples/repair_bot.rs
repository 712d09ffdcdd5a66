//! The repair-shop bot's start-up: the binary carries its migrations,
//! refuses to start on drift, upgrades to head, then does a little real work.
//!
//! ```text
//! cargo run -p migrate-kit --features cli --example repair_bot                          # start the bot
//! cargo run -p migrate-kit --features cli --example repair_bot -- migrate upgrade head  # the CLI, embedded
//! cargo run -p migrate-kit --features cli --example repair_bot -- migrate history
//! ```
//!
//! The database is `data/bot_database.db`, or `DATABASE_URL` when set (a
//! path, or a URL such as `sqlite+aiosqlite:///data/bot_database.db` from
//! the Python bot's `.env`), read by the same parser as `repair_bot
//! migrate`, so both always open the same file.

use migrate_kit::Location;
use rusqlite::{params, Connection};
use std::error::Error;
use std::process::ExitCode;

static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("migrations", replay);

fn database() -> Result<Location, migrate_kit::LocationError> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Location::parse(&url),
        _ => Location::parse("data/bot_database.db"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("migrate") {
        // The whole command line, against the migrations compiled into this binary.
        return migrate_kit::cli::run_embedded(&MIGRATIONS, &args[1..]);
    }
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Hints name the commands as an operator types them here.
            let commands = migrate_kit::Commands::new("repair_bot migrate");
            eprintln!("repair_bot: refusing to start: {}", commands.render(&error));
            ExitCode::FAILURE
        }
    }
}

fn start() -> Result<(), Box<dyn Error>> {
    let location = database()?;
    let mut conn =
        migrate_kit::sqlite::open(&location).map_err(|e| format!("cannot open {location}: {e}"))?;
    // Other instances may be migrating or writing: wait for them instead of
    // failing with "database is locked".
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", true)?;

    // Refuses drift, then upgrades to head; at head it only reads.
    let startup = MIGRATIONS.start(&mut conn)?;
    if !startup.drift.unverified.is_empty() {
        eprintln!(
            "repair_bot: taking over a database migrated by Alembic ({}); run `repair_bot migrate repair` to record checksums",
            startup.drift.unverified.join(", ")
        );
    }
    let run = startup.run;
    for step in &run.steps {
        eprintln!(
            "repair_bot: applied {} ({}) in {} ms",
            step.revision,
            step.message,
            step.elapsed.as_millis()
        );
    }
    println!("database at revision {}", run.heads_after.join(", "));

    serve(&conn)?;
    Ok(())
}

/// A small piece of the bot's real work on the migrated schema.
fn serve(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO users (telegram_id, username, full_name, phone_number) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (telegram_id) DO UPDATE SET username = excluded.username",
        params![100_200_300_i64, "ivan_p", "Ivan Petrov", "+7 900 000-00-00"],
    )?;
    let user_id: i64 = conn.query_row(
        "SELECT id FROM users WHERE telegram_id = ?1",
        [100_200_300_i64],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO repair_requests (user_id, device_type, device_model, problem_description) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, "phone", "Pixel 6", "screen does not turn on"],
    )?;
    let mut stmt = conn.prepare(
        "SELECT r.id, u.full_name, r.device_type, r.status FROM repair_requests r JOIN users u ON u.id = r.user_id
         WHERE r.status NOT IN ('closed', 'cancelled') ORDER BY r.id",
    )?;
    let open = stmt.query_map([], |r| {
        Ok(format!(
            "#{} {} {} [{}]",
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?
        ))
    })?;
    println!("open repair requests:");
    for line in open {
        println!("  {}", line?);
    }
    Ok(())
}
