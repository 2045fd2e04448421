-- 0002: byte quotas for cameras and organisations, and evidence holds.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

ALTER TABLE cameras ADD COLUMN retention_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN quota_bytes INTEGER NOT NULL DEFAULT 0;

-- A hold is released, never deleted. camera_id, org_id and the user ids are
-- not foreign keys: a hold outlives the camera, organisation and users it
-- names, because the recordings it protects do.
CREATE TABLE holds (
	id             TEXT PRIMARY KEY,
	camera_id      TEXT NOT NULL,
	org_id         TEXT NOT NULL,
	from_us        INTEGER NOT NULL,
	to_us          INTEGER NOT NULL,
	reason         TEXT NOT NULL,
	created_by     TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	released_at    INTEGER,          -- NULL while active
	released_by    TEXT NOT NULL DEFAULT '',
	release_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX holds_camera ON holds (camera_id, created_at);
CREATE INDEX holds_org ON holds (org_id, created_at);
-- The retention sweeper reads the active holds every pass.
CREATE INDEX holds_active ON holds (camera_id) WHERE released_at IS NULL;
