#!/usr/bin/env bash
# Builds every tool, runs every comparison and writes bench/RESULTS.md and
# bench/plot.svg. Needs cargo and python3; installs Alembic into
# target/alembic-venv. `bench/run.sh --quick` runs N = 10 and 100 only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/alembic-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet alembic
fi
cd "$root/bench"
ALEMBIC_PYTHON="$venv/bin/python" exec python3 run.py "$@"
