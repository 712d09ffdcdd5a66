"""Interop check between this tool and real Alembic, run by .ci/run.

Builds one revision graph (a branch point, a labelled branch and a merge
point) twice: as Alembic Python scripts and as migrate SQL files. Then:

1. migrate migrates a database; Alembic reads it as at its heads and
   continues it to the merge point.
2. Alembic migrates part of a database; migrate takes it over, continues,
   lists it and downgrades it to base; Alembic reads the empty result.

Both on SQLite files and, with `--postgres URL` (a server URL such as
postgresql://postgres@127.0.0.1:5432/postgres), on PostgreSQL databases the
script creates and drops, with Alembic talking through psycopg.

Usage: python alembic_interop.py path/to/migrate [--postgres URL]
"""

import contextlib
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
        engine = create_engine(os.environ["INTEROP_URL"], poolclass=pool.NullPool)
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


LEDGER = ("alembic_version", "migrate_applied", "migrate_log")


class SqliteFile:
    """A database file for both tools."""

    def __init__(self, root, name):
        self.path = os.path.join(root, f"{name}.db")
        self.alembic_url = "sqlite:///" + self.path
        self.migrate_url = self.path

    def query(self, sql):
        with sqlite3.connect(self.path) as conn:
            return conn.execute(sql).fetchall()

    def versions(self):
        return sorted(row[0] for row in self.query("SELECT version_num FROM alembic_version"))

    def tables(self):
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(row[0] for row in rows if row[0] not in LEDGER)

    def version_ddl(self):
        return self.query("SELECT sql FROM sqlite_master WHERE name = 'alembic_version'")[0][0]


class PostgresDatabase:
    """A database created on the server for one part of the check."""

    def __init__(self, server, name):
        import psycopg

        self.server = server
        self.name = f"migrate_interop_{os.getpid()}_{name}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        base = server.rsplit("/", 1)[0]
        self.migrate_url = f"{base}/{self.name}"
        self.alembic_url = self.migrate_url.replace("postgresql://", "postgresql+psycopg://", 1)

    def drop(self):
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql):
        import psycopg

        with psycopg.connect(self.migrate_url) as conn:
            return conn.execute(sql).fetchall()

    def versions(self):
        return sorted(row[0] for row in self.query("SELECT version_num FROM alembic_version"))

    def tables(self):
        rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return sorted(row[0] for row in rows if row[0] not in LEDGER)

    def version_ddl(self):
        """The columns and constraints, as the catalog has them."""
        columns = self.query(
            "SELECT column_name, data_type, character_maximum_length, is_nullable "
            "FROM information_schema.columns WHERE table_name = 'alembic_version'"
        )
        constraints = self.query(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'alembic_version'::regclass"
        )
        return (columns, constraints)


def run(cmd, root, db):
    env = dict(os.environ, INTEROP_URL=db.alembic_url, DATABASE_URL=db.migrate_url)
    env.pop("MIGRATE_DIR", None)
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\nstdout: {result.stdout}\nstderr: {result.stderr}")
    return result.stdout


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


def interop(migrate, make_db, backend):
    """Both directions on fresh databases of one backend."""
    alembic = [sys.executable, "-m", "alembic"]
    with tempfile.TemporaryDirectory() as root, contextlib.ExitStack() as cleanup:
        write_project(root)

        def database(name):
            db = make_db(root, name)
            if hasattr(db, "drop"):
                cleanup.callback(db.drop)
            return db

        # 1. migrate first, Alembic reads and continues.
        ours = database("ours")
        run([migrate, "upgrade", "b2"], root, ours)
        run([migrate, "upgrade", "c1"], root, ours)
        check(ours.versions() == ["b2", "c1"], f"{backend}: migrate left two branch heads b2, c1")
        current = run(alembic + ["current"], root, ours)
        check("b2" in current and "c1" in current, f"{backend}: alembic current reads migrate's heads: {current.strip()!r}")
        run(alembic + ["upgrade", "heads"], root, ours)
        check(ours.versions() == ["m1"], f"{backend}: alembic continued migrate's database to the merge point")
        check(ours.tables() == ["requests", "settings", "shop", "users"], f"{backend}: every table exists once")

        # 2. Alembic first, migrate takes over, continues, lists and downgrades.
        theirs = database("theirs")
        run(alembic + ["upgrade", "c1"], root, theirs)
        check(theirs.versions() == ["c1"], f"{backend}: alembic applied the labelled branch")
        check(theirs.version_ddl() == ours.version_ddl(),
              f"{backend}: alembic_version is exactly the table Alembic creates")
        verify = run([migrate, "verify"], root, theirs)
        check("unverified: a1, c1" in verify, f"{backend}: migrate takes the Alembic database over: {verify.strip()!r}")
        check(run([migrate, "current"], root, theirs).strip() == "c1", f"{backend}: migrate current reads Alembic's head")
        run([migrate, "upgrade", "feature@head"], root, theirs)
        check(theirs.versions() == ["m1"], f"{backend}: migrate continued Alembic's database to feature@head (the merge point)")
        alembic_current = run(alembic + ["current"], root, theirs)
        check("m1" in alembic_current, f"{backend}: alembic reads the result: {alembic_current.strip()!r}")
        history = run([migrate, "history", "--indicate-current"], root, theirs)
        check(history.splitlines()[0] == "b2, c1 -> m1 (feature) (head) (current) (mergepoint), step m1",
              f"{backend}: migrate lists it: {history.splitlines()[0]!r}")
        mine, alembics = run([migrate, "history"], root, theirs), run(alembic + ["history"], root, theirs)
        check(mine == alembics, f"{backend}: `history` is the same text as Alembic's:\n{mine}")
        mine, alembics = run([migrate, "heads"], root, theirs), run(alembic + ["heads"], root, theirs)
        check(mine == alembics, f"{backend}: `heads` is the same text as Alembic's: {mine.strip()!r}")
        mine, alembics = run([migrate, "current"], root, theirs), run(alembic + ["current"], root, theirs)
        check(mine == alembics, f"{backend}: `current` is the same text as Alembic's: {mine.strip()!r}")
        mine = run([migrate, "upgrade", "a1:m1", "--sql"], root, theirs)
        alembics = run(alembic + ["upgrade", "a1:m1", "--sql"], root, theirs)
        if backend == "SQLite":
            # Alembic writes no transaction for SQLite; migrate's script is
            # atomic (a documented difference): compare what is inside.
            mine = mine.removeprefix("BEGIN;\n\n").removesuffix("COMMIT;\n")
        check(mine == alembics, f"{backend}: offline SQL is the same text as Alembic's:\n{mine}")
        run([migrate, "downgrade", "base"], root, theirs)
        check(theirs.versions() == [] and theirs.tables() == [], f"{backend}: migrate downgraded everything to base")
        check(run(alembic + ["current"], root, theirs).strip() == "", f"{backend}: alembic reads the database as at base")


def main():
    migrate = os.path.abspath(sys.argv[1])
    interop(migrate, SqliteFile, "SQLite")
    if "--postgres" in sys.argv:
        server = sys.argv[sys.argv.index("--postgres") + 1]
        interop(migrate, lambda root, name: PostgresDatabase(server, name), "PostgreSQL")
    print("interop with Alembic: all checks passed")


if __name__ == "__main__":
    main()
