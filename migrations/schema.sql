-- The schema the bot needs: the role of Alembic's models. Edit it, then
-- `migrate revision --autogenerate -m "..."` writes the migration, and
-- `migrate check` fails in CI while the two disagree.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    telegram_id INTEGER NOT NULL UNIQUE,
    username TEXT,
    full_name TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    phone_number TEXT
);

CREATE TABLE repair_requests (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_type TEXT NOT NULL,
    device_model TEXT,
    problem_description TEXT NOT NULL CHECK (length(problem_description) > 0),
    status TEXT NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'accepted', 'in_progress', 'ready', 'closed', 'cancelled')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE INDEX ix_repair_requests_user_id ON repair_requests (user_id);
CREATE INDEX ix_repair_requests_status ON repair_requests (status, created_at);

CREATE TRIGGER trg_repair_requests_touch
AFTER UPDATE OF status, device_type, device_model, problem_description ON repair_requests
FOR EACH ROW
BEGIN
    UPDATE repair_requests
    SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    WHERE id = NEW.id;
END;

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
