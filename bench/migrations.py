"""Realistic migration sets, written in each tool's own file format.

Every tool gets the same SQL: migration i belongs to table group i // 10 and
does one of ten things to it (create a table, insert rows, add columns,
create indexes, update data, create a child table with a foreign key,
rebuild that child table the way SQLite documents, create a view).
"""

from pathlib import Path


def _step(i: int) -> tuple[str, list[str], list[str]]:
    """Name, upgrade statements and downgrade statements of migration i."""
    k, kind = divmod(i, 10)
    t, log = f"t{k}", f"t{k}_log"
    if kind == 0:
        return (f"create_{t}", [
            f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            f"qty INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        ], [f"DROP TABLE {t}"])
    if kind == 1:
        values = ", ".join(f"('item {j}', {j})" for j in range(20))
        return (f"seed_{t}", [f"INSERT INTO {t} (name, qty) VALUES {values}"], [f"DELETE FROM {t}"])
    if kind == 2:
        return (f"add_note_to_{t}", [f"ALTER TABLE {t} ADD COLUMN note TEXT"],
                [f"ALTER TABLE {t} DROP COLUMN note"])
    if kind == 3:
        return (f"index_{t}_name", [f"CREATE INDEX ix_{t}_name ON {t} (name)"],
                [f"DROP INDEX ix_{t}_name"])
    if kind == 4:
        return (f"bump_{t}_qty", [f"UPDATE {t} SET qty = qty + 1 WHERE id % 2 = 0"],
                [f"UPDATE {t} SET qty = qty - 1 WHERE id % 2 = 0"])
    if kind == 5:
        return (f"add_status_to_{t}", [f"ALTER TABLE {t} ADD COLUMN status TEXT NOT NULL DEFAULT 'new'"],
                [f"ALTER TABLE {t} DROP COLUMN status"])
    if kind == 6:
        return (f"create_{log}", [
            f"CREATE TABLE {log} (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL "
            f"REFERENCES {t} (id) ON DELETE CASCADE, at TEXT)",
            f"CREATE INDEX ix_{log}_item ON {log} (item_id)",
            f"INSERT INTO {log} (item_id, at) SELECT id, created_at FROM {t}",
        ], [f"DROP TABLE {log}"])
    if kind == 7:
        return (f"fill_{t}_note", [f"UPDATE {t} SET note = name || ' #' || id"],
                [f"UPDATE {t} SET note = NULL"])
    if kind == 8:
        return (f"rebuild_{log}", [
            f"CREATE TABLE {log}_new (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL "
            f"REFERENCES {t} (id) ON DELETE CASCADE, at TEXT NOT NULL DEFAULT '', CHECK (item_id > 0))",
            f"INSERT INTO {log}_new (id, item_id, at) SELECT id, item_id, coalesce(at, '') FROM {log}",
            f"DROP TABLE {log}",
            f"ALTER TABLE {log}_new RENAME TO {log}",
            f"CREATE INDEX ix_{log}_item ON {log} (item_id)",
        ], [
            f"CREATE TABLE {log}_old (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL "
            f"REFERENCES {t} (id) ON DELETE CASCADE, at TEXT)",
            f"INSERT INTO {log}_old (id, item_id, at) SELECT id, item_id, at FROM {log}",
            f"DROP TABLE {log}",
            f"ALTER TABLE {log}_old RENAME TO {log}",
            f"CREATE INDEX ix_{log}_item ON {log} (item_id)",
        ])
    return (f"view_{t}", [
        f"CREATE VIEW v_{t} AS SELECT {t}.id, {t}.name, count({log}.id) AS events "
        f"FROM {t} LEFT JOIN {log} ON {log}.item_id = {t}.id GROUP BY {t}.id",
    ], [f"DROP VIEW v_{t}"])


def steps(n: int) -> list[tuple[str, list[str], list[str]]]:
    return [_step(i) for i in range(n)]


def _sql(statements: list[str]) -> str:
    return "".join(f"{s};\n" for s in statements)


def write_migrate(root: Path, n: int) -> None:
    versions = root / "versions"
    versions.mkdir(parents=True)
    for i, (name, up, down) in enumerate(steps(n)):
        parent = "none" if i == 0 else f"{i - 1:05}"
        (versions / f"{i:05}_{name}.sql").write_text(
            f"-- revision: {i:05}\n-- down_revision: {parent}\n-- message: {name}\n\n"
            f"-- migrate:upgrade\n{_sql(up)}\n-- migrate:downgrade\n{_sql(down)}"
        )


def write_refinery(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    for i, (name, up, _) in enumerate(steps(n)):
        (root / f"V{i + 1}__{name}.sql").write_text(_sql(up))


def write_sqlx(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    for i, (name, up, _) in enumerate(steps(n)):
        (root / f"{i + 1}_{name}.sql").write_text(_sql(up))


def write_diesel(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    for i, (name, up, down) in enumerate(steps(n)):
        folder = root / f"{i + 1:05}_{name}"
        folder.mkdir()
        (folder / "up.sql").write_text(_sql(up))
        (folder / "down.sql").write_text(_sql(down))


ALEMBIC_INI = """[alembic]
script_location = %(here)s
"""

ALEMBIC_ENV = """import os

from alembic import context
from sqlalchemy import create_engine

url = "sqlite:///" + os.environ.get("ALEMBIC_DB", "alembic.db")
with create_engine(url).connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""


def write_alembic(root: Path, n: int) -> None:
    """An Alembic project: alembic.ini, env.py and one .py per revision,
    each statement through op.execute as the seed's migrations do."""
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "env.py").write_text(ALEMBIC_ENV)
    for i, (name, up, down) in enumerate(steps(n)):
        parent = "None" if i == 0 else repr(f"{i - 1:05}")
        body_up = "".join(f"    op.execute({s!r})\n" for s in up)
        body_down = "".join(f"    op.execute({s!r})\n" for s in down)
        (versions / f"{i:05}_{name}.py").write_text(
            f'"""{name}"""\nfrom alembic import op\n\n'
            f"revision = {f'{i:05}'!r}\ndown_revision = {parent}\n"
            f"branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n{body_up}\n\ndef downgrade():\n{body_down}"
        )


WRITERS = {
    "migrate": write_migrate,
    "refinery": write_refinery,
    "sqlx": write_sqlx,
    "diesel": write_diesel,
}
