//! Migrates a SQLite file with migrate (on tokio's blocking pool), then
//! reads what the migrations made through the bot's own sqlx pool; with
//! `DATABASE_URL` naming a PostgreSQL database, does the same there.

use sqlx::Row;

static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("../../../migrations");
static SERVER_MIGRATIONS: migrate_kit::Migrations =
    migrate_kit::embed_migrations!("../../../examples/postgres/migrations");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The server set and a migration after it that fails on its line 7.
fn broken_set(dir: &std::path::Path) -> Result<migrate_kit::Migrations, BoxError> {
    let versions = dir.join("broken/versions");
    std::fs::create_dir_all(&versions)?;
    let server_set = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../examples/postgres/migrations/versions"
    );
    for entry in std::fs::read_dir(server_set)? {
        let path = entry?.path();
        std::fs::copy(&path, versions.join(path.file_name().unwrap_or_default()))?;
    }
    std::fs::write(
        versions.join("005_broken.sql"),
        "-- revision: 005\n-- down_revision: 004\n-- message: broken\n\n-- migrate:upgrade\nALTER TABLE settings ADD COLUMN note TEXT;\nSELECT no_such_column FROM settings;\n",
    )?;
    Ok(migrate_kit::Migrations::from_dir(dir.join("broken"))?)
}

async fn start(url: String, set: &'static migrate_kit::Migrations) -> Result<Vec<String>, BoxError> {
    tokio::task::spawn_blocking(move || -> Result<Vec<String>, BoxError> {
        let location = migrate_kit::Location::parse(&url)?;
        let mut db = migrate_kit::Database::open(&location, &migrate_kit::OpenOptions::default())?;
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
        // Eight starts at once, each on a connection of the bot's pool:
        // each migration is applied once, and all end at head.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .connect(&url)
            .await?;
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let mut connection = pool.acquire().await?;
                    Ok::<_, BoxError>(SERVER_MIGRATIONS.start_async(&mut *connection).await?)
                })
            })
            .collect();
        let mut applied = 0;
        for start in starts {
            let startup = start.await??;
            applied += startup.run.steps.len();
            assert_eq!(startup.run.heads_after, ["004"]);
        }
        assert_eq!(applied, SERVER_MIGRATIONS.len());
        let version: String = sqlx::query("SELECT version_num FROM alembic_version")
            .fetch_one(&pool)
            .await?
            .get(0);
        // A failing migration on a connection of the pool is rolled back,
        // names its line, and leaves the connection usable.
        let broken = broken_set(&dir)?;
        let mut connection = pool.acquire().await?;
        let error = broken.start_async(&mut *connection).await.unwrap_err();
        let migrate_kit::StartError::Run(migrate_kit::RunError::Statement(statement)) = &error else {
            panic!("expected a statement error, got {error:?}");
        };
        assert_eq!((statement.revision.as_str(), statement.line), ("005", 7));
        let columns: i64 = sqlx::query(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'",
        )
        .fetch_one(&mut *connection)
        .await?
        .get(0);
        assert_eq!(columns, 0, "the failed run is rolled back");
        drop(connection);
        std::fs::remove_dir_all(&dir)?;
        let same = start(url.clone(), &SERVER_MIGRATIONS).await?;
        assert_eq!(same, vec![version.clone()]);
        println!(
            "postgresql: eight starts on sqlx's pool took it to {version}, each migration once"
        );
    }
    Ok(())
}
