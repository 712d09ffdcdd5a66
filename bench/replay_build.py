"""Measures what the build-time replay check (`embed_migrations!(..., replay)`)
costs: the incremental debug build of bench/tools/migrate after one
migration file changed, with and without the check, at 10, 100 and 1,000
migrations (the median of 3 builds each). Prints a Markdown table.

Usage: python3 bench/replay_build.py
"""

import statistics
import sys

import run

SIZES = [10, 100, 1000]
BUILDS = 3


def incremental(features):
    """Median seconds of a debug build after one migration file changed."""
    run.cargo_build("migrate", release=False, features=features)
    times = []
    for _ in range(BUILDS):
        run.touch_one_migration("migrate")
        times.append(run.cargo_build("migrate", release=False, features=features))
    return statistics.median(times)


def main():
    rows = []
    for n in SIZES:
        run.place_migrations("migrate", n)
        plain = incremental(None)
        checked = incremental("replay")
        rows.append((n, plain, checked))
        run.log(f"  {n}: {plain:.2f} s without, {checked:.2f} s with the replay")
    print("| migrations | incremental build | with `replay` | the check costs |")
    print("|---|---|---|---|")
    for n, plain, checked in rows:
        print(f"| {n:,} | {plain:.2f} s | {checked:.2f} s | {checked - plain:+.2f} s |")


if __name__ == "__main__":
    sys.exit(main())
