package argus

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// Share is a grant from the organisation that owns cameras (OwnerOrgID) to
// another organisation (GranteeOrgID): the grantee's users may take Actions
// on the owner's cameras it covers, from ValidFrom until ValidUntil, as far
// as their role allows. A camera is covered when its id is in CameraIDs, or
// it carries one of Tags, or it stands in Area; and only while OwnerOrgID
// owns it. A share is revoked, never deleted: the row stays, with who
// revoked it, when and why, for accountability.
type Share struct {
	ID           string `json:"id"`
	OwnerOrgID   string `json:"owner_org_id"`
	GranteeOrgID string `json:"grantee_org_id"`
	// CameraIDs, Tags and Area select the cameras; at least one must be
	// set. Validate sorts and de-duplicates CameraIDs and Tags.
	CameraIDs []string `json:"camera_ids"`
	Tags      []string `json:"tags"`
	Area      *Area    `json:"area,omitempty"`
	// Actions are what the grantee may do: some of ShareActions.
	Actions []Action `json:"actions"`
	// ValidFrom and ValidUntil bound the share: [ValidFrom, ValidUntil),
	// at most MaxShareSpan long. Both are required: no share is open-ended.
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	// Purpose says why the share exists (an agreement, an operation).
	Purpose string `json:"purpose"`
	// CreatedBy is the id of the user who granted it.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is zero while the share is not revoked.
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokedBy    string    `json:"revoked_by,omitempty"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

// Area is a region of the map: a bounding box, a polygon, or both, in which
// case a point must lie inside both (the box then serves as a quick test).
// Coordinates are WGS84 degrees, longitude first, as in GeoJSON; neither
// shape may cross the antimeridian.
type Area struct {
	// BBox is [minLon, minLat, maxLon, maxLat].
	BBox []float64 `json:"bbox,omitempty"`
	// Polygon is a ring of at least 3 [lon, lat] vertices; repeating the
	// first vertex at the end is allowed. Edges are straight lines in
	// degrees, which at city scale is the map as drawn.
	Polygon [][]float64 `json:"polygon,omitempty"`
}

// CameraResource returns c as the access gate sees it: its owner, and the
// tags and position that decide whether a share covers it.
func CameraResource(c *Camera) Resource {
	return Resource{Kind: "camera", ID: c.ID, OrgID: c.OrgID, Tags: c.Tags, Point: &GeoPoint{Lat: c.Lat, Lon: c.Lon}}
}

// ShareActions are the actions a share may grant.
var ShareActions = []Action{ActionLive, ActionPlayback, ActionExport, ActionPTZ}

// Limits on shares.
const (
	// MaxShareSpan is the longest a share may be valid (365 days).
	MaxShareSpan = 365 * 24 * time.Hour
	// MaxSharePurposeLen bounds the purpose of a share and the reason of
	// its revocation.
	MaxSharePurposeLen = 1000
	// MaxShareCameras bounds the camera ids one share names.
	MaxShareCameras = 10000
	// MaxPolygonPoints bounds the vertices of an area's polygon.
	MaxPolygonPoints = 1000
)

// Grants reports whether the share grants action.
func (s *Share) Grants(action Action) bool { return slices.Contains(s.Actions, action) }

// Revoked reports whether the share has been revoked.
func (s *Share) Revoked() bool { return !s.RevokedAt.IsZero() }

// ActiveAt reports whether the share is in effect at t: not revoked and
// ValidFrom <= t < ValidUntil.
func (s *Share) ActiveAt(t time.Time) bool {
	return !s.Revoked() && !t.Before(s.ValidFrom) && t.Before(s.ValidUntil)
}

// Covers reports whether the share selects a camera with this id, these
// tags and this position (nil when unknown). It does not check the owner:
// the caller compares the camera's organisation with OwnerOrgID. The
// share's CameraIDs and Tags must be sorted, as Validate leaves them.
func (s *Share) Covers(cameraID string, tags []string, at *GeoPoint) bool {
	return covers(s.CameraIDs, s.Tags, s.Area, cameraID, tags, at)
}

func covers(ids, tags []string, area *Area, cameraID string, cameraTags []string, at *GeoPoint) bool {
	if _, found := slices.BinarySearch(ids, cameraID); found {
		return true
	}
	for _, t := range cameraTags {
		if _, found := slices.BinarySearch(tags, t); found {
			return true
		}
	}
	return at != nil && area != nil && area.Contains(*at)
}

// ShareScope is what a share selects, as a directory listing asks for it
// (CameraFilter.Shared): the cameras OwnerOrgID owns that CameraIDs lists,
// that carry one of Tags or that stand in Area. CameraIDs and Tags are
// sorted, as Share.Validate leaves them.
type ShareScope struct {
	ShareID    string   `json:"share_id"`
	OwnerOrgID string   `json:"owner_org_id"`
	CameraIDs  []string `json:"camera_ids,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Area       *Area    `json:"area,omitempty"`
}

// Scope returns the cameras s selects. It shares s's slices.
func (s *Share) Scope() ShareScope {
	return ShareScope{ShareID: s.ID, OwnerOrgID: s.OwnerOrgID, CameraIDs: s.CameraIDs, Tags: s.Tags, Area: s.Area}
}

// Covers reports whether the scope selects c: its owner owns c, and c is
// listed, carries one of the tags or stands in the area — the share rule
// of the access gate, less the share's validity and actions.
func (sc *ShareScope) Covers(c *Camera) bool {
	p := c.Point()
	return c.OrgID == sc.OwnerOrgID && covers(sc.CameraIDs, sc.Tags, sc.Area, c.ID, c.Tags, &p)
}

// Validate normalises the share (trims the purpose; sorts and de-duplicates
// camera ids, tags and actions, lower-casing tags) and checks the fields a
// new share must have. It does not check that the organisations and cameras
// exist or who owns the cameras.
func (s *Share) Validate() error {
	s.Purpose = strings.TrimSpace(s.Purpose)
	s.CameraIDs = sortedSet(s.CameraIDs, strings.TrimSpace)
	s.Tags = sortedSet(s.Tags, func(t string) string { return strings.ToLower(strings.TrimSpace(t)) })
	s.Actions = sortedSet(s.Actions, func(a Action) Action { return a })
	switch {
	case !ValidID(s.ID):
		return FieldErrorf("id", "id %q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", s.ID)
	case !ValidID(s.OwnerOrgID):
		return FieldErrorf("owner_org_id", "owner_org_id %q is not a valid id", s.OwnerOrgID)
	case !ValidID(s.GranteeOrgID):
		return FieldErrorf("grantee_org_id", "grantee_org_id %q is not a valid id", s.GranteeOrgID)
	case s.GranteeOrgID == s.OwnerOrgID:
		return FieldErrorf("grantee_org_id", "an organisation cannot share with itself")
	case len(s.CameraIDs) == 0 && len(s.Tags) == 0 && s.Area == nil:
		return FieldErrorf("camera_ids", "a share must select cameras by camera_ids, tags or area")
	case len(s.CameraIDs) > MaxShareCameras:
		return FieldErrorf("camera_ids", "more than %d camera ids", MaxShareCameras)
	case len(s.Tags) > MaxTags:
		return FieldErrorf("tags", "more than %d tags", MaxTags)
	case len(s.Actions) == 0:
		return FieldErrorf("actions", "at least one action is required")
	case s.ValidFrom.IsZero():
		return FieldErrorf("valid_from", "valid_from is required")
	case s.ValidUntil.IsZero():
		return FieldErrorf("valid_until", "valid_until is required: a share cannot be open-ended")
	case !s.ValidFrom.Before(s.ValidUntil):
		return FieldErrorf("valid_until", "valid_until %s is not after valid_from %s",
			s.ValidUntil.Format(time.RFC3339), s.ValidFrom.Format(time.RFC3339))
	case s.ValidUntil.Sub(s.ValidFrom) > MaxShareSpan:
		return FieldErrorf("valid_until", "a share is valid for at most %d days", MaxShareSpan/(24*time.Hour))
	case s.Purpose == "":
		return FieldErrorf("purpose", "purpose is required")
	case len(s.Purpose) > MaxSharePurposeLen:
		return FieldErrorf("purpose", "purpose is longer than %d characters", MaxSharePurposeLen)
	case !ValidID(s.CreatedBy):
		return FieldErrorf("created_by", "created_by %q is not a valid user id", s.CreatedBy)
	}
	for _, id := range s.CameraIDs {
		if !ValidID(id) {
			return FieldErrorf("camera_ids", "camera id %q is not a valid id", id)
		}
	}
	for _, t := range s.Tags {
		if !ValidTag(t) {
			return FieldErrorf("tags", "tag %q must be 1-48 characters of a-z, 0-9, ':', '_', '.' or '-'", t)
		}
	}
	for _, a := range s.Actions {
		if !slices.Contains(ShareActions, a) {
			return FieldErrorf("actions", "action %q cannot be shared: use %s, %s, %s or %s", a,
				ActionLive, ActionPlayback, ActionExport, ActionPTZ)
		}
	}
	if s.Area != nil {
		return s.Area.Validate()
	}
	return nil
}

// sortedSet returns values normalised by norm, without empties, sorted and
// de-duplicated; never nil.
func sortedSet[T ~string](values []T, norm func(T) T) []T {
	out := make([]T, 0, len(values))
	for _, v := range values {
		if v = norm(v); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Validate checks the box and the polygon (field "area").
func (a *Area) Validate() error {
	if a.BBox == nil && a.Polygon == nil {
		return FieldErrorf("area", "an area needs a bbox or a polygon")
	}
	if a.BBox != nil {
		if len(a.BBox) != 4 {
			return FieldErrorf("area", "bbox must be [minLon, minLat, maxLon, maxLat]")
		}
		if err := validLonLat(a.BBox[0], a.BBox[1]); err != nil {
			return err
		}
		if err := validLonLat(a.BBox[2], a.BBox[3]); err != nil {
			return err
		}
		if a.BBox[0] > a.BBox[2] || a.BBox[1] > a.BBox[3] {
			return FieldErrorf("area", "bbox minimum corner is not below and west of its maximum corner")
		}
	}
	if a.Polygon != nil {
		if len(a.Polygon) < 3 || len(a.Polygon) > MaxPolygonPoints {
			return FieldErrorf("area", "polygon needs 3 to %d vertices, not %d", MaxPolygonPoints, len(a.Polygon))
		}
		for _, v := range a.Polygon {
			if len(v) != 2 {
				return FieldErrorf("area", "polygon vertices must be [lon, lat]")
			}
			if err := validLonLat(v[0], v[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

func validLonLat(lon, lat float64) error {
	if math.IsNaN(lon) || lon < -180 || lon > 180 || math.IsNaN(lat) || lat < -90 || lat > 90 {
		return FieldErrorf("area", "[%v, %v] is not a [lon, lat] position", lon, lat)
	}
	return nil
}

// Contains reports whether p lies in the area: inside the box (edges
// included) and inside the polygon, for those that are set. A point exactly
// on a polygon edge may fall either way.
func (a *Area) Contains(p GeoPoint) bool {
	if len(a.BBox) == 4 && (p.Lon < a.BBox[0] || p.Lon > a.BBox[2] || p.Lat < a.BBox[1] || p.Lat > a.BBox[3]) {
		return false
	}
	if len(a.Polygon) < 3 {
		return len(a.BBox) == 4
	}
	// Even-odd rule: count the edges a ray from p towards +lon crosses.
	in := false
	j := len(a.Polygon) - 1
	for i, vi := range a.Polygon {
		vj := a.Polygon[j]
		j = i
		if len(vi) != 2 || len(vj) != 2 {
			return false
		}
		xi, yi, xj, yj := vi[0], vi[1], vj[0], vj[1]
		if (yi > p.Lat) != (yj > p.Lat) && p.Lon < (xj-xi)*(p.Lat-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// ShareFilter selects shares. Every set field must match (AND).
type ShareFilter struct {
	// OrgIDs keeps the shares granted or received by one of these
	// organisations; empty = any.
	OrgIDs []string
	// OwnerOrgID keeps the shares granted by this organisation; "" = any.
	OwnerOrgID string
	// GranteeOrgID keeps the shares received by this organisation; "" =
	// any.
	GranteeOrgID string
	// CurrentAt, when set, keeps the shares that are not revoked and whose
	// validity has not ended at that time (ValidUntil after it), including
	// those that have not begun.
	CurrentAt time.Time
}

// ShareStore persists shares.
type ShareStore interface {
	// CreateShare validates and adds s, setting CreatedAt and truncating
	// ValidFrom and ValidUntil to the microsecond. ECONFLICT if the id is
	// taken; EINVALID (field owner_org_id or grantee_org_id) if an
	// organisation does not exist.
	CreateShare(ctx context.Context, s *Share) error
	// Share returns one share; ENOTFOUND if there is none.
	Share(ctx context.Context, id string) (*Share, error)
	// Shares returns the shares matching f, newest first.
	Shares(ctx context.Context, f ShareFilter) ([]*Share, error)
	// RevokeShare revokes a share that is not revoked, recording who, when
	// and why, and returns it. ENOTFOUND if absent; ECONFLICT if it is
	// revoked already; EINVALID (field reason) without a reason.
	RevokeShare(ctx context.Context, id, by, reason string) (*Share, error)
}
