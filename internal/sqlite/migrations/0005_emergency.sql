-- 0005: emergency grants: a user opens one camera for themselves, for at
-- most an hour, with a stated reason. Times are INTEGER microseconds since
-- the Unix epoch (UTC).

-- A grant is never deleted, and its ids are not foreign keys: the record of
-- who opened what, when and why outlives the user and the camera.
CREATE TABLE emergency_grants (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL,
	org_id       TEXT NOT NULL,
	camera_id    TEXT NOT NULL,
	owner_org_id TEXT NOT NULL,
	actions      TEXT NOT NULL, -- JSON array, sorted
	reason       TEXT NOT NULL,
	from_us      INTEGER NOT NULL,
	until_us     INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX emergency_grants_owner ON emergency_grants (owner_org_id, created_at);
CREATE INDEX emergency_grants_org ON emergency_grants (org_id, created_at);
-- The access gate reloads the current grants every few seconds.
CREATE INDEX emergency_grants_until ON emergency_grants (until_us);
