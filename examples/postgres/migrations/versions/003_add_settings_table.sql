-- revision: 003
-- down_revision: 002
-- message: add settings table
-- create_date: 2025-10-20 18:30:00

-- migrate:upgrade
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO settings (key, value) VALUES
    ('work_hours', '10:00-19:00'),
    ('notify_admins', '1');

-- migrate:downgrade
DROP TABLE settings;
