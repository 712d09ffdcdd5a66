//! Migrates a SQLite file with migrate (on tokio's blocking pool), then
//! reads what the migrations made through the bot's own sqlx pool; with
//! `DATABASE_URL` naming a PostgreSQL database, does the same there.

use sqlx::Row;

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../migrations");
static SERVER_MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("../../../examples/postgres/migrations");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn start(url: String, set: &'static migrate::Migrations) -> Result<Vec<String>, BoxError> {
    tokio::task::spawn_blocking(move || -> Result<Vec<String>, BoxError> {
        let location = migrate::Location::parse(&url)?;
        let mut db = migrate::Database::open(&location, &migrate::OpenOptions::default())?;
        Ok(set.start(&mut db)?.run.heads_after)
    })
    .await?
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!("coexist-{}", std::process::id()));
    let file = dir.join("data/bot.db");
    let heads = start(file.display().to_string(), &MIGRATIONS).await?;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display())).await?;
    let tables: i64 =
        sqlx::query("SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'settings')")
            .fetch_one(&pool)
            .await?
            .get(0);
    let version: String = sqlx::query("SELECT version_num FROM alembic_version")
        .fetch_one(&pool)
        .await?
        .get(0);
    pool.close().await;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!((tables, heads.clone()), (2, vec![version.clone()]));
    println!("sqlite: migrate took it to {version}; sqlx reads {tables} of its tables");

    if let Ok(url) = std::env::var("DATABASE_URL") {
        let heads = start(url.clone(), &SERVER_MIGRATIONS).await?;
        let pool = sqlx::PgPool::connect(&url).await?;
        let version: String = sqlx::query("SELECT version_num FROM alembic_version")
            .fetch_one(&pool)
            .await?
            .get(0);
        assert_eq!(heads, vec![version.clone()]);
        println!("postgresql: migrate took it to {version}; sqlx reads it");
    }
    Ok(())
}
