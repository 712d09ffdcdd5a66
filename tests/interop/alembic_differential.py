"""Differential test of migrate against real Alembic on random revision graphs.

For each random graph (branches off heads and off older revisions, merges of
two and three heads, second roots, branch labels, depends_on), the same
revisions are written as Alembic scripts and as migrate SQL files. A random
sequence of commands (upgrade, downgrade and stamp to every target form, and
the heads/history/branches/current listings) runs through Alembic's Python
command API and through the migrate binary, each on its own SQLite file.
After every step both must succeed or both refuse, leave the same
alembic_version rows, run the same migrations (every migration logs itself
into a table), and print the same listing (branch labels compared as sets,
since Alembic keeps them in a set; lines whose order comes from a Python set
compared as sets too).

Differences that the README lists in "Differences from Alembic" are
accepted when migrate refuses with the documented reason; the sequence
stops there, since the two databases no longer match.

Usage:
    python alembic_differential.py path/to/migrate [--graphs N] [--seed S] [--postgres URL]

With --postgres, each graph runs on two databases created on that server
(Alembic through psycopg) and dropped after it.

With --via-convert, migrate's files are not written by this script but made
from the Alembic scripts by `migrate convert-alembic` (which also compares
its result with Alembic's own upgrade): the converted folder must then give
the same history, heads and version rows as Alembic at every step.

The environment variables MIGRATE_DIFF_GRAPHS and MIGRATE_DIFF_SEED set the
same. A failure prints the seed and graph number to replay it with
--only K, the graph, the commands and both answers.
"""

import argparse
import contextlib
import io
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import textwrap

from alembic import command
from alembic.config import Config

ENV_PY = textwrap.dedent(
    """
    import os
    from alembic import context
    from sqlalchemy import create_engine, pool

    if context.is_offline_mode():
        context.configure(url=os.environ["DIFF_OFFLINE_URL"], literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = create_engine(os.environ["DIFF_URL"], poolclass=pool.NullPool)
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()
    """
)



class Sqlite:
    """Database files; `url` is both tools' location."""

    name = "SQLite"
    offline_url = "sqlite://"
    log_ddl = "CREATE TABLE IF NOT EXISTS ran (seq INTEGER PRIMARY KEY, rev TEXT, dir TEXT)"

    def __init__(self, root):
        self.root = root

    def database(self, name):
        path = os.path.join(self.root, f"{name}.db")
        return path, "sqlite:///" + path

    def state(self, location):
        """(version rows as a sorted list, migrations run so far as a list)."""
        if not os.path.exists(location):
            return [], []
        with contextlib.closing(sqlite3.connect(location)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            rows = sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version")) if "alembic_version" in tables else []
            ran = [f"{d} {r}" for r, d in conn.execute("SELECT rev, dir FROM ran ORDER BY seq")] if "ran" in tables else []
        return rows, ran

    def close(self):
        pass


class Postgres:
    """Databases created on a server for one graph and dropped after it."""

    name = "PostgreSQL"
    offline_url = "postgresql://"
    log_ddl = "CREATE TABLE IF NOT EXISTS ran (seq SERIAL PRIMARY KEY, rev TEXT, dir TEXT)"

    def __init__(self, server):
        self.server = server
        self.created = []

    def database(self, name):
        import psycopg

        db = f"migrate_diff_{os.getpid()}_{name}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db}"')
        self.created.append(db)
        url = f"{self.server.rsplit('/', 1)[0]}/{db}"
        return url, url.replace("postgresql://", "postgresql+psycopg://", 1)

    def state(self, location):
        import psycopg

        with psycopg.connect(location) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            rows = sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version")) if "alembic_version" in tables else []
            ran = [f"{d} {r}" for r, d in conn.execute("SELECT rev, dir FROM ran ORDER BY seq")] if "ran" in tables else []
        return rows, ran

    def close(self):
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as conn:
            for db in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.created = []


# Deliberate differences (README, "Differences from Alembic"), each a
# refusal by migrate where Alembic goes ahead: a relative step without an
# anchor from several version rows (Alembic picks one of the rows), and a
# revision prefix shorter than 4 characters (Alembic takes it when unique).
DOCUMENTED = {
    "the database has several heads": lambda rows: len(rows) > 1,
    "is shorter than 4 characters": lambda rows: True,
}


class Revision:
    def __init__(self, rev, parents, label, deps):
        self.rev = rev
        self.parents = parents
        self.label = label
        self.deps = deps

    def spec(self):
        text = f"{self.rev}: {' '.join(self.parents) or '<base>'}"
        if self.label:
            text += f" label={self.label}"
        if self.deps:
            text += f" deps={','.join(self.deps)}"
        return text


def random_graph(rng):
    """A random valid revision graph, as a list of Revision."""
    count = rng.randint(2, 9) if rng.random() < 0.8 else rng.randint(10, 16)
    used = set()

    def new_id():
        while True:
            rev = rng.choice(["ab", "ac", "b1"]) + rng.choice("0123") + "".join(
                rng.choice("xyz9") for _ in range(rng.randint(1, 3))
            )
            if rev not in used:
                used.add(rev)
                return rev

    revisions = []
    children = {}
    labels = iter(["lab0", "lab1", "lab2", "lab3", "lab4"])
    for k in range(count):
        heads = [r.rev for r in revisions if not children.get(r.rev)]
        roll = rng.random()
        if k == 0 or roll < 0.08:
            parents = []
        elif roll < 0.55:
            parents = [rng.choice(heads)]
        elif roll < 0.72:
            parents = [rng.choice(revisions).rev]
        elif len(heads) >= 3 and roll < 0.80:
            parents = rng.sample(heads, 3)
        elif len(heads) >= 2:
            parents = rng.sample(heads, 2)
        else:
            parents = [rng.choice(heads)]
        label = next(labels, None) if k and rng.random() < 0.25 else None
        if k == 0 and rng.random() < 0.2:
            label = next(labels)
        deps = []
        if revisions and rng.random() < 0.18:
            candidates = [r.rev for r in revisions if r.rev not in parents]
            if candidates:
                deps = [rng.choice(candidates)]
        rev = Revision(new_id(), parents, label, deps)
        for p in parents:
            children.setdefault(p, []).append(rev.rev)
        revisions.append(rev)
    return revisions


def random_target(rng, graph):
    revs = [r.rev for r in graph]
    labels = [r.label for r in graph if r.label]
    n = rng.randint(1, 3)
    forms = ["head", "heads", "base", "rev", "rev", "prefix", "short", "+N", "-N", "REV+N", "REV-N", "REV@-N", "REV@+N"]
    if labels:
        forms += ["LABEL@head", "LABEL@head", "LABEL@base", "LABEL@+N", "LABEL@-N", "LABEL@REV", "LABEL@PREFIX"]
    form = rng.choice(forms)
    rev = rng.choice(revs)
    label = rng.choice(labels) if labels else None
    prefix = rev[: rng.randint(4, max(4, len(rev) - 1))] if len(rev) > 4 else rev
    return {
        "head": "head",
        "heads": "heads",
        "base": "base",
        "rev": rev,
        "prefix": prefix,
        "short": rev[: rng.randint(1, 3)],
        "+N": f"+{n}",
        "-N": f"-{n}",
        "REV+N": f"{rev}+{n}",
        "REV-N": f"{rev}-{n}",
        "REV@-N": f"{rev}@-{n}",
        "REV@+N": f"{rev}@+{n}",
        "LABEL@head": f"{label}@head",
        "LABEL@base": f"{label}@base",
        "LABEL@+N": f"{label}@+{n}",
        "LABEL@-N": f"{label}@-{n}",
        "LABEL@REV": f"{label}@{rev}",
        "LABEL@PREFIX": f"{label}@{prefix}",
    }[form]


def random_commands(rng, graph):
    commands = []
    for _ in range(rng.randint(4, 12)):
        roll = rng.random()
        if roll < 0.40:
            commands.append(("upgrade", random_target(rng, graph)))
        elif roll < 0.65:
            commands.append(("downgrade", random_target(rng, graph)))
        elif roll < 0.75:
            commands.append(("stamp", random_target(rng, graph)))
        else:
            commands.append((rng.choice(["heads", "history", "branches", "current", "history -i"]), None))
    return commands


def write_project(root, graph, backend):
    scripts = os.path.join(root, "alembic", "versions")
    versions = os.path.join(root, "migrations", "versions")
    os.makedirs(scripts)
    os.makedirs(versions)
    with open(os.path.join(root, "alembic.ini"), "w") as f:
        f.write("[alembic]\nscript_location = %(here)s/alembic\n")
    with open(os.path.join(root, "alembic", "env.py"), "w") as f:
        f.write(ENV_PY)
    for r in graph:
        statements = {
            direction: [
                backend.log_ddl,
                f"INSERT INTO ran (rev, dir) VALUES ('{r.rev}', '{direction}')",
                f"CREATE TABLE IF NOT EXISTS t_{r.rev} (id INTEGER)"
                if direction == "up"
                else f"DROP TABLE IF EXISTS t_{r.rev}",
            ]
            for direction in ("up", "down")
        }
        down_py = "None" if not r.parents else repr(r.parents[0]) if len(r.parents) == 1 else repr(tuple(r.parents))
        label_py = repr((r.label,)) if r.label else "None"
        deps_py = repr(tuple(r.deps)) if r.deps else "None"
        body = {d: "\n".join(f"    op.execute({s!r})" for s in statements[d]) for d in statements}
        with open(os.path.join(scripts, f"{r.rev}.py"), "w") as f:
            f.write(
                f'"""make {r.rev}\n\nRevision ID: {r.rev}\n"""\nfrom alembic import op\n\n'
                f"revision = {r.rev!r}\ndown_revision = {down_py}\nbranch_labels = {label_py}\n"
                f"depends_on = {deps_py}\n\n\ndef upgrade():\n{body['up']}\n\n\ndef downgrade():\n{body['down']}\n"
            )
        header = f"-- revision: {r.rev}\n-- down_revision: {', '.join(r.parents) or 'none'}\n-- message: make {r.rev}\n"
        if r.label:
            header += f"-- branch_labels: {r.label}\n"
        if r.deps:
            header += f"-- depends_on: {', '.join(r.deps)}\n"
        up = ";\n".join(statements["up"])
        down = ";\n".join(statements["down"])
        with open(os.path.join(versions, f"{r.rev}.sql"), "w") as f:
            f.write(f"{header}\n-- migrate:upgrade\n{up};\n\n-- migrate:downgrade\n{down};\n")


def normalize(name, text):
    """Listing text with set-ordered parts made comparable."""
    lines = [re.sub(r"\(([^()]*, [^()]*)\)", lambda m: "(" + ", ".join(sorted(m.group(1).split(", "))) + ")", line)
             for line in text.splitlines()]
    if name == "current":
        return sorted(lines)
    if name == "branches":
        # Each branch point lists its children from a Python set.
        blocks, block = [], []
        for line in lines + [""]:
            if line:
                block.append(line)
            elif block:
                blocks.append(block[:1] + sorted(block[1:]))
                block = []
        return blocks
    return lines


def run_alembic(root, url, name, target, sql=False, offline_url="sqlite://"):
    out = io.StringIO()
    cfg = Config(os.path.join(root, "alembic.ini"), stdout=out)
    os.environ["DIFF_URL"] = url or ""
    os.environ["DIFF_OFFLINE_URL"] = offline_url
    err = None
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(out):
            if name == "upgrade":
                command.upgrade(cfg, target, sql=sql)
            elif name == "downgrade":
                command.downgrade(cfg, target, sql=sql)
            elif name == "stamp":
                command.stamp(cfg, target)
            elif name == "heads":
                command.heads(cfg)
            elif name == "history":
                command.history(cfg)
            elif name == "history -i":
                command.history(cfg, indicate_current=True)
            elif name == "branches":
                command.branches(cfg)
            elif name == "current":
                command.current(cfg)
    except Exception as e:  # every refusal counts, whatever its class
        err = f"{type(e).__name__}: {e}"
    return err, out.getvalue()


def offline_shape(text, rows):
    """The steps of offline SQL, each followed by the version rows after it.
    Alembic picks which row of a merge it deletes and which it updates from
    a Python set, so the statements may differ while the rows agree."""
    rows, shape = set(rows), []
    for line in text.splitlines():
        if line.startswith("-- Running"):
            if shape:
                shape.append(sorted(rows))
            shape.append(line)
        elif line.startswith("CREATE TABLE alembic_version"):
            shape.append(line)
        elif m := re.match(r"INSERT INTO alembic_version \(version_num\) VALUES \('(\w+)'\)", line):
            rows.add(m.group(1))
        elif m := re.match(r"DELETE FROM alembic_version WHERE alembic_version.version_num = '(\w+)'", line):
            rows.discard(m.group(1))
        elif m := re.match(r"UPDATE alembic_version SET version_num='(\w+)' WHERE alembic_version.version_num = '(\w+)'", line):
            rows.discard(m.group(2))
            rows.add(m.group(1))
    shape.append(sorted(rows))
    return shape


def compare_offline(migrate, root, name, target, rows, backend, ours):
    """Both tools' `--sql` from the database's one row to `target`: None when they agree."""
    spec = f"{rows[0] if rows else 'base'}:{target}"
    a_err, a_out = run_alembic(root, None, name, spec, sql=True, offline_url=backend.offline_url)
    m_err, m_out = run_migrate(migrate, root, ours, name + " --sql", spec)
    if (a_err is None) != (m_err is None):
        return f"offline `{name} {spec} --sql`: alembic {'refused: ' + a_err if a_err else 'ok'}, migrate {'refused: ' + m_err if m_err else 'ok'}"
    if a_err is None and offline_shape(a_out, rows) != offline_shape(m_out, rows):
        return f"offline `{name} {spec} --sql` differs:\n--- alembic\n{a_out}--- migrate\n{m_out}"
    return None


def run_migrate(migrate, root, db, name, target):
    args = [migrate, "--dir", os.path.join(root, "migrations"), "--database", db] + name.split()
    if name == "stamp":
        # migrate checks the live schema before a stamp (a documented
        # difference); here the graph semantics are compared.
        args.append("--force")
    if target is not None:
        args.append(target)
    result = subprocess.run(args, cwd=root, capture_output=True, text=True)
    if result.returncode == 2:
        raise SystemExit(f"usage error from migrate: {args}\n{result.stderr}")
    err = None if result.returncode == 0 else result.stderr.strip()
    return err, result.stdout


def documented(m_err, rows):
    """Whether a refusal by migrate is one of the documented differences."""
    return bool(m_err) and any(text in m_err and applies(rows) for text, applies in DOCUMENTED.items())


def run_graph(migrate, seed, k, tally, make_backend, via_convert=False):
    """Runs graph K of SEED; returns a report when the tools disagree."""
    rng = random.Random(f"{seed}-{k}")
    graph = random_graph(rng)
    commands = random_commands(rng, graph)
    with tempfile.TemporaryDirectory() as root:
        backend = make_backend(root)
        try:
            write_project(root, graph, backend)
            if via_convert:
                failure = convert(migrate, root, backend)
                if failure:
                    return f"DISAGREEMENT (seed {seed}, graph {k}): convert-alembic failed:\n{failure}"
            return compare_graph(migrate, seed, k, tally, root, graph, commands, backend)
        finally:
            backend.close()


def convert(migrate, root, backend):
    """Replaces the written migrate files by what `migrate convert-alembic`
    makes of the Alembic scripts; returns its output when it fails."""
    versions = os.path.join(root, "migrations", "versions")
    for name in os.listdir(versions):
        os.remove(os.path.join(versions, name))
    command = [migrate, "--dir", os.path.join(root, "migrations"), "convert-alembic",
               os.path.join(root, "alembic.ini"), "--python", sys.executable, "--url-variable", "DIFF_URL"]
    if isinstance(backend, Postgres):
        command += ["--dialect", "postgresql", "--database", backend.server]
    else:
        command += ["--dialect", "sqlite", "--database", os.path.join(root, "convert.db")]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    return None if done.returncode == 0 else done.stdout + done.stderr


def compare_graph(migrate, seed, k, tally, root, graph, commands, backend):
    """The command sequence through both tools, on databases of `backend`."""
    theirs, theirs_url = backend.database("alembic")
    ours, _ = backend.database("migrate")
    db_state = backend.state
    transcript = []
    for name, target in commands:
        before_rows, before_ran = db_state(theirs)
        m_err, m_out = run_migrate(migrate, root, ours, name, target)
        m_rows, m_ran = db_state(ours)
        step = f"{name} {target or ''}".strip()
        migrate_line = f"  migrate: {'refused: ' + m_err if m_err else 'ok'}; rows {m_rows}; ran {m_ran[len(before_ran):]}"
        problem = None
        if documented(m_err, before_rows):
            # A deliberate refusal: Alembic would go ahead, so it does
            # not run this step; migrate must have changed nothing.
            transcript.append(f"$ {step}\n  (documented difference: alembic not run)\n{migrate_line}")
            tally["documented"] += 1
            if (m_rows, m_ran) != (before_rows, before_ran):
                problem = "a documented refusal changed the database"
        else:
            a_err, a_out = run_alembic(root, theirs_url, name, target)
            a_rows, a_ran = db_state(theirs)
            transcript.append(
                f"$ {step}\n  alembic: {'refused: ' + a_err if a_err else 'ok'}; rows {a_rows}; ran {a_ran[len(before_ran):]}\n{migrate_line}"
            )
            tally["steps"] += 1
            if a_err and m_err and (a_ran, a_rows) != (before_ran, before_rows):
                # Alembic's SQLite run is not atomic: it stopped half-applied
                # where migrate changed nothing. The states no longer compare.
                tally["half_applied"] += 1
                break
            if (a_err is None) != (m_err is None):
                problem = "one refused, the other did not"
            elif a_rows != m_rows:
                problem = "alembic_version rows differ"
            elif a_ran != m_ran:
                if sorted(a_ran) == sorted(m_ran):
                    problem = "the same migrations ran in a different order"
                else:
                    problem = "different migrations ran"
            elif target is None and normalize(name, a_out) != normalize(name, m_out):
                problem = f"listings differ:\n--- alembic\n{a_out}--- migrate\n{m_out}"
            elif name in ("upgrade", "downgrade") and len(before_rows) <= 1:
                # Offline mode starts from one revision, as Alembic's does.
                problem = compare_offline(migrate, root, name, target, before_rows, backend, ours)
        if problem:
            return "\n".join(
                [f"DISAGREEMENT on {backend.name} (seed {seed}, graph {k}; replay with --seed {seed} --only {k}): {problem}", "graph:"]
                + [f"  {r.spec()}" for r in graph]
                + ["steps:"]
                + transcript
            )
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("migrate")
    parser.add_argument("--graphs", type=int, default=int(os.environ.get("MIGRATE_DIFF_GRAPHS", "300")))
    parser.add_argument("--seed", default=os.environ.get("MIGRATE_DIFF_SEED", "2026"))
    parser.add_argument("--only", type=int, help="run only graph K of the seed")
    parser.add_argument("--keep-going", action="store_true", help="report every disagreement, not the first")
    parser.add_argument("--postgres", metavar="URL", help="compare on databases created on this PostgreSQL server")
    parser.add_argument("--via-convert", action="store_true",
                        help="make migrate's files with `migrate convert-alembic` from the Alembic scripts")
    args = parser.parse_args()
    make_backend = (lambda root: Postgres(args.postgres)) if args.postgres else Sqlite
    migrate = os.path.abspath(args.migrate)
    ks = [args.only] if args.only is not None else range(args.graphs)
    tally = {"graphs": 0, "failed": 0, "steps": 0, "documented": 0, "half_applied": 0}
    for k in ks:
        report = run_graph(migrate, args.seed, k, tally, make_backend, args.via_convert)
        tally["graphs"] += 1
        if report:
            tally["failed"] += 1
            print(report, flush=True)
            if not args.keep_going:
                break
    print(
        f"differential on {'PostgreSQL' if args.postgres else 'SQLite'}{' via convert-alembic' if args.via_convert else ''} (seed {args.seed}): {tally['graphs']} graphs, {tally['steps']} steps compared, "
        f"{tally['failed']} graphs disagree; {tally['documented']} documented refusals; "
        f"{tally['half_applied']} sequences ended where Alembic stopped half-applied"
    )
    sys.exit(1 if tally["failed"] else 0)


if __name__ == "__main__":
    main()
