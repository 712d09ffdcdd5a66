-- revision: 001
-- down_revision: none
-- message: initial schema
-- create_date: 2025-10-01 09:00:00

-- migrate:upgrade
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    telegram_id INTEGER NOT NULL UNIQUE,
    username TEXT,
    full_name TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
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

-- Keep updated_at current on every change; the trigger body has its own `;`.
CREATE TRIGGER trg_repair_requests_touch
AFTER UPDATE OF status, device_type, device_model, problem_description ON repair_requests
FOR EACH ROW
BEGIN
    UPDATE repair_requests
    SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    WHERE id = NEW.id;
END;

-- migrate:downgrade
DROP TRIGGER trg_repair_requests_touch;
DROP INDEX ix_repair_requests_status;
DROP INDEX ix_repair_requests_user_id;
DROP TABLE repair_requests;
DROP TABLE users;
