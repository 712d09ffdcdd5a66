"""The PostgreSQL comparison: apply N generated migrations to an empty
database, and the start-up check of a database with N applied, for this
project, sqlx, refinery and diesel_migrations (each built with its
PostgreSQL support), Alembic, and the floor: the same SQL through
`psql -1 -f` (one transaction, no bookkeeping). Below the floor, "the
server alone" sends that SQL as one message: no round trip per statement,
the time no client can go under. Every figure is the wall time of a whole
process (start, connect, work, exit), the median of the rounds; the tools
run interleaved round by round, in an order shuffled per round, each after
a 50 ms pause, each apply on a database created for it and dropped after
the runs.

With --delay-ms D, every tool reaches the server through a proxy on
loopback that delays each direction by D/2 ms (bench/delay_proxy.py: a
round trip of D ms, as a managed server a few milliseconds away), and the
tables add the round trips each process made. The floor that matters
there is "one message per migration": each migration's SQL as one
message, in one transaction, with no bookkeeping.

Usage (the server as MIGRATE_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres; Alembic with psycopg in
target/alembic-venv, as .ci/run installs it):
    python3 bench/postgres.py [--quick] [--sizes 100,1000] [--delay-ms 1]
        [--tools migrate,refinery,sqlx,diesel,alembic]

Prints a Markdown section for RESULTS.md.
"""

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import migrations
from delay_proxy import DelayProxy

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOOLS = BENCH / "tools"
WORK = ROOT / "target" / "bench-postgres"
QUICK = "--quick" in sys.argv
SIZES = [100] if QUICK else [100, 1000]
if "--sizes" in sys.argv:
    SIZES = [int(n) for n in sys.argv[sys.argv.index("--sizes") + 1].split(",")]
SERVER = os.environ.get("MIGRATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PYTHON = ROOT / "target" / "alembic-venv" / "bin" / "python"
PEERS = ["migrate", "refinery", "sqlx", "diesel"]
TOOLS_RUN = ["migrate", "refinery", "sqlx", "diesel", "alembic"]
if "--tools" in sys.argv:
    TOOLS_RUN = sys.argv[sys.argv.index("--tools") + 1].split(",")
    PEERS = [tool for tool in PEERS if tool in TOOLS_RUN or tool == "migrate"]
DELAY_MS = float(sys.argv[sys.argv.index("--delay-ms") + 1]) if "--delay-ms" in sys.argv else None
PROXY = None

APPLY = [
    ("migrate server-alone", "the server alone: the same SQL as one message, one transaction"),
    ("floor", "floor: psql -1 -f, one transaction, no bookkeeping"),
    ("migrate floor", "floor: one message per migration, one transaction, no bookkeeping"),
    ("migrate apply", "migrate (default: one transaction)"),
    ("migrate apply-per-migration", "migrate --transaction-per-migration"),
    ("refinery apply", "refinery (default: transaction per migration)"),
    ("refinery apply-grouped", "refinery grouped"),
    ("sqlx apply", "sqlx migrate! (transaction per migration)"),
    ("diesel apply", "diesel_migrations (transaction per migration)"),
    ("alembic", "alembic upgrade head (one transaction)"),
]
CHECK = [
    ("floor", "floor: psql, read alembic_version"),
    ("migrate check", "migrate verify: every checksum, the ledger, the graph"),
    ("migrate start", "migrate start: verify, refuse drift, upgrade to head (nothing to run)"),
    ("refinery check", "refinery run, nothing to apply"),
    ("sqlx check", "sqlx run, nothing to apply"),
    ("diesel check", "diesel run_pending_migrations, nothing to apply"),
    ("alembic", "alembic current"),
]


def repeats(n):
    return 3 if QUICK else {100: 11, 1000: 5}.get(n, 3)


def check_repeats():
    """Checks take milliseconds: enough rounds for a steady median."""
    return 3 if QUICK else 21


def shuffled(jobs, round_):
    """The jobs in a different order each round (seeded by the round), so
    that no tool always runs right after the same one."""
    order = list(jobs)
    random.Random(round_).shuffle(order)
    return order


def log(message):
    print(message, file=sys.stderr, flush=True)


# Every tool connects in plain text: the peers are built without TLS, and
# a TLS handshake would dwarf a start-up check (libpq-based tools, diesel
# and Alembic, and this project would otherwise negotiate it by default).
PLAIN = "?sslmode=disable"


def url_of(database, via_proxy=True):
    """The URL of `database`; the tools' URLs go through the delay proxy,
    when there is one."""
    base = SERVER.rsplit('/', 1)[0]
    if PROXY and via_proxy:
        base = f"postgresql://{base.split('://', 1)[1].split('@')[0]}@127.0.0.1:{PROXY.port}"
    return f"{base}/{database}{PLAIN}"


def selected(jobs):
    """The jobs of the tools this run measures (`--tools`); the floors
    always run."""
    def tool(job):
        first = job.split()[0]
        return first if first in TOOLS_RUN + ["alembic"] else None
    return [(job, label) for job, label in jobs
            if job == "floor" or job.startswith("migrate") or tool(job) in TOOLS_RUN]


def name_of(url):
    return url.rsplit("/", 1)[1].split("?")[0]


def psql(database, *args, via_proxy=True):
    return ["psql", url_of(database, via_proxy), "-q", "-v", "ON_ERROR_STOP=1", *args]


def admin(sql):
    subprocess.run(psql(name_of(SERVER), "-c", sql, via_proxy=False), check=True, capture_output=True)


def fresh(name):
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    return url_of(name)


def timed(command, cwd=None, env=None):
    # A quiet machine to start on, as a bot's start has: the previous
    # process's server backend has finished exiting.
    time.sleep(0.05)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return 1000 * (time.perf_counter() - started)


def prepare(n):
    """Each tool's migrations of size n, its release build, the floor's SQL
    file and the Alembic project."""
    migrations.DIALECT = "postgres"
    for tool in PEERS:
        folder = TOOLS / tool / "migrations"
        shutil.rmtree(folder, ignore_errors=True)
        migrations.WRITERS[tool](folder, n)
        log(f"N={n}: building {tool}")
        subprocess.run(["cargo", "build", "--quiet", "--release", "--features", "postgres"],
                       cwd=TOOLS / tool, check=True)
    WORK.mkdir(parents=True, exist_ok=True)
    floor = WORK / f"floor-{n}.sql"
    floor.write_text("".join(migrations._sql(up) for _, up, _ in migrations.steps(n)))
    project = WORK / f"alembic-{n}"
    shutil.rmtree(project, ignore_errors=True)
    migrations.write_alembic(project, n)
    return floor, project


def command_of(job, url, floor, project):
    """The process of a job, and its environment."""
    if job == "floor":
        return psql(name_of(url), "-1", "-f", str(floor)), None
    if job == "alembic":
        alembic_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        return [str(PYTHON), "-m", "alembic", "upgrade", "head"], {**os.environ, "ALEMBIC_URL": alembic_url}
    tool, mode = job.split()
    return [str(TOOLS / tool / "target" / "release" / f"bench-{tool}"), mode, url], None


def measure(n):
    floor, project = prepare(n)
    applied = {job: [] for job, _ in APPLY}
    for round_ in range(repeats(n)):
        log(f"N={n}: apply round {round_ + 1}")
        for job, _ in shuffled(APPLY, round_):
            url = fresh(f"bench_apply_{job.replace(' ', '_').replace('-', '_')}")
            command, env = command_of(job, url, floor, project)
            if PROXY:
                PROXY.take_round_trips()
            applied[job].append(timed(command, cwd=project, env=env))
            if PROXY:
                ROUND_TRIPS[(n, job)] = PROXY.take_round_trips()
    # One database per tool with everything applied, then the checks.
    checked = {}
    for job, _ in CHECK:
        url = fresh(f"bench_check_{job.replace(' ', '_')}")
        source = "floor" if job == "floor" else ("alembic" if job == "alembic" else f"{job.split()[0]} apply")
        command, env = command_of(source, url, floor, project)
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
        if job == "floor":
            # The floor's own ledger: one row, as every tool reads one.
            subprocess.run(psql(name_of(url), "-c",
                                "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); "
                                f"INSERT INTO alembic_version VALUES ('{n - 1:05}')"), check=True)
        checked[job] = url
    # Settled, as a database migrated a while ago is: autovacuum has been
    # through the new tables, so it does not run during the checks.
    for url in checked.values():
        subprocess.run(psql(name_of(url), "-c", "VACUUM (ANALYZE)"), check=True, capture_output=True)
    admin("CHECKPOINT")
    checks = {job: [] for job, _ in CHECK}
    for round_ in range(check_repeats()):
        log(f"N={n}: check round {round_ + 1}")
        for job, _ in shuffled(CHECK, round_):
            url = checked[job]
            if job == "floor":
                command, env = psql(name_of(url), "-tAc", "SELECT version_num FROM alembic_version"), None
            elif job == "alembic":
                command = [str(PYTHON), "-m", "alembic", "current"]
                env = {**os.environ, "ALEMBIC_URL": url.replace("postgresql://", "postgresql+psycopg://", 1)}
            else:
                command, env = command_of(job, url, floor, project)
            if PROXY:
                PROXY.take_round_trips()
            checks[job].append(timed(command, cwd=project, env=env))
            if PROXY:
                ROUND_TRIPS[(n, "check " + job)] = PROXY.take_round_trips()
    for job, _ in CHECK:
        admin(f'DROP DATABASE IF EXISTS "{name_of(checked[job])}" WITH (FORCE)')
    for job, _ in APPLY:
        admin(f'DROP DATABASE IF EXISTS "bench_apply_{job.replace(" ", "_").replace("-", "_")}" WITH (FORCE)')
    return ({job: statistics.median(v) for job, v in applied.items()},
            {job: statistics.median(v) for job, v in checks.items()})


ROUND_TRIPS = {}


def round_trip_ms():
    """What one more round trip through the link costs a client: 200
    `SELECT 1` in one psql session against one, per extra round trip."""
    url = url_of(name_of(SERVER))
    started = time.perf_counter()
    subprocess.run(["psql", url, "-q", "-c", "SELECT 1"], check=True, capture_output=True)
    one = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(["psql", url, "-q"], input=("SELECT 1;\n" * 200).encode(), check=True, capture_output=True)
    return 1000 * (time.perf_counter() - started - one) / 199


def main():
    global APPLY, CHECK, PROXY
    APPLY, CHECK = selected(APPLY), selected(CHECK)
    if DELAY_MS is not None:
        host, port = SERVER.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
        PROXY = DelayProxy(host, int(port), DELAY_MS / 2)
        PROXY.start()
    version = subprocess.run(psql(name_of(SERVER), "-tAc", "SHOW server_version", via_proxy=False),
                             check=True, capture_output=True, text=True).stdout.strip()
    measured_trip = round_trip_ms() if PROXY else None
    results = {n: measure(n) for n in SIZES}
    link = (f", through a {DELAY_MS:g} ms round-trip link (`--delay-ms {DELAY_MS:g}`; "
            f"a round trip measured {measured_trip:.2f} ms with psql)" if PROXY else "")
    lines = [f"## PostgreSQL {version} (`python3 bench/postgres.py`){link}", "",
             "Wall time of a whole process (start, connect, work, exit), median; "
             "each apply on a database created for it."
             + (" Round trips: what one process made through the link, connecting included." if PROXY else ""), "",
             "Apply N migrations to an empty database:", "",
             "| tool | " + " | ".join(f"N={n:,}" for n in SIZES) + " |",
             "|---|" + "---|" * len(SIZES)]
    floor_job = "migrate floor" if PROXY else "floor"
    floor = {n: results[n][0][floor_job] for n in SIZES}

    def trips(n, job):
        return f", {ROUND_TRIPS[(n, job)]:,} round trips" if (n, job) in ROUND_TRIPS else ""
    for job, label in APPLY:
        cells = [f"{results[n][0][job]:.0f} ms ({results[n][0][job] / floor[n]:.2f}x floor{trips(n, job)})"
                 for n in SIZES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Start-up check of a database with N applied:", "",
              "| tool | " + " | ".join(f"N={n:,}" for n in SIZES) + " |",
              "|---|" + "---|" * len(SIZES)]
    for job, label in CHECK:
        lines.append(f"| {label} | " + " | ".join(f"{results[n][1][job]:.1f} ms{trips(n, 'check ' + job)}"
                                                   for n in SIZES) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
