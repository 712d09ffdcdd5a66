-- revision: 004
-- down_revision: 003
-- message: index requests by status without blocking the bot
-- create_date: 2025-11-02 10:00:00
-- transactional: false

-- migrate:upgrade
-- Built CONCURRENTLY: the bot keeps writing requests during the build.
-- A concurrent build cannot run in a transaction, hence the header.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_repair_requests_status
    ON repair_requests (status, created_at);

-- migrate:downgrade
DROP INDEX CONCURRENTLY IF EXISTS ix_repair_requests_status;
