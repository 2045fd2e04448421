-- 0001: organisations, cameras with their search structures, users, tokens.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE orgs (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	parent_id  TEXT REFERENCES orgs (id),
	created_at INTEGER NOT NULL
);
CREATE INDEX orgs_parent ON orgs (parent_id);

-- rid is the integer key the tag, text and FTS tables and the grid sums refer
-- to; id is the public identifier listings are ordered by.
CREATE TABLE cameras (
	rid            INTEGER PRIMARY KEY,
	id             TEXT NOT NULL,
	org_id         TEXT NOT NULL REFERENCES orgs (id),
	name           TEXT NOT NULL,
	lat            REAL NOT NULL,
	lon            REAL NOT NULL,
	cell           INTEGER NOT NULL, -- grid cell at zoom 16: y << 20 | x (see camera_cells)
	address        TEXT NOT NULL,
	district       TEXT NOT NULL,
	tags           TEXT NOT NULL, -- JSON array, sorted; camera_tags indexes it
	stream_url     TEXT NOT NULL,
	sub_stream_url TEXT NOT NULL,
	onvif_url      TEXT NOT NULL,
	credentials    BLOB,          -- username and password sealed with the camera id as ad
	recording      INTEGER NOT NULL,
	retention_days INTEGER NOT NULL,
	labels         TEXT,          -- JSON object or NULL
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
-- Listings are ordered by id. Every index a filter starts from yields
-- (rid, id) without reading the row, so candidates are sorted cheaply and
-- only the first page's rows are read.
CREATE UNIQUE INDEX cameras_id ON cameras (id);
CREATE INDEX cameras_org ON cameras (org_id, id);
CREATE INDEX cameras_district ON cameras (district, id);
-- Area queries: a box is one run of consecutive cells per row of cells;
-- lat and lon make the exact test without reading the row.
CREATE INDEX cameras_cell ON cameras (cell, lat, lon, id);

-- One row per (tag, camera), in camera id order per tag.
CREATE TABLE camera_tags (
	tag       TEXT NOT NULL,
	camera_id TEXT NOT NULL,
	rid       INTEGER NOT NULL,
	PRIMARY KEY (tag, camera_id)
) WITHOUT ROWID;

-- Substring search over id, name and address: trigrams of the lower-cased
-- text (lowered in Go), contentless, rowid = cameras.rid. Rows are removed
-- with the 'delete' command and the values they were indexed with.
CREATE VIRTUAL TABLE camera_fts USING fts5 (
	id, name, address,
	content = '', columnsize = 0, detail = none, tokenize = 'trigram case_sensitive 1'
);
-- Buffer 16 MiB of postings before writing a segment (default 1 MiB): bulk
-- imports then merge far fewer segments.
INSERT INTO camera_fts (camera_fts, rank) VALUES ('hashsize', 16777216);

-- The text FTS matches are checked against, narrow and keyed like the FTS
-- rowid: id, name and address lower-cased, joined by U+001F.
CREATE TABLE camera_text (
	rid    INTEGER PRIMARY KEY,
	id     TEXT NOT NULL,
	search TEXT NOT NULL
);

-- How many cameras contain each trigram. FTS5 reads the whole posting list
-- of every term in a query, and trigrams like ' st' are in most cameras, so
-- a text query looks up only its rarest trigrams and checks the candidates.
CREATE TABLE camera_trigrams (
	tri TEXT PRIMARY KEY,
	n   INTEGER NOT NULL
) WITHOUT ROWID;

-- Camera counts per grid cell for every zoom 0..16, kept on every write, so
-- a map of the whole city reads a few hundred rows instead of every camera.
-- (y, x) index the cells of GridCellDeg(z) degrees from (-90, -180); sums
-- are of latitudes and longitudes in nanodegrees and of rids (sum_rid is the
-- camera's rid when n = 1).
CREATE TABLE camera_cells (
	z       INTEGER NOT NULL,
	y       INTEGER NOT NULL,
	x       INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	sum_lat INTEGER NOT NULL,
	sum_lon INTEGER NOT NULL,
	sum_rid INTEGER NOT NULL,
	PRIMARY KEY (z, y, x)
) WITHOUT ROWID;
CREATE INDEX camera_cells_column ON camera_cells (z, x, y);
CREATE INDEX camera_cells_empty ON camera_cells (n) WHERE n = 0;

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	org_id        TEXT NOT NULL REFERENCES orgs (id),
	role          TEXT NOT NULL,
	disabled      INTEGER NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE tokens (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id),
	kind         TEXT NOT NULL,
	name         TEXT NOT NULL,
	hash         BLOB NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER,         -- NULL: never expires
	last_used_at INTEGER
);
CREATE INDEX tokens_user ON tokens (user_id, created_at);
CREATE INDEX tokens_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL;
