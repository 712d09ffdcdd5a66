"""Runs every comparison of the benchmark and writes RESULTS.md and plot.svg.

Usage (through bench/run.sh, which prepares Alembic's virtualenv):
    python3 bench/run.py [--quick]

--quick runs N = 10 and 100 only, with fewer repeats, to try the harness.
"""

import json
import os
import platform
import re
import shutil
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
PYTHON = Path(os.environ.get("ALEMBIC_PYTHON", sys.executable))

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
CHECK = [("migrate", "verify"), ("refinery", "run, nothing to apply"),
         ("sqlx", "run, nothing to apply"), ("diesel", "run_pending_migrations, nothing to apply")]


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


def cargo_build(tool: str, release: bool) -> float:
    command = ["cargo", "build", "--quiet"] + (["--release"] if release else [])
    return timed(command, cwd=TOOLS / tool)


def binary(tool: str) -> Path:
    return TOOLS / tool / "target" / "release" / f"bench-{tool}"


def build_figures(tool: str) -> dict:
    """Debug build of the crate alone (dependencies built), then after one
    migration file changed; release binary size."""
    subprocess.run(["cargo", "clean", "--quiet", "-p", f"bench-{tool}"], cwd=TOOLS / tool, check=True)
    clean = cargo_build(tool, release=False)
    touch_one_migration(tool)
    incremental = cargo_build(tool, release=False)
    cargo_build(tool, release=True)
    return {"clean_s": clean, "incremental_s": incremental, "size": binary(tool).stat().st_size}


def run_tool(tool: str, mode: str, n: int) -> dict:
    with tempfile.TemporaryDirectory(dir=WORK) as scratch:
        out = subprocess.run([str(binary(tool)), mode, scratch, str(repeats(n))],
                             check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    result["median_ms"] = statistics.median(result["samples_us"]) / 1000
    return result


def alembic_apply(n: int) -> float:
    project = WORK / f"alembic-{n}"
    shutil.rmtree(project, ignore_errors=True)
    migrations.write_alembic(project, n)
    runs = 3 if n >= 1000 else 5
    samples = []
    for i in range(runs):
        db = project / f"s{i}.db"
        samples.append(timed([str(PYTHON), "-m", "alembic", "upgrade", "head"], cwd=project,
                             env={**os.environ, "ALEMBIC_DB": str(db)}))
    return statistics.median(samples)


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict = {"apply": {}, "check": {}, "build": {}, "sqlite": {}, "alembic": {}, "graph": {}, "cli": {}}
    for n in SIZES:
        for tool in ["migrate", "refinery", "sqlx", "diesel"]:
            log(f"N={n}: building {tool}")
            place_migrations(tool, n)
            results["build"].setdefault(tool, {})[n] = build_figures(tool)
        for tool, mode, _ in APPLY:
            log(f"N={n}: {tool} {mode}")
            r = run_tool(tool, mode, n)
            results["apply"].setdefault(f"{tool} {mode}", {})[n] = r["median_ms"]
            results["sqlite"][tool] = r["sqlite"]
        for tool, _ in CHECK:
            log(f"N={n}: {tool} check")
            results["check"].setdefault(tool, {})[n] = run_tool(tool, "check", n)["median_ms"]
    for n in ALEMBIC_SIZES:
        log(f"N={n}: alembic upgrade head")
        results["alembic"][n] = alembic_apply(n) * 1000
    graph_and_cli(results)
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    write_report(results)


def graph_and_cli(results: dict) -> None:
    subprocess.run(["cargo", "build", "--quiet", "--release", "--bin", "migrate", "--example", "graph_scale"],
                   cwd=ROOT, check=True)
    release = ROOT / "target" / "release"
    for n in ([1000, 10000] if QUICK else [1000, 10000, 100000]):
        log(f"graph: {n} revisions")
        text = subprocess.run([str(release / "examples" / "graph_scale"), str(n)], check=True,
                              capture_output=True, text=True).stdout
        figures = dict(re.findall(r"^(.*?)(?: \(\d+ steps\))?: ([\d.]+) ms$", text, re.M))
        results["graph"][n] = {k: float(v) for k, v in figures.items()}
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


def write_report(results: dict) -> None:
    sizes = SIZES
    lines = ["# Benchmark results", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {machine()}.",
             "Reproduce with `bench/run.sh` (about an hour; `bench/run.sh --quick` tries the harness).",
             "Every figure is a median of repeated runs "
             "(21 for N <= 100, 11 for 1,000, 5 for 10,000), all in one run of the script.", ""]
    lines += ["SQLite inside each tool: " + ", ".join(f"{t} {v}" for t, v in sorted(results["sqlite"].items())), ""]
    floor = results["apply"]["migrate floor"]
    lines += ["## Apply: a fresh database file to the latest revision (ms; ratio to the floor)", "",
              "| tool | " + " | ".join(f"N={n:,}" for n in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for tool, mode, label in APPLY:
        row = results["apply"][f"{tool} {mode}"]
        lines.append(f"| {label} | " + " | ".join(f"{fmt(row[n])} ({row[n] / floor[n]:.2f}x)" for n in sizes) + " |")
    lines.append("| Alembic `upgrade head` (whole process) | " + " | ".join(
        f"{fmt(results['alembic'][n])} ({results['alembic'][n] / floor[n]:.0f}x)" if n in results["alembic"] else "-"
        for n in sizes) + " |")
    lines += ["", "![apply time against the number of migrations](plot.svg)", ""]
    lines += ["## Start-up check: an up-to-date database with N applied migrations (ms)", "",
              "| tool | what runs | " + " | ".join(f"N={n:,}" for n in sizes) + " |",
              "|---|---|" + "---|" * len(sizes)]
    for tool, what in CHECK:
        row = results["check"][tool]
        lines.append(f"| {tool} | {what} | " + " | ".join(fmt(row[n]) for n in sizes) + " |")
    lines += ["", "## Build: `cargo build` (debug) of a crate that embeds N migrations (s), release binary size (MiB)", "",
              "Clean: the crate alone, dependencies already built. Incremental: after one migration file changed.", "",
              "| tool | " + " | ".join(f"N={n:,} clean / incr. / size" for n in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for tool, row in results["build"].items():
        lines.append(f"| {tool} | " + " | ".join(
            f"{row[n]['clean_s']:.2f} / {row[n]['incremental_s']:.2f} / {row[n]['size'] / 2**20:.1f}" for n in sizes) + " |")
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
    (BENCH / "RESULTS.md").write_text("\n".join(lines) + "\n")
    series = {label: results["apply"][f"{tool} {mode}"] for tool, mode, label in APPLY}
    series["Alembic upgrade head"] = results["alembic"]
    (BENCH / "plot.svg").write_text(plot.svg(series, "migrations applied", "time to apply (ms)"))
    log(f"wrote {BENCH / 'RESULTS.md'} and {BENCH / 'plot.svg'}")


if __name__ == "__main__":
    main()
