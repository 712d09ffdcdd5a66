"""One big migration: N INSERT statements (a seed, a backfill) in one file,
applied by `migrate upgrade head` against the database's own shell running
the same SQL in one transaction (`sqlite3`, `psql -1 -f`). Reports wall
time, the ratio to the shell, and each process's peak memory (max RSS).

Usage (release build of the command line first: `cargo build --release -p
migrate-kit-cli`; the server as MIGRATE_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres):
    python3 bench/big_migration.py [--sizes 20000,160000,1000000] [--rounds 3] [--no-postgres] [--build]

--build also times `cargo build` (debug) of a crate that embeds the one
migration (`embed_migrations!`), after its dependencies are built: the
macro's work on a big file.

--peers [--peer-limit S] applies the same one migration with every embedding tool of
bench/tools (this project's `embed_migrations!`, sqlx's `migrate!`,
refinery's and diesel's `embed_migrations!`, each in its release build)
and reports their time and peak memory beside the shell's; an apply still
running after S seconds (default 120) is stopped and reported so. It rewrites
those tools' `migrations/` folders (bench/run.py writes them again).

Prints a Markdown section for RESULTS.md.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "bench-big"
MIGRATE = ROOT / "target" / "release" / "migrate"
SERVER = os.environ.get("MIGRATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


SIZES = [int(n) for n in option("--sizes", "20000,160000,1000000").split(",")]
ROUNDS = int(option("--rounds", "3"))
POSTGRES = "--no-postgres" not in sys.argv
BUILD = "--build" in sys.argv
PEERS = "--peers" in sys.argv
TOOLS = ROOT / "bench" / "tools"
PEER_BUILD_LIMIT_S = 900
# A peer's apply is stopped after this long (sqlx and refinery hand SQLite
# the rest of the migration with each statement, which SQLite copies:
# quadratic in the file).
PEER_APPLY_LIMIT_S = int(option("--peer-limit", "120"))


def statements(n):
    yield "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty integer NOT NULL);\n"
    for i in range(n):
        yield f"INSERT INTO items (id, name, qty) VALUES ({i}, 'item number {i}', {i % 97});\n"


def write_project(n):
    """A migrations folder holding the one migration, and the same SQL as
    a plain script for the shells."""
    project = WORK / f"n{n}"
    shutil.rmtree(project, ignore_errors=True)
    versions = project / "migrations" / "versions"
    versions.mkdir(parents=True)
    script = project / "upgrade.sql"
    with open(versions / "001_seed.sql", "w") as migration, open(script, "w") as plain:
        migration.write("-- revision: 0001seed\n-- down_revision: none\n-- message: seed\n\n-- migrate:upgrade\n")
        for statement in statements(n):
            migration.write(statement)
            plain.write(statement)
        migration.write("\n-- migrate:downgrade\nDROP TABLE items;\n")
    return project, script, (versions / "001_seed.sql").stat().st_size


def peer_files(tool, upgrade):
    """The one migration in `tool`'s own layout: (relative path, text)."""
    if tool == "migrate":
        return [("versions/001_seed.sql", "-- revision: 0001seed\n-- down_revision: none\n-- message: seed\n\n"
                 f"-- migrate:upgrade\n{upgrade}\n-- migrate:downgrade\nDROP TABLE items;\n")]
    if tool == "sqlx":
        return [("1_seed.sql", upgrade)]
    if tool == "refinery":
        return [("V1__seed.sql", upgrade)]
    return [("00001_seed/up.sql", upgrade), ("00001_seed/down.sql", "DROP TABLE items;\n")]


def peers(n, script):
    """Each embedding tool applies the one migration to a new SQLite file:
    (time ms, max RSS MiB) of the median round, or None when its release
    build did not finish within PEER_BUILD_LIMIT_S."""
    upgrade = script.read_text()
    rows = {}
    for tool in ["migrate", "sqlx", "refinery", "diesel"]:
        folder = TOOLS / tool / "migrations"
        shutil.rmtree(folder, ignore_errors=True)
        for relative, text in peer_files(tool, upgrade):
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)
        print(f"N={n:,}: building {tool} with the migration embedded", file=sys.stderr, flush=True)
        try:
            subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=TOOLS / tool, check=True,
                           timeout=PEER_BUILD_LIMIT_S)
        except subprocess.TimeoutExpired:
            rows[tool] = None
            continue
        binary = TOOLS / tool / "target" / "release" / f"bench-{tool}"
        runs = []
        for _ in range(ROUNDS):
            db = WORK / f"peer-{tool}.db"
            for suffix in ["", "-wal", "-shm", "-journal"]:
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            print(f"N={n:,}: {tool} applies it", file=sys.stderr, flush=True)
            runs.append(run([str(binary), "apply", str(db)], TOOLS / tool, limit=PEER_APPLY_LIMIT_S))
            if runs[-1] is None:
                break
        rows[tool] = "stopped" if None in runs else (
            statistics.median(t for t, _ in runs), max(m for _, m in runs))
    return rows


def run(command, cwd, stdin=None, env=None, limit=None):
    """Wall time (ms) and peak memory (MiB) of one process; the peak read by
    GNU time (a child of this Python would inherit Python's own peak as its
    floor). None when it ran longer than `limit` seconds (it is stopped)."""
    with tempfile.NamedTemporaryFile() as peak, (open(stdin, "rb") if stdin else open(os.devnull, "rb")) as feed:
        started = time.perf_counter()
        try:
            done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", peak.name, *command], cwd=cwd, stdin=feed,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=limit)
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-f", command[0]])
            return None
        elapsed = 1000 * (time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"{command} failed: {done.stderr.decode()}")
        return elapsed, int(Path(peak.name).read_text().split()[-1]) / 1024


def admin(sql):
    subprocess.run(["psql", SERVER, "-q", "-c", sql], check=True, capture_output=True)


def server_db(name):
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    return f"{SERVER.rsplit('/', 1)[0]}/{name}?sslmode=disable"


def build_seconds(project):
    """Debug build of a crate embedding `project/migrations`, its
    dependencies built first; the median of ROUNDS builds after touching
    the migration."""
    crate = project / "crate"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "big-embed"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        f'[workspace]\n\n[dependencies]\nmigrate-kit = {{ path = "{ROOT}", default-features = false, features = ["bundled"] }}\n')
    (crate / "src" / "main.rs").write_text(
        'static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("../migrations");\n'
        'fn main() { println!("{}", MIGRATIONS.len()); }\n')
    shutil.copy(ROOT / "Cargo.lock", crate / "Cargo.lock")
    env = {**os.environ, "CARGO_TARGET_DIR": str(WORK / "build-target")}
    subprocess.run(["cargo", "build", "--quiet"], cwd=crate, env=env, check=True)
    times = []
    migration = project / "migrations" / "versions" / "001_seed.sql"
    for _ in range(ROUNDS):
        with open(migration, "a") as f:
            f.write("-- touched\n")
        started = time.perf_counter()
        subprocess.run(["cargo", "build", "--quiet"], cwd=crate, env=env, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(n):
    project, script, size = write_project(n)
    rows = {}
    if BUILD:
        print(f"N={n:,}: build", file=sys.stderr, flush=True)
        BUILDS[n] = build_seconds(project)
    for round_ in range(ROUNDS):
        print(f"N={n:,}: round {round_ + 1}", file=sys.stderr, flush=True)
        shell = project / "shell.db"
        shell.unlink(missing_ok=True)
        wrapped = project / "wrapped.sql"
        wrapped.write_text("BEGIN;\n.read upgrade.sql\nCOMMIT;\n")
        rows.setdefault("sqlite3 shell, one transaction", []).append(
            run(["sqlite3", str(shell)], project, stdin=wrapped))
        shutil.rmtree(project / "data", ignore_errors=True)
        rows.setdefault("migrate upgrade head (SQLite)", []).append(
            run([str(MIGRATE), "upgrade", "head"], project))
        if POSTGRES:
            url = server_db("bench_big_psql")
            rows.setdefault("psql -1 -f", []).append(
                run(["psql", url, "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(script)], project))
            url = server_db("bench_big_migrate")
            rows.setdefault("migrate upgrade head (PostgreSQL)", []).append(
                run([str(MIGRATE), "--database", url, "upgrade", "head"], project))
    if PEERS:
        PEER_ROWS[n] = peers(n, script)
    if POSTGRES:
        admin('DROP DATABASE IF EXISTS "bench_big_psql" WITH (FORCE)')
        admin('DROP DATABASE IF EXISTS "bench_big_migrate" WITH (FORCE)')
    shutil.rmtree(project, ignore_errors=True)
    return size, {job: (statistics.median(t for t, _ in v), max(m for _, m in v)) for job, v in rows.items()}


BUILDS = {}
PEER_ROWS = {}


def main():
    results = {n: measure(n) for n in SIZES}
    lines = ["## One big migration: N INSERT statements in one file (`python3 bench/big_migration.py`)", "",
             f"Median of {ROUNDS} rounds, whole process; peak memory is the process's max RSS. "
             "The shells run the same statements in one transaction.", "",
             "| N (file size) | tool | time | ratio to its shell | max RSS |", "|---|---|---|---|---|"]
    for n, (size, rows) in results.items():
        pairs = [("sqlite3 shell, one transaction", "sqlite3 shell, one transaction"),
                 ("migrate upgrade head (SQLite)", "sqlite3 shell, one transaction")]
        if POSTGRES:
            pairs += [("psql -1 -f", "psql -1 -f"), ("migrate upgrade head (PostgreSQL)", "psql -1 -f")]
        for job, shell in pairs:
            t, m = rows[job]
            lines.append(f"| {n:,} ({size / 2**20:.1f} MiB) | {job} | {t / 1000:.2f} s | "
                         f"{t / rows[shell][0]:.2f}x | {m:.0f} MiB |")
    if BUILDS:
        lines += ["", "`cargo build` (debug) of a crate embedding the migration, after it changed "
                  "(dependencies built; median of the rounds):", "", "| N (file size) | build |", "|---|---|"]
        lines += [f"| {n:,} ({results[n][0] / 2**20:.1f} MiB) | {t:.2f} s |" for n, t in BUILDS.items()]
    if PEER_ROWS:
        lines += ["", "The same migration embedded in each tool's binary and applied to a new SQLite file "
                  "(`--peers`; release builds; median of the rounds, max RSS the highest):", "",
                  "| N (file size) | tool | time | ratio to the sqlite3 shell | max RSS |", "|---|---|---|---|---|"]
        for n, rows in PEER_ROWS.items():
            size, shell_rows = results[n]
            shell = shell_rows["sqlite3 shell, one transaction"][0]
            for tool, row in rows.items():
                if row is None:
                    lines.append(f"| {n:,} ({size / 2**20:.1f} MiB) | {tool} | build stopped after "
                                 f"{PEER_BUILD_LIMIT_S} s | | |")
                    continue
                if row == "stopped":
                    lines.append(f"| {n:,} ({size / 2**20:.1f} MiB) | {tool} | stopped after "
                                 f"{PEER_APPLY_LIMIT_S} s | more than {1000 * PEER_APPLY_LIMIT_S / shell:.0f}x | |")
                    continue
                t, m = row
                lines.append(f"| {n:,} ({size / 2**20:.1f} MiB) | {tool} | {t / 1000:.2f} s | "
                             f"{t / shell:.2f}x | {m:.0f} MiB |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
