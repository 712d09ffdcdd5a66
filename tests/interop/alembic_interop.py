"""Interop check between this tool and real Alembic, run by .ci/run.

Builds one revision graph (a branch point, a labelled branch and a merge
point) twice: as Alembic Python scripts and as migrate SQL files. Then:

1. migrate migrates a database; Alembic reads it as at its heads and
   continues it to the merge point.
2. Alembic migrates part of a database; migrate takes it over, continues,
   lists it and downgrades it to base; Alembic reads the empty result.

Usage: python alembic_interop.py path/to/migrate
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap

# revision, down_revision(s), branch label, table it creates
GRAPH = [
    ("a1", [], None, "shop"),
    ("b1", ["a1"], None, "users"),
    ("c1", ["a1"], "feature", "settings"),
    ("b2", ["b1"], None, "requests"),
    ("m1", ["b2", "c1"], None, None),
]

ENV_PY = textwrap.dedent(
    """
    import os
    from alembic import context
    from sqlalchemy import create_engine, pool

    def run():
        engine = create_engine("sqlite:///" + os.environ["INTEROP_DB"], poolclass=pool.NullPool)
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()

    run()
    """
)


def write_project(root):
    scripts = os.path.join(root, "alembic_scripts", "versions")
    versions = os.path.join(root, "migrations", "versions")
    os.makedirs(scripts)
    os.makedirs(versions)
    with open(os.path.join(root, "alembic.ini"), "w") as f:
        f.write("[alembic]\nscript_location = %(here)s/alembic_scripts\n")
    with open(os.path.join(root, "alembic_scripts", "env.py"), "w") as f:
        f.write(ENV_PY)
    for rev, downs, label, table in GRAPH:
        up = f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)" if table else "SELECT 1"
        down = f"DROP TABLE {table}" if table else "SELECT 1"
        down_py = "None" if not downs else repr(downs[0]) if len(downs) == 1 else repr(tuple(downs))
        label_py = repr((label,)) if label else "None"
        with open(os.path.join(scripts, f"{rev}.py"), "w") as f:
            f.write(
                f'"""step {rev}\n\nRevision ID: {rev}\n"""\nfrom alembic import op\n\n'
                f"revision = {rev!r}\ndown_revision = {down_py}\nbranch_labels = {label_py}\ndepends_on = None\n\n\n"
                f"def upgrade():\n    op.execute({up!r})\n\n\ndef downgrade():\n    op.execute({down!r})\n"
            )
        header = f"-- revision: {rev}\n-- down_revision: {', '.join(downs) or 'none'}\n-- message: step {rev}\n"
        if label:
            header += f"-- branch_labels: {label}\n"
        with open(os.path.join(versions, f"{rev}.sql"), "w") as f:
            f.write(f"{header}\n-- migrate:upgrade\n{up};\n\n-- migrate:downgrade\n{down};\n")


def run(cmd, root, db):
    env = dict(os.environ, INTEROP_DB=db, DATABASE_URL=db)
    env.pop("MIGRATE_DIR", None)
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\nstdout: {result.stdout}\nstderr: {result.stderr}")
    return result.stdout


def versions_of(db):
    with sqlite3.connect(db) as conn:
        return sorted(row[0] for row in conn.execute("SELECT version_num FROM alembic_version"))


def tables_of(db):
    with sqlite3.connect(db) as conn:
        return sorted(
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if row[0] not in ("alembic_version", "migrate_applied", "migrate_log")
        )


def version_ddl(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT sql FROM sqlite_master WHERE name = 'alembic_version'").fetchone()[0]


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


def main():
    migrate = os.path.abspath(sys.argv[1])
    alembic = [sys.executable, "-m", "alembic"]
    with tempfile.TemporaryDirectory() as root:
        write_project(root)

        # 1. migrate first, Alembic reads and continues.
        db = os.path.join(root, "ours.db")
        run([migrate, "upgrade", "b2"], root, db)
        run([migrate, "upgrade", "c1"], root, db)
        check(versions_of(db) == ["b2", "c1"], "migrate left two branch heads b2, c1")
        current = run(alembic + ["current"], root, db)
        check(sorted(line.split()[0] for line in current.split()) and "b2" in current and "c1" in current,
              f"alembic current reads migrate's heads: {current.strip()!r}")
        run(alembic + ["upgrade", "heads"], root, db)
        check(versions_of(db) == ["m1"], "alembic continued migrate's database to the merge point")
        check(tables_of(db) == ["requests", "settings", "shop", "users"], "every table exists once")

        # 2. Alembic first, migrate takes over, continues, lists and downgrades.
        db = os.path.join(root, "theirs.db")
        run(alembic + ["upgrade", "c1"], root, db)
        check(versions_of(db) == ["c1"], "alembic applied the labelled branch")
        check(version_ddl(db) == version_ddl(os.path.join(root, "ours.db")),
              "alembic_version has byte for byte the DDL Alembic writes")
        verify = run([migrate, "verify"], root, db)
        check("unverified: a1, c1" in verify, f"migrate takes the Alembic database over: {verify.strip()!r}")
        check(run([migrate, "current"], root, db).strip() == "c1", "migrate current reads Alembic's head")
        run([migrate, "upgrade", "feature@head"], root, db)
        check(versions_of(db) == ["m1"], "migrate continued Alembic's database to feature@head (the merge point)")
        alembic_current = run(alembic + ["current"], root, db)
        check("m1" in alembic_current, f"alembic reads the result: {alembic_current.strip()!r}")
        history = run([migrate, "history", "--indicate-current"], root, db)
        check(history.splitlines()[0] == "b2, c1 -> m1 (feature) (head) (current) (mergepoint), step m1",
              f"migrate lists it: {history.splitlines()[0]!r}")
        ours, theirs = run([migrate, "history"], root, db), run(alembic + ["history"], root, db)
        check(ours == theirs, f"`history` is the same text as Alembic's:\n{ours}")
        ours, theirs = run([migrate, "heads"], root, db), run(alembic + ["heads"], root, db)
        check(ours == theirs, f"`heads` is the same text as Alembic's: {ours.strip()!r}")
        ours, theirs = run([migrate, "current"], root, db), run(alembic + ["current"], root, db)
        check(ours == theirs, f"`current` is the same text as Alembic's: {ours.strip()!r}")
        run([migrate, "downgrade", "base"], root, db)
        check(versions_of(db) == [] and tables_of(db) == [], "migrate downgraded everything to base")
        check(run(alembic + ["current"], root, db).strip() == "", "alembic reads the database as at base")
    print("interop with Alembic: all checks passed")


if __name__ == "__main__":
    main()
