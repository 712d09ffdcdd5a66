-- revision: 001
-- down_revision: none
-- message: initial schema
-- create_date: 2025-10-01 09:00:00

-- migrate:upgrade
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    telegram_id BIGINT NOT NULL UNIQUE,
    username TEXT,
    full_name TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE repair_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_type TEXT NOT NULL,
    device_model TEXT,
    problem_description TEXT NOT NULL CHECK (length(problem_description) > 0),
    status TEXT NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'accepted', 'in_progress', 'ready', 'closed', 'cancelled')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX ix_repair_requests_user_id ON repair_requests (user_id);

-- Keep updated_at current on every change. The function body is dollar
-- quoted: its `;` do not end the statement.
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$body$;

CREATE TRIGGER trg_repair_requests_touch
BEFORE UPDATE OF status, device_type, device_model, problem_description ON repair_requests
FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- migrate:downgrade
DROP TRIGGER trg_repair_requests_touch ON repair_requests;
DROP FUNCTION touch_updated_at();
DROP TABLE repair_requests;
DROP TABLE users;
