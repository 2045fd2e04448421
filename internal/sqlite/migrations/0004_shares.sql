-- 0004: shares of cameras from the organisation that owns them to another.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

-- A share is revoked, never deleted. The organisation and user ids are not
-- foreign keys: the record of who was granted what outlives them.
CREATE TABLE shares (
	id             TEXT PRIMARY KEY,
	owner_org_id   TEXT NOT NULL,
	grantee_org_id TEXT NOT NULL,
	camera_ids     TEXT NOT NULL, -- JSON array, sorted
	tags           TEXT NOT NULL, -- JSON array, sorted
	area           TEXT,          -- JSON object {"bbox","polygon"} or NULL
	actions        TEXT NOT NULL, -- JSON array, sorted
	valid_from     INTEGER NOT NULL,
	valid_until    INTEGER NOT NULL,
	purpose        TEXT NOT NULL,
	created_by     TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	revoked_at     INTEGER,          -- NULL while not revoked
	revoked_by     TEXT NOT NULL DEFAULT '',
	revoke_reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX shares_owner ON shares (owner_org_id, created_at);
CREATE INDEX shares_grantee ON shares (grantee_org_id, created_at);
-- The access gate reloads the current shares every few seconds.
CREATE INDEX shares_current ON shares (valid_until) WHERE revoked_at IS NULL;
