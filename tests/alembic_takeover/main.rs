//! The repair bot's start-up, built with the migrations folder that
//! `migrate convert-alembic` made from the bot's Alembic project
//! (tests/fixtures/alembic_bot) embedded. `.ci/alembic-takeover` builds it
//! and starts it on a database Alembic left at a middle revision.

static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("migrations");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: alembic_takeover DATABASE_FILE")?;
    let mut conn = migrate_kit::sqlite::Connection::open(path)?;
    let startup = MIGRATIONS.start(&mut conn)?;
    println!("found: {}", startup.drift.heads.join(", "));
    println!("unverified: {}", startup.drift.unverified.len());
    println!("applied: {}", startup.run.steps.len());
    println!("now at: {}", startup.run.heads_after.join(", "));
    Ok(())
}
