package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"argus"
)

// credentials is the plaintext that is sealed into cameras.credentials.
type credentials struct {
	Username string `json:"u"`
	Password string `json:"p"`
}

// sealCredentials returns the sealed credentials of c, or nil when it has
// none. The camera id is the additional data.
func (db *DB) sealCredentials(c *argus.Camera) ([]byte, error) {
	if c.Username == "" && c.Password == "" {
		return nil, nil
	}
	pt, err := json.Marshal(credentials{c.Username, c.Password})
	if err != nil {
		return nil, err
	}
	sealed, err := db.sealer.Seal(pt, []byte(c.ID))
	if err != nil {
		return nil, fmt.Errorf("seal credentials of camera %s: %w", c.ID, err)
	}
	return sealed, nil
}

func (db *DB) openCredentials(c *argus.Camera, sealed []byte) error {
	if sealed == nil {
		return nil
	}
	pt, err := db.sealer.Open(sealed, []byte(c.ID))
	if err != nil {
		return fmt.Errorf("open credentials of camera %s: %w", c.ID, err)
	}
	var cr credentials
	if err := json.Unmarshal(pt, &cr); err != nil {
		return fmt.Errorf("open credentials of camera %s: %w", c.ID, err)
	}
	c.Username, c.Password = cr.Username, cr.Password
	return nil
}

// cameraCols are the columns scanCamera reads, credentials excluded.
const cameraCols = `c.id, c.org_id, c.name, c.lat, c.lon, c.address, c.district, c.tags, c.stream_url,
	c.sub_stream_url, c.onvif_url, c.recording, c.retention_days, c.retention_bytes, c.labels, c.transport, c.created_at, c.updated_at`

func scanCamera(row interface{ Scan(...any) error }, extra ...any) (*argus.Camera, error) {
	var c argus.Camera
	var tags string
	var labels sql.NullString
	var created, updated int64
	dest := []any{&c.ID, &c.OrgID, &c.Name, &c.Lat, &c.Lon, &c.Address, &c.District, &tags, &c.StreamURL,
		&c.SubStreamURL, &c.ONVIFURL, &c.Recording, &c.RetentionDays, &c.RetentionBytes, &labels, &c.Transport, &created, &updated}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return nil, fmt.Errorf("camera %s: tags: %w", c.ID, err)
	}
	if labels.Valid {
		if err := json.Unmarshal([]byte(labels.String), &c.Labels); err != nil {
			return nil, fmt.Errorf("camera %s: labels: %w", c.ID, err)
		}
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

// Camera returns one camera with its credentials unsealed.
func (db *DB) Camera(ctx context.Context, id string) (*argus.Camera, error) {
	var sealed []byte
	c, err := scanCamera(db.r.QueryRowContext(ctx,
		`SELECT `+cameraCols+`, c.credentials FROM cameras c WHERE c.id = ?`, id), &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("camera", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read camera: %w", err)
	}
	if err := db.openCredentials(c, sealed); err != nil {
		return nil, err
	}
	return c, nil
}

// prepareCamera normalises and validates c.
func prepareCamera(c *argus.Camera) error {
	c.Normalize()
	return c.Validate()
}

// CreateCamera adds c and sets its CreatedAt and UpdatedAt.
func (db *DB) CreateCamera(ctx context.Context, c *argus.Camera) error {
	if err := prepareCamera(c); err != nil {
		return err
	}
	now := db.stamp()
	err := db.write(ctx, func(tx *sql.Tx) error {
		cells := cellDeltas{}
		rid, text, err := newCameraWriter(ctx, db, tx).insert(ctx, c, now)
		if err != nil {
			return err
		}
		cells.add(c.Lat, c.Lon, rid, 1, 0)
		tris := trigramDeltas{}
		tris.add(text, 1)
		if err := tris.apply(ctx, tx, &db.ws); err != nil {
			return err
		}
		return cells.apply(ctx, tx, &db.ws)
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = now, now
	return nil
}

// UpdateCamera replaces every field of c but ID and CreatedAt, sets
// UpdatedAt and fills in CreatedAt.
func (db *DB) UpdateCamera(ctx context.Context, c *argus.Camera) error {
	if err := prepareCamera(c); err != nil {
		return err
	}
	now := db.stamp()
	var created int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		var old struct {
			rid                   int64
			lat, lon              float64
			name, address, tagsJS string
		}
		err := tx.QueryRowContext(ctx,
			`SELECT rid, lat, lon, name, address, tags, created_at FROM cameras WHERE id = ?`, c.ID).
			Scan(&old.rid, &old.lat, &old.lon, &old.name, &old.address, &old.tagsJS, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("camera", c.ID)
		}
		if err != nil {
			return fmt.Errorf("update camera: %w", err)
		}
		var oldTags []string
		if err := json.Unmarshal([]byte(old.tagsJS), &oldTags); err != nil {
			return fmt.Errorf("update camera %s: tags: %w", c.ID, err)
		}
		row, err := db.cameraRow(c)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE cameras SET org_id = ?, name = ?, lat = ?, lon = ?, cell = ?, address = ?,
			district = ?, tags = ?, stream_url = ?, sub_stream_url = ?, onvif_url = ?, credentials = ?,
			recording = ?, retention_days = ?, retention_bytes = ?, labels = ?, transport = ?, updated_at = ? WHERE rid = ?`,
			append(row[1:len(row)-2], micros(now), old.rid)...)
		if err != nil {
			return constraint(err, "camera", "org_id", orgMissing(c.OrgID))
		}
		if old.lat != c.Lat || old.lon != c.Lon {
			cells := cellDeltas{}
			cells.add(old.lat, old.lon, old.rid, -1, 0)
			cells.add(c.Lat, c.Lon, old.rid, 1, 0)
			if err := cells.apply(ctx, tx, &db.ws); err != nil {
				return err
			}
		}
		if old.name != c.Name || old.address != c.Address {
			was, is := searchText(c.ID, old.name, old.address), searchText(c.ID, c.Name, c.Address)
			if _, err := tx.ExecContext(ctx, deleteFTS, ftsArgs(old.rid, was)...); err != nil {
				return fmt.Errorf("update camera text: %w", err)
			}
			if _, err := tx.ExecContext(ctx, insertFTS, ftsArgs(old.rid, is)...); err != nil {
				return fmt.Errorf("update camera text: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE camera_text SET search = ? WHERE rid = ?`, searchJoin(is), old.rid); err != nil {
				return fmt.Errorf("update camera text: %w", err)
			}
			tris := trigramDeltas{}
			tris.add(was, -1)
			tris.add(is, 1)
			if err := tris.apply(ctx, tx, &db.ws); err != nil {
				return err
			}
		}
		for _, t := range oldTags {
			if !slices.Contains(c.Tags, t) {
				if _, err := tx.ExecContext(ctx, `DELETE FROM camera_tags WHERE tag = ? AND camera_id = ?`, t, c.ID); err != nil {
					return fmt.Errorf("update camera tags: %w", err)
				}
			}
		}
		for _, t := range c.Tags {
			if !slices.Contains(oldTags, t) {
				if _, err := tx.ExecContext(ctx, `INSERT INTO camera_tags (tag, camera_id, rid) VALUES (?, ?, ?)`, t, c.ID, old.rid); err != nil {
					return fmt.Errorf("update camera tags: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), now
	return nil
}

// DeleteCamera removes a camera.
func (db *DB) DeleteCamera(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var rid int64
		var lat, lon float64
		var name, address, tagsJS string
		err := tx.QueryRowContext(ctx, `DELETE FROM cameras WHERE id = ? RETURNING rid, lat, lon, name, address, tags`, id).
			Scan(&rid, &lat, &lon, &name, &address, &tagsJS)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("camera", id)
		}
		if err != nil {
			return fmt.Errorf("delete camera: %w", err)
		}
		var tags []string
		if err := json.Unmarshal([]byte(tagsJS), &tags); err != nil {
			return fmt.Errorf("delete camera %s: tags: %w", id, err)
		}
		text := searchText(id, name, address)
		if _, err := tx.ExecContext(ctx, deleteFTS, ftsArgs(rid, text)...); err != nil {
			return fmt.Errorf("delete camera: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM camera_text WHERE rid = ?`, rid); err != nil {
			return fmt.Errorf("delete camera: %w", err)
		}
		tris := trigramDeltas{}
		tris.add(text, -1)
		if err := tris.apply(ctx, tx, &db.ws); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.ExecContext(ctx, `DELETE FROM camera_tags WHERE tag = ? AND camera_id = ?`, t, id); err != nil {
				return fmt.Errorf("delete camera: %w", err)
			}
		}
		cells := cellDeltas{}
		cells.add(lat, lon, rid, -1, 0)
		return cells.apply(ctx, tx, &db.ws)
	})
}

// cameraRow returns the values of the cameras columns in insert order, from
// id to updated_at (created_at and updated_at left for the caller to set).
func (db *DB) cameraRow(c *argus.Camera) ([]any, error) {
	tags, err := json.Marshal(c.Tags)
	if err != nil {
		return nil, err
	}
	var labels sql.NullString
	if len(c.Labels) > 0 {
		b, err := json.Marshal(c.Labels)
		if err != nil {
			return nil, err
		}
		labels = sql.NullString{String: string(b), Valid: true}
	}
	sealed, err := db.sealCredentials(c)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.OrgID, c.Name, c.Lat, c.Lon, cellID(c.Lat, c.Lon), c.Address, c.District, string(tags),
		c.StreamURL, c.SubStreamURL, c.ONVIFURL, sealed, c.Recording, c.RetentionDays, c.RetentionBytes, labels, c.Transport, nil, nil}, nil
}

// cameraWriter inserts cameras with their rows in every index.
type cameraWriter struct {
	db                     *DB
	camera, fts, text, tag *sql.Stmt
}

func newCameraWriter(ctx context.Context, db *DB, tx *sql.Tx) *cameraWriter {
	return &cameraWriter{
		db:     db,
		camera: tx.StmtContext(ctx, db.ws.camera), fts: tx.StmtContext(ctx, db.ws.fts),
		text: tx.StmtContext(ctx, db.ws.text), tag: tx.StmtContext(ctx, db.ws.tag),
	}
}

// errPoisoned marks a failure after the camera row was written: the
// transaction holds a partial camera and must not be committed.
var errPoisoned = errors.New("camera indexes are incomplete")

// insert writes a prepared (normalised, valid) camera and returns its rid
// and its text as indexed.
// A constraint failure of the cameras row comes back as an *argus.Error and
// leaves the transaction usable; any later failure wraps errPoisoned.
func (w *cameraWriter) insert(ctx context.Context, c *argus.Camera, now time.Time) (int64, [3]string, error) {
	var text [3]string
	row, err := w.db.cameraRow(c)
	if err != nil {
		return 0, text, err
	}
	row[len(row)-2], row[len(row)-1] = micros(now), micros(now)
	res, err := w.camera.ExecContext(ctx, row...)
	if err != nil {
		return 0, text, constraint(err, "camera", "org_id", orgMissing(c.OrgID))
	}
	rid, err := res.LastInsertId()
	if err != nil {
		return 0, text, fmt.Errorf("insert camera %s: %w: %w", c.ID, errPoisoned, err)
	}
	text = searchText(c.ID, c.Name, c.Address)
	if _, err := w.fts.ExecContext(ctx, ftsArgs(rid, text)...); err != nil {
		return 0, text, fmt.Errorf("insert camera %s text: %w: %w", c.ID, errPoisoned, err)
	}
	if _, err := w.text.ExecContext(ctx, rid, c.ID, searchJoin(text)); err != nil {
		return 0, text, fmt.Errorf("insert camera %s text: %w: %w", c.ID, errPoisoned, err)
	}
	for _, t := range c.Tags {
		if _, err := w.tag.ExecContext(ctx, t, c.ID, rid); err != nil {
			return 0, text, fmt.Errorf("insert camera %s tags: %w: %w", c.ID, errPoisoned, err)
		}
	}
	return rid, text, nil
}
