-- The schema the bot needs on PostgreSQL, as the migrations build it at
-- their head. `migrate check` fails when they disagree; `migrate revision
-- --autogenerate -m "..."` writes the migration that closes the gap.

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    telegram_id BIGINT NOT NULL UNIQUE,
    username TEXT,
    full_name TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    phone_number TEXT
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
CREATE INDEX ix_repair_requests_status ON repair_requests (status, created_at);

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$body$;

CREATE TRIGGER trg_repair_requests_touch
BEFORE UPDATE OF status, device_type, device_model, problem_description ON repair_requests
FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
