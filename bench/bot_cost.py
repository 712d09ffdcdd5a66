"""What the migration tool costs the example bot: build times, binary size
and crates, for the same tokio bot (a sqlx 0.9 SQLite pool for its own
queries, the bot's three migrations applied at start-up) with its
migrations on migrate (on a connection of its own, and on a connection of
the bot's pool), on sqlx's `migrate!`, on refinery, and on nothing.

Usage:
    python3 bench/bot_cost.py [--resume]

--resume keeps the figures of bots measured by an earlier, interrupted run.

Prints a Markdown section for RESULTS.md. Each bot is a crate of its own
under target/bench-bot/<tool>, built with a target folder of its own:
"cold" is a debug build of the bot and every dependency from nothing (the
registry already downloaded); "clean" rebuilds the bot crate alone;
"incremental" follows an edit of one migration file; the size is the
stripped release binary. Builds run one at a time, nothing else running.
"""

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = ROOT / "target" / "bench-bot"
REFERENCE = ROOT / "migrations" / "versions"

SQLX = 'sqlx = { version = "0.9.1", default-features = false, features = ["sqlite", "runtime-tokio"%s] }'
TOKIO = 'tokio = { version = "1", features = ["rt-multi-thread", "macros"] }'

# What each bot adds to the common crate: dependencies, the migrations'
# layout, and the start-up.
BOTS = {
    "none (the bot without migrations)": {
        "dir": "none",
        "deps": [SQLX % "", TOKIO],
        "prelude": "",
        "start": "",
    },
    "migrate-kit": {
        "dir": "migrate",
        "deps": [SQLX % "", TOKIO,
                 f'migrate-kit = {{ path = "{ROOT}", default-features = false, features = ["bundled"] }}'],
        "prelude": 'static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("migrations");\n',
        "start": """    let path = file.clone();
    tokio::task::spawn_blocking(move || -> Result<(), BoxError> {
        let mut db = migrate_kit::Database::open(&migrate_kit::Location::parse(&path)?, &Default::default())?;
        MIGRATIONS.start(&mut db)?;
        Ok(())
    })
    .await??;
""",
    },
    "migrate-kit, on the pool's connection": {
        "dir": "migrate-pool",
        "deps": [SQLX % "", TOKIO,
                 f'migrate-kit = {{ path = "{ROOT}", default-features = false, features = ["bundled", "sqlx-0_9-sqlite"] }}'],
        "prelude": 'static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("migrations");\n',
        "start": """    let mut conn = pool.acquire().await?;
    MIGRATIONS.start(&mut migrate_kit::sqlite::SqlxSqlite::lock(&mut conn).await?)?;
    drop(conn);
""",
        "after_pool": True,
    },
    "sqlx `migrate!`": {
        "dir": "sqlx",
        "deps": [SQLX % ', "migrate", "macros"', TOKIO],
        "prelude": "",
        "start": '    sqlx::migrate!("./migrations").run(&pool).await?;\n',
        "after_pool": True,
    },
    "refinery": {
        "dir": "refinery",
        "deps": [SQLX % "", TOKIO,
                 'refinery = { version = "0.10", features = ["rusqlite"] }',
                 # The SQLite sqlx 0.9 accepts.
                 'rusqlite = "0.37"'],
        "prelude": 'refinery::embed_migrations!("migrations");\n',
        "start": """    let path = file.clone();
    tokio::task::spawn_blocking(move || -> Result<(), BoxError> {
        let mut conn = rusqlite::Connection::open(path)?;
        migrations::runner().run(&mut conn)?;
        Ok(())
    })
    .await??;
""",
    },
}

MAIN = """type BoxError = Box<dyn std::error::Error + Send + Sync>;
%(prelude)s
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let file = std::env::args().nth(1).unwrap_or("bot.db".into());
%(early)s    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&file).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await?;
%(late)s    let (users,): (i64,) = sqlx::query_as("SELECT count(*) FROM sqlite_master").fetch_one(&pool).await?;
    println!("{users}");
    Ok(())
}
"""


def log(message):
    print(message, file=sys.stderr, flush=True)


def upgrade_sql(text):
    """The upgrade section of one of the reference migrations."""
    body = text.split("-- migrate:upgrade", 1)[1]
    return body.split("-- migrate:downgrade", 1)[0].strip() + "\n"


def write_bot(name, bot):
    crate = WORK / bot["dir"]
    shutil.rmtree(crate, ignore_errors=True)
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "bot-{bot["dir"]}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        "[workspace]\n\n[dependencies]\n" + "\n".join(bot["deps"]) + "\n\n"
        "[profile.release]\nstrip = true\n")
    files = sorted(REFERENCE.glob("*.sql"))
    if bot["dir"].startswith("migrate"):
        (crate / "migrations" / "versions").mkdir(parents=True)
        for f in files:
            shutil.copy(f, crate / "migrations" / "versions" / f.name)
    elif bot["dir"] in ("sqlx", "refinery"):
        (crate / "migrations").mkdir()
        for i, f in enumerate(files, 1):
            stem = re.sub(r"^\d+_", "", f.stem)
            target = f"{i:04}_{stem}.sql" if bot["dir"] == "sqlx" else f"V{i}__{stem}.sql"
            (crate / "migrations" / target).write_text(upgrade_sql(f.read_text()))
    # A start-up on a connection of its own runs before the pool opens.
    early, late = ("", bot["start"]) if bot.get("after_pool") else (bot["start"], "")
    (crate / "src" / "main.rs").write_text(MAIN % {"prelude": bot["prelude"], "early": early, "late": late})
    return crate


def build(crate, *args):
    started = time.perf_counter()
    subprocess.run(["cargo", "build", "--quiet", *args], cwd=crate, check=True)
    return time.perf_counter() - started


def crates(crate):
    tree = subprocess.run(["cargo", "tree", "--prefix", "none", "-e", "normal"], cwd=crate,
                          check=True, capture_output=True, text=True).stdout
    return len({line.split(" (")[0] for line in tree.splitlines() if line.strip()}) - 1


def touch_one_migration(crate):
    newest = max(p for p in (crate / "migrations").rglob("*.sql"))
    with newest.open("a") as f:
        f.write("-- touched\n")


def measure(name, bot):
    saved = WORK / f"{bot['dir']}.json"
    if "--resume" in sys.argv and saved.exists():
        return json.loads(saved.read_text())
    crate = write_bot(name, bot)
    subprocess.run(["cargo", "generate-lockfile", "--quiet"], cwd=crate, check=True)
    subprocess.run(["cargo", "fetch", "--quiet"], cwd=crate, check=True)
    log(f"{name}: cold build")
    figures = {"cold": build(crate)}
    subprocess.run(["cargo", "clean", "--quiet", "-p", f"bot-{bot['dir']}"], cwd=crate, check=True)
    figures["clean"] = build(crate)
    if bot["dir"] != "none":
        touch_one_migration(crate)
        figures["incremental"] = build(crate)
    db = crate / "bot.db"
    subprocess.run([crate / "target" / "debug" / f"bot-{bot['dir']}", db], check=True,
                   stdout=subprocess.DEVNULL)
    log(f"{name}: release build")
    build(crate, "--release")
    figures["size"] = (crate / "target" / "release" / f"bot-{bot['dir']}").stat().st_size
    figures["crates"] = crates(crate)
    saved.write_text(json.dumps(figures))
    return figures


def main():
    results = {name: measure(name, bot) for name, bot in BOTS.items()}
    base = results["none (the bot without migrations)"]
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    lines = ["## The example bot's cost: build and binary (`python3 bench/bot_cost.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')} with {rustc}: the same tokio bot (a sqlx 0.9 "
             "SQLite pool for its own queries, the three reference migrations applied at start-up) "
             "with its migrations on each tool. Cold: a debug build of the bot and all its "
             "dependencies from nothing; clean: the bot crate alone; incremental: after one "
             "migration file changed; size: the stripped release binary; crates: in `cargo tree`. "
             "One build of each; the differences to the bot without migrations are what the "
             "tool adds.", "",
             "| migrations on | cold (s) | clean (s) | incremental (s) | size (MiB) | crates |",
             "|---|---|---|---|---|---|"]
    for name, f in results.items():
        incremental = f"{f['incremental']:.2f}" if "incremental" in f else "-"
        extra = "" if f is base else (f" (+{f['cold'] - base['cold']:.0f})",
                                      f" (+{(f['size'] - base['size']) / 2**20:.2f})",
                                      f" (+{f['crates'] - base['crates']})")
        cold, size, count = extra or ("", "", "")
        lines.append(f"| {name} | {f['cold']:.0f}{cold} | {f['clean']:.2f} | {incremental} | "
                     f"{f['size'] / 2**20:.2f}{size} | {f['crates']}{count} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
