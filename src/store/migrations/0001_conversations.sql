-- Conversations with served teams and agents: one JSON document (the team's or agent's saved
-- state) per conversation, its owner, its expiry and the lease of the call running on it.
-- Plain types that read the same in SQLite and PostgreSQL; times are milliseconds since 1970.
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    turns BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    lease TEXT,
    lease_until BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated_at);
CREATE INDEX IF NOT EXISTS conversations_by_expiry ON conversations (expires_at);
