"""Captures what Alembic runs for each revision of a project, online.

Run by `migrate convert-alembic` with the user's Python and Alembic:

    MIGRATE_CAPTURE_URL=URL python capture.py SCRIPT_LOCATION
    MIGRATE_CAPTURE_URL=URL python capture.py --upgrade REVISION SCRIPT_LOCATION
    MIGRATE_CAPTURE_URL=URL python capture.py --downgrade REVISION SCRIPT_LOCATION

SCRIPT_LOCATION is an alembic.ini or the script folder (env.py and
versions/). URL names an empty scratch database (SQLAlchemy form; in the
environment, as it may hold a password), which this script migrates revision by revision, base first: each
revision's upgrade() runs, then its downgrade(), then its upgrade() again,
so that the next revision finds the schema it expects. Every statement the
revision sends is recorded (SQLAlchemy's cursor events), with its
parameters written in as literals; reads that SQLAlchemy makes to reflect
a table (batch_alter_table on SQLite) are not. A revision that calls
op.get_bind() is reported, not trusted: what it does may depend on the rows
it reads. Prints one JSON document on stdout.

With --upgrade (--downgrade), runs Alembic's own online `upgrade REVISION`
(`downgrade REVISION`) through the project's env.py instead: the reference
the converted folder is compared with.
"""

import datetime
import decimal
import json
import os
import sys
import traceback
import uuid


def literal(value, dialect):
    """A parameter as an SQL literal of `dialect`."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        if dialect == "postgresql":
            return "true" if value else "false"
        return "1" if value else "0"
    if isinstance(value, (int, float, decimal.Decimal)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value).hex()
        return f"'\\x{data}'::bytea" if dialect == "postgresql" else f"X'{data}'"
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        value = value.isoformat(" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if isinstance(value, uuid.UUID):
        value = str(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    return "'" + str(value).replace("'", "''") + "'"


def inline(statement, parameters, dialect, paramstyle):
    """`statement` with its parameters written in."""
    if not parameters:
        return statement
    if isinstance(parameters, dict):
        out = statement
        # Longest names first, so that %(id_1)s is not cut by %(id)s.
        for name in sorted(parameters, key=len, reverse=True):
            value = literal(parameters[name], dialect)
            out = out.replace(f"%({name})s", value).replace(f":{name}", value)
        return out
    pieces = statement.split("%s" if paramstyle == "format" else "?")
    if len(pieces) != len(parameters) + 1:
        raise ValueError(f"cannot write the parameters into: {statement}")
    out = pieces[0]
    for value, piece in zip(parameters, pieces[1:]):
        out += literal(value, dialect) + piece
    return out


def reflecting():
    """Whether the statement being sent is SQLAlchemy reading a table's shape."""
    return any(
        frame.filename.endswith(os.path.join("engine", "reflection.py"))
        or os.path.join("sqlalchemy", "dialects") in frame.filename
        and frame.name.startswith(("get_", "has_", "_get_"))
        for frame in traceback.extract_stack()
    )


def called_from(path):
    """Whether the revision file `path` made the call being served, through
    `op`'s proxy only (and not, say, batch_alter_table asking for the
    connection to reflect a table)."""
    frame = sys._getframe(2)
    proxy = os.path.join("alembic", "util")
    while frame and (frame.f_code.co_filename.startswith("<")
                     or proxy in frame.f_code.co_filename):
        frame = frame.f_back
    return bool(frame) and os.path.abspath(frame.f_code.co_filename) == os.path.abspath(path)


def to_tuple(value):
    """A revision attribute (None, a string, or a sequence) as a tuple."""
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def where_in(path, error=None):
    """The line of `path` that the current stack (or `error`) is at."""
    frames = traceback.extract_tb(error.__traceback__) if error else traceback.extract_stack()
    lines = [f.lineno for f in frames if os.path.abspath(f.filename) == os.path.abspath(path)]
    return lines[-1] if lines else None


def scratch_url():
    """The scratch database's URL, with psycopg 3 on PostgreSQL when the
    project has it (else SQLAlchemy's default driver)."""
    url = os.environ["MIGRATE_CAPTURE_URL"]
    if url.startswith("postgresql://"):
        try:
            import psycopg  # noqa: F401
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        except ImportError:
            pass
    return url


def project(location):
    """Alembic's configuration of the project at `location` (an alembic.ini,
    the folder holding it, or the script folder), with the working folder
    and import path as the `alembic` command has them there."""
    from alembic.config import Config

    if os.path.isdir(location) and os.path.isfile(os.path.join(location, "alembic.ini")):
        location = os.path.join(location, "alembic.ini")
    location = os.path.abspath(location)
    root = os.path.dirname(location)
    if os.path.isdir(location):
        if not os.path.isdir(os.path.join(location, "versions")):
            sys.exit(f"{location} holds neither alembic.ini nor versions/: give the project's alembic.ini or its script folder")
        config = Config()
        config.set_main_option("script_location", location)
    else:
        config = Config(location)
        # A relative script_location is read from where alembic.ini is.
        os.chdir(root)
    # Revisions import the project's modules as Alembic would let them.
    sys.path.insert(0, root)
    return config, root


def alembic_command(name, location, revision):
    """Alembic's own online `upgrade revision` or `downgrade revision` on the
    scratch database, through the project's env.py (the comparison's
    reference)."""
    from alembic import command

    config, _ = project(location)
    url = scratch_url()
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # An env.py that reads the URL from the environment finds the scratch one.
    os.environ[os.environ.get("MIGRATE_CAPTURE_URL_VARIABLE") or "DATABASE_URL"] = url
    getattr(command, name)(config, revision)


def main():
    if sys.argv[1] in ("--upgrade", "--downgrade"):
        alembic_command(sys.argv[1][2:], sys.argv[3], sys.argv[2])
        return
    location, url = sys.argv[1], scratch_url()
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from alembic.script import ScriptDirectory
    import sqlalchemy as sa

    config, root = project(location)
    script = ScriptDirectory.from_config(config)
    engine = sa.create_engine(url)
    dialect = engine.dialect.name
    paramstyle = engine.dialect.paramstyle

    revisions = list(reversed(list(script.walk_revisions("base", "heads"))))
    captured = None
    state = {"reads": None}

    @sa.event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        if captured is None or reflecting():
            return
        rows = parameters if executemany else [parameters]
        for row in rows:
            captured.append(inline(statement, row, dialect, paramstyle).strip())

    out = []
    with engine.connect() as connection:
        for rev in revisions:
            entry = {
                "revision": rev.revision,
                "down_revisions": list(to_tuple(rev.down_revision)),
                # The labels the file declares, not those it inherits.
                "branch_labels": sorted(to_tuple(getattr(rev, "_orig_branch_labels",
                                                         rev.branch_labels))),
                "depends_on": [],
                "message": (rev.doc or "").strip(),
                "create_date": None,
                "path": os.path.relpath(rev.path, root),
                "upgrade": [],
                "downgrade": [],
                "problems": [],
            }
            entry["depends_on"] = list(to_tuple(rev.dependencies))
            for line in (rev.longdoc or "").splitlines():
                if line.strip().lower().startswith("create date:"):
                    entry["create_date"] = line.split(":", 1)[1].strip()
            for phase in ("upgrade", "downgrade", "again"):
                if any(p["kind"] == "failed" and p["phase"] == "upgrade" for p in entry["problems"]):
                    break
                captured = entry[phase] if phase != "again" else None
                context = MigrationContext.configure(connection)
                operations = Operations(context)
                original = Operations.get_bind

                def get_bind(self, phase=phase, entry=entry, rev=rev):
                    # Only the revision's own calls: batch_alter_table asks
                    # for the connection too, to reflect the table.
                    mine = called_from(rev.path)
                    if mine and phase != "again" and not any(
                            p["kind"] == "reads" and p["phase"] == phase for p in entry["problems"]):
                        entry["problems"].append({
                            "kind": "reads",
                            "phase": phase,
                            "line": where_in(rev.path),
                            "message": "calls op.get_bind(): what it runs may depend on the rows it reads",
                        })
                    return original(self)

                Operations.get_bind = get_bind
                # The context owns the transaction, as env.py's
                # begin_transaction() would give it: autocommit_block()
                # commits it, runs outside it, and begins the next one.
                context._transaction = connection.begin()
                try:
                    with Operations.context(context):
                        getattr(rev.module, "upgrade" if phase != "downgrade" else "downgrade")()
                    if connection.in_transaction():
                        connection.commit()
                except Exception as error:  # what failed is reported, with its line
                    if connection.in_transaction():
                        connection.rollback()
                    if phase != "again":
                        entry["problems"].append({
                            "kind": "failed",
                            "phase": phase,
                            "line": where_in(rev.path, error),
                            "message": f"{type(error).__name__}: {error}".splitlines()[0],
                        })
                finally:
                    Operations.get_bind = original
                    captured = None
            out.append(entry)
    json.dump({"dialect": dialect, "revisions": out}, sys.stdout)


if __name__ == "__main__":
    main()
