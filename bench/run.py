"""Runs every comparison of the benchmark and writes RESULTS.md and plot.svg.

Usage (through bench/run.sh, which prepares Alembic's virtualenv):
    python3 bench/run.py [--quick]

--quick runs N = 10 and 100 only, with fewer repeats, to try the harness.
--sizes 1000 runs those N only (Alembic too); --report PATH writes the
report there instead of RESULTS.md (to splice a partial run into it).

A build that takes longer than BUILD_LIMIT_S is stopped and reported as
such; that tool is then left out of the apply and check rounds of that N
(a stale binary of a smaller N is never used).
"""

import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import migrations
import plot

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOOLS = BENCH / "tools"
WORK = ROOT / "target" / "bench"
QUICK = "--quick" in sys.argv
SIZES = [10, 100] if QUICK else [10, 100, 1000, 10000]
ALEMBIC_SIZES = [10, 100] if QUICK else [10, 100, 1000]
if "--sizes" in sys.argv:
    SIZES = [int(n) for n in sys.argv[sys.argv.index("--sizes") + 1].split(",")]
    ALEMBIC_SIZES = [n for n in SIZES if n <= 1000]
REPORT = Path(sys.argv[sys.argv.index("--report") + 1]).resolve() if "--report" in sys.argv else None
PYTHON = Path(os.environ.get("ALEMBIC_PYTHON", sys.executable))
BUILD_LIMIT_S = 600
# The build row of this project with its `cli` feature (clap, toml and
# serde_json linked in, for a bot that embeds the command line); the
# `migrate` row is the crate that only embeds, as the peers' rows are.
MIGRATE_CLI = "migrate with the cli feature"

# (tool, mode, label) of every apply measurement.
APPLY = [
    ("migrate", "floor", "floor: rusqlite, one transaction, no bookkeeping"),
    ("migrate", "apply", "migrate (default: one transaction)"),
    ("migrate", "apply-per-migration", "migrate --transaction-per-migration"),
    ("refinery", "apply", "refinery (default: transaction per migration)"),
    ("refinery", "apply-grouped", "refinery grouped"),
    ("sqlx", "apply", "sqlx migrate!"),
    ("diesel", "apply", "diesel_migrations"),
]
# (tool, mode, what runs) of every start-up check measurement.
CHECK = [("migrate", "check-floor", "floor: open, read alembic_version"),
         ("migrate", "check", "verify: every checksum, the ledger, the graph"),
         ("refinery", "check", "run, nothing to apply (validates checksums)"),
         ("sqlx", "check", "run, nothing to apply (validates checksums)"),
         ("diesel", "check", "run_pending_migrations, nothing to apply (no checksums)")]


def repeats(n: int) -> int:
    if QUICK:
        return 3
    return {10: 21, 100: 21, 1000: 11, 10000: 5}[n]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(command: list[str], cwd: Path | None = None, env: dict | None = None) -> float:
    """Seconds one run of a command takes; fails loudly when it fails."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def median_of(command: list[str], runs: int, cwd: Path | None = None, env: dict | None = None) -> float:
    return statistics.median(timed(command, cwd, env) for _ in range(runs))


def place_migrations(tool: str, n: int) -> None:
    folder = TOOLS / tool / "migrations"
    shutil.rmtree(folder, ignore_errors=True)
    migrations.WRITERS[tool](folder, n)


def touch_one_migration(tool: str) -> None:
    """Edits the newest migration file (a trailing comment), as a developer does."""
    files = sorted(p for p in (TOOLS / tool / "migrations").rglob("*.sql"))
    newest = max(files, key=lambda p: (len(p.parts), p.parent.name, p.name))
    with newest.open("a") as f:
        f.write("-- touched\n")


def cargo_build(tool: str, release: bool, features: str | None = None) -> float | None:
    """Seconds the build takes, or None when it exceeds BUILD_LIMIT_S (the
    build and every compiler it started are stopped)."""
    command = (["cargo", "build", "--quiet"] + (["--release"] if release else [])
               + (["--features", features] if features else []))
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=TOOLS / tool, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, stderr = process.communicate(timeout=BUILD_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        log(f"  {tool}: {'release' if release else 'debug'} build stopped after {BUILD_LIMIT_S} s")
        return None
    if process.returncode != 0:
        raise RuntimeError(f"building {tool} failed:\n{stderr.decode()}")
    return time.perf_counter() - started


def binary(tool: str) -> Path:
    return TOOLS / tool / "target" / "release" / f"bench-{tool}"


def build_figures(tool: str, features: str | None = None) -> dict:
    """Debug build of the crate alone (dependencies already built), then
    after one migration file changed; release binary size (None when the
    release build did not finish; not measured with `features`, which only
    time the debug builds of a variant)."""
    figures = {"clean_s": None, "incremental_s": None, "size": None}
    if features is None:
        binary(tool).unlink(missing_ok=True)
    if cargo_build(tool, release=False, features=features) is None:
        return figures
    subprocess.run(["cargo", "clean", "--quiet", "-p", f"bench-{tool}"], cwd=TOOLS / tool, check=True)
    figures["clean_s"] = cargo_build(tool, release=False, features=features)
    touch_one_migration(tool)
    figures["incremental_s"] = cargo_build(tool, release=False, features=features)
    if features is None and cargo_build(tool, release=True) is not None:
        figures["size"] = binary(tool).stat().st_size
    return figures


def remove_database(db: Path) -> None:
    for suffix in ["", "-wal", "-shm", "-journal"]:
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def run_once(tool: str, mode: str, db: Path) -> dict:
    """One process, one operation, timed inside the process; with the
    process's peak memory (max RSS, KiB) as `rss_kib`, read by GNU time (a
    child of this Python would inherit Python's own peak as its floor)."""
    with tempfile.NamedTemporaryFile() as peak:
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", peak.name, str(binary(tool)), mode, str(db)],
                             check=True, capture_output=True, text=True).stdout
        result = json.loads(out)
        result["rss_kib"] = int(Path(peak.name).read_text().split()[-1])
    return result


def measure_rounds(jobs: list[tuple[str, str]], n: int, scratch: Path, fresh: bool) -> dict:
    """Medians (ms) of each (tool, mode), the jobs interleaved round by round
    so that a slow moment of the machine hits every tool alike."""
    samples: dict = {job: [] for job in jobs}
    for _ in range(repeats(n)):
        for tool, mode in jobs:
            db = scratch / (f"{tool}-{mode}.db" if fresh else f"{tool}-checked.db")
            result = run_once(tool, mode, db)
            samples[(tool, mode)].append(result["us"] / 1000)
            PEAK_KIB[(tool, mode, n)] = max(PEAK_KIB.get((tool, mode, n), 0), result["rss_kib"])
            SQLITE[tool] = result["sqlite"]
            if fresh:
                remove_database(db)
    return {job: statistics.median(values) for job, values in samples.items()}


SQLITE: dict = {}
# The highest max RSS (KiB) of any run of (tool, mode, n).
PEAK_KIB: dict = {}


def alembic_apply(n: int) -> dict:
    """Whole `alembic upgrade head` process, and the upgrade alone inside
    one Python process; medians in ms."""
    project = WORK / f"alembic-{n}"
    shutil.rmtree(project, ignore_errors=True)
    migrations.write_alembic(project, n)
    runs = 3 if n >= 1000 else 5
    whole, inside = [], []
    for i in range(runs):
        db = project / f"w{i}.db"
        whole.append(1000 * timed([str(PYTHON), "-m", "alembic", "upgrade", "head"], cwd=project,
                                  env={**os.environ, "ALEMBIC_DB": str(db)}))
        out = subprocess.run([str(PYTHON), str(BENCH / "alembic_apply.py"), str(project), str(project / f"i{i}.db")],
                             check=True, capture_output=True, text=True).stdout
        inside.append(int(out) / 1000)
    return {"whole": statistics.median(whole), "inside": statistics.median(inside)}


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict = {"apply": {}, "check": {}, "build": {}, "sqlite": SQLITE, "alembic": {}, "graph": {}, "cli": {}}
    tools = ["migrate", "refinery", "sqlx", "diesel"]
    for n in SIZES:
        for tool in tools:
            log(f"N={n}: building {tool}")
            place_migrations(tool, n)
            results["build"].setdefault(tool, {})[n] = build_figures(tool)
            if tool == "migrate":
                log(f"N={n}: building migrate with its cli feature")
                results["build"].setdefault(MIGRATE_CLI, {})[n] = build_figures(tool, features="cli")
        built = [tool for tool in tools if results["build"][tool][n]["size"] is not None]
        with tempfile.TemporaryDirectory(dir=WORK) as scratch:
            log(f"N={n}: apply, {repeats(n)} rounds")
            apply = measure_rounds([(tool, mode) for tool, mode, _ in APPLY if tool in built], n,
                                   Path(scratch), fresh=True)
            for (tool, mode), ms in apply.items():
                results["apply"].setdefault(f"{tool} {mode}", {})[n] = ms
                results.setdefault("apply_rss_mib", {}).setdefault(f"{tool} {mode}", {})[n] = (
                    PEAK_KIB[(tool, mode, n)] / 1024)
            for tool in built:
                run_once(tool, "apply", Path(scratch) / f"{tool}-checked.db")
            log(f"N={n}: start-up check, {repeats(n)} rounds")
            check = measure_rounds([(tool, mode) for tool, mode, _ in CHECK if tool in built], n,
                                   Path(scratch), fresh=False)
            for (tool, mode), ms in check.items():
                results["check"].setdefault(f"{tool} {mode}", {})[n] = ms
    for n in ALEMBIC_SIZES:
        log(f"N={n}: alembic upgrade head")
        results["alembic"][n] = alembic_apply(n)
    graph_and_cli(results)
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    write_report(results)


def graph_and_cli(results: dict) -> None:
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "migrate-kit-cli"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "migrate-kit", "--example", "graph_scale"],
                   cwd=ROOT, check=True)
    release = ROOT / "target" / "release"
    for n in ([1000, 10000] if QUICK else [1000, 10000, 100000]):
        log(f"graph: {n} revisions")
        text = subprocess.run([str(release / "examples" / "graph_scale"), str(n)], check=True,
                              capture_output=True, text=True).stdout
        figures = dict(re.findall(r"^(.*?)(?: \(\d+ steps\))?: ([\d.]+) ms$", text, re.M))
        graph = {k: float(v) for k, v in figures.items()}
        graph["in memory total: parse, validate, order, plan"] = (
            graph["parse + validate + order, in memory"] + graph["plan `upgrade head`"])
        results["graph"][n] = graph
    for n in ([1000] if QUICK else [1000, 10000]):
        project = WORK / f"alembic-heads-{n}"
        shutil.rmtree(project, ignore_errors=True)
        migrations.write_alembic(project, n)
        log(f"alembic heads on {n} revisions")
        results["graph"].setdefault("alembic heads", {})[n] = 1000 * median_of(
            [str(PYTHON), "-m", "alembic", "heads"], 3, cwd=project)
    # CLI on a 1,000-revision folder and a database at head.
    n = 1000
    ours = WORK / "cli-migrate"
    shutil.rmtree(ours, ignore_errors=True)
    migrations.write_migrate(ours / "migrations", n)
    db = ours / "cli.db"
    migrate = [str(release / "migrate"), "--dir", str(ours / "migrations"), "--database", str(db)]
    subprocess.run(migrate + ["upgrade", "head"], check=True, capture_output=True)
    theirs = WORK / "alembic-cli"
    shutil.rmtree(theirs, ignore_errors=True)
    migrations.write_alembic(theirs, n)
    alembic_env = {**os.environ, "ALEMBIC_DB": str(theirs / "cli.db")}
    subprocess.run([str(PYTHON), "-m", "alembic", "upgrade", "head"], cwd=theirs, env=alembic_env,
                   check=True, capture_output=True)
    for command in ["current", "history"]:
        log(f"cli: {command}")
        results["cli"][command] = {
            "migrate": 1000 * median_of(migrate + [command], 11),
            "alembic": 1000 * median_of([str(PYTHON), "-m", "alembic", command], 5, cwd=theirs, env=alembic_env),
        }


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    alembic = subprocess.run([str(PYTHON), "-m", "alembic", "--version"], capture_output=True,
                             text=True).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"{rustc}; {alembic}, Python {platform.python_version()}")


def fmt(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.3f}" if ms < 1 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


NOT_BUILT = "not built"


def build_cell(figures: dict) -> str:
    """`clean / incremental / size`; a build stopped at the limit shows as `> limit`."""
    seconds = [f"{s:.2f}" if s is not None else f"> {BUILD_LIMIT_S}" for s in
               (figures["clean_s"], figures["incremental_s"])]
    if figures["size"] is not None:
        size = f"{figures['size'] / 2**20:.1f}"
    else:
        size = "-" if figures["incremental_s"] is not None else f"release build > {BUILD_LIMIT_S} s"
    return " / ".join(seconds + [size])


def write_report(results: dict) -> None:
    sizes = SIZES
    lines = ["# Benchmark results", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {machine()}.",
             "Reproduce with `bench/run.sh` (about an hour; `bench/run.sh --quick` tries the harness). "
             f"A build is stopped after {BUILD_LIMIT_S} s; a tool whose release build did not finish "
             f"shows \"{NOT_BUILT}\" for that N.",
             "Every figure is a median of repeated runs (21 for N <= 100, 11 for 1,000, 5 for 10,000; "
             "Alembic 5, and 3 from 1,000), all in one run of the script. Each Rust sample is one process "
             "doing one operation, as a deploy or a bot start does, timed inside the process from opening "
             "the database to the end (process start excluded); the tools take turns sample by sample.", ""]
    lines += ["SQLite inside each tool: " + ", ".join(f"{t} {v}" for t, v in sorted(results["sqlite"].items())), ""]
    floor = results["apply"]["migrate floor"]
    lines += ["## Apply: a fresh database file to the latest revision (ms; ratio to the floor)", "",
              "| tool | " + " | ".join(f"N={n:,}" for n in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for tool, mode, label in APPLY:
        row = results["apply"][f"{tool} {mode}"]
        lines.append(f"| {label} | " + " | ".join(
            f"{fmt(row[n])} ({row[n] / floor[n]:.2f}x)" if n in row else NOT_BUILT for n in sizes) + " |")
    for key, label in [("inside", "Alembic `command.upgrade` (inside Python)"),
                       ("whole", "Alembic `alembic upgrade head` (whole process)")]:
        lines.append(f"| {label} | " + " | ".join(
            f"{fmt(results['alembic'][n][key])} ({results['alembic'][n][key] / floor[n]:.0f}x)"
            if n in results["alembic"] else "-" for n in sizes) + " |")
    lines += ["", "![apply time against the number of migrations](plot.svg)", ""]
    lines += ["Peak memory of each apply process (max RSS, MiB; the highest of its runs):", "",
              "| tool | " + " | ".join(f"N={n:,}" for n in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for tool, mode, label in APPLY:
        row = results["apply_rss_mib"].get(f"{tool} {mode}", {})
        lines.append(f"| {label} | " + " | ".join(
            f"{row[n]:.1f}" if n in row else NOT_BUILT for n in sizes) + " |")
    lines.append("")
    lines += ["## Start-up check: an up-to-date database with N applied migrations (ms)", "",
              "| tool | what runs | " + " | ".join(f"N={n:,}" for n in sizes) + " |",
              "|---|---|" + "---|" * len(sizes)]
    for tool, mode, what in CHECK:
        row = results["check"][f"{tool} {mode}"]
        lines.append(f"| {tool} | {what} | " + " | ".join(fmt(row[n]) if n in row else NOT_BUILT
                                                         for n in sizes) + " |")
    lines += ["", "## Build: `cargo build` (debug) of a crate that embeds N migrations (s), release binary size (MiB)", "",
              "Clean: the crate alone, dependencies already built. Incremental: after one migration file changed. "
              "The `migrate` row depends on migrate-kit with `default-features = false` (embedding, verifying and "
              "upgrading, as the peers' macros do; their command lines are separate crates); "
              f"\"{MIGRATE_CLI}\" is the same crate with the `cli` feature, which links the command line.", "",
              "| tool | " + " | ".join(f"N={n:,} clean / incr. / size" for n in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for tool, row in results["build"].items():
        lines.append(f"| {tool} | " + " | ".join(
            build_cell(row[n]) for n in sizes) + " |")
    lines += ["", "## Graph: load, validate and plan `upgrade head` (ms)", "",
              "| revisions | " + " | ".join(k for k in next(iter(results["graph"].values()))) + " |",
              "|---|" + "---|" * len(next(iter(results["graph"].values())))]
    for n, figures in results["graph"].items():
        if n != "alembic heads":
            lines.append(f"| {n:,} | " + " | ".join(fmt(v) for v in figures.values()) + " |")
    lines += ["", "`alembic heads` (whole process): " + ", ".join(
        f"{fmt(v)} ms on {n:,} revisions" for n, v in results["graph"]["alembic heads"].items()), ""]
    lines += ["## CLI on a 1,000-revision folder, database at head (ms, whole process)", "",
              "| command | migrate | Alembic | ratio |", "|---|---|---|---|"]
    for command, row in results["cli"].items():
        lines.append(f"| {command} | {fmt(row['migrate'])} | {fmt(row['alembic'])} | "
                     f"{row['alembic'] / row['migrate']:.0f}x |")
    if REPORT:
        REPORT.write_text("\n".join(lines) + "\n")
        log(f"wrote {REPORT}")
        return
    (BENCH / "RESULTS.md").write_text("\n".join(lines) + "\n")
    series = {label: results["apply"][f"{tool} {mode}"] for tool, mode, label in APPLY}
    series["Alembic upgrade (inside Python)"] = {n: r["inside"] for n, r in results["alembic"].items()}
    (BENCH / "plot.svg").write_text(plot.svg(series, "migrations applied", "time to apply (ms)"))
    log(f"wrote {BENCH / 'RESULTS.md'} and {BENCH / 'plot.svg'}")


if __name__ == "__main__":
    main()
