-- revision: 002
-- down_revision: 001
-- message: add phone_number to users
-- create_date: 2025-10-13 12:00:00

-- migrate:upgrade
ALTER TABLE users ADD COLUMN phone_number TEXT;

-- migrate:downgrade
ALTER TABLE users DROP COLUMN phone_number;
