package api

import (
	"context"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"argus"
)

func cameraResource(c *argus.Camera) argus.Resource { return argus.CameraResource(c) }

// cameraList is one page of cameras; Next is the cursor of the following
// page, empty on the last.
type cameraList struct {
	Items []cameraItem `json:"items"`
	Next  string       `json:"next"`
}

// cameraItem is a camera in a listing. SharedBy is the id of a share that
// lets the caller see it, for a camera of an organisation the caller does
// not otherwise see. State is its ingest state on this node (connecting,
// online, stalled, offline, unauthorised, unsupported_codec), or StateIdle
// while nobody records or watches it here; Alerting marks a camera with an
// unacknowledged warning or critical event.
type cameraItem struct {
	*argus.Camera
	SharedBy string `json:"shared_by,omitempty"`
	State    string `json:"state"`
	Alerting bool   `json:"alerting,omitempty"`
}

// gridResponse holds the non-empty cells of a camera grid.
type gridResponse struct {
	Cells []gridCell `json:"cells"`
}

// gridCell is a cell of the camera grid with, besides its count, how many
// of its cameras this node knows to be in trouble (Offline: ingest state
// offline, stalled, unauthorised or unsupported) and how many are alerting.
type gridCell struct {
	argus.GridCell
	Offline  int `json:"offline,omitempty"`
	Alerting int `json:"alerting,omitempty"`
}

// TroubledCamera is a camera this node pulls whose ingest state is a
// failure, for the grid's per-cell counts.
type TroubledCamera struct {
	// Camera is the camera as the directory gave it at its last connection
	// attempt, without credentials.
	Camera *argus.Camera
	// State is its ingest state (offline, stalled, unauthorised, …).
	State string
}

// scopeOrgs narrows the organisations a listing asked for to those the
// caller may see. none reports that nothing can match, since an empty
// OrgIDs filter means "any organisation".
func (s *Server) scopeOrgs(ctx context.Context, p argus.Principal, requested []string) (orgs []string, none bool, err error) {
	visible, all, err := s.gate.VisibleOrgs(ctx, p)
	switch {
	case err != nil:
		return nil, false, err
	case all:
		return requested, false, nil
	case len(requested) == 0:
		return visible, len(visible) == 0, nil
	}
	for _, o := range requested {
		if _, found := slices.BinarySearch(visible, o); found {
			orgs = append(orgs, o)
		}
	}
	return orgs, len(orgs) == 0, nil
}

// listScope passes the gate for a directory listing and narrows the
// filter to what the caller may see: the organisations it asked for (any,
// when none) among those it sees, and the cameras of the others that the
// shares serving it cover (f.Shared: the gate's share rule). none reports
// that nothing can match.
func (s *Server) listScope(r *http.Request, f *argus.CameraFilter) (none bool, err error) {
	ctx, p := r.Context(), principal(r)
	if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, argus.Resource{Kind: "camera", OrgID: p.OrgID}); err != nil {
		return false, err
	}
	visible, all, err := s.gate.VisibleOrgs(ctx, p)
	if err != nil || all {
		return false, err
	}
	requested := f.OrgIDs
	f.OrgIDs = visible
	if len(requested) > 0 {
		f.OrgIDs = nil
		for _, o := range requested {
			if _, found := slices.BinarySearch(visible, o); found {
				f.OrgIDs = append(f.OrgIDs, o)
			}
		}
	}
	scopes, err := s.gate.VisibleShares(ctx, p)
	if err != nil {
		return false, err
	}
	f.Shared = nil
	for _, sc := range scopes {
		// A share from an organisation the caller sees adds nothing.
		_, own := slices.BinarySearch(visible, sc.OwnerOrgID)
		if !own && (len(requested) == 0 || slices.Contains(requested, sc.OwnerOrgID)) {
			f.Shared = append(f.Shared, sc)
		}
	}
	// Both empty would mean any organisation.
	return len(f.OrgIDs) == 0 && len(f.Shared) == 0, nil
}

// sharedBy returns the id of the first of f.Shared that covers c when c is
// listed through a share (not owned by one of f.OrgIDs), else "".
func sharedBy(f *argus.CameraFilter, c *argus.Camera) string {
	if len(f.Shared) == 0 || slices.Contains(f.OrgIDs, c.OrgID) {
		return ""
	}
	for i := range f.Shared {
		if f.Shared[i].Covers(c) {
			return f.Shared[i].ShareID
		}
	}
	return ""
}

func (s *Server) listCameras(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseCameraFilter(q)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	after, err := parseCursor(q)
	if err != nil {
		return err
	}
	none, err := s.listScope(r, &f)
	if err != nil {
		return err
	}
	out := cameraList{Items: []cameraItem{}}
	if !none {
		page, err := s.store.FindCameras(r.Context(), argus.CameraQuery{CameraFilter: f, After: after, Limit: limit})
		if argus.ErrorField(err) == "after" {
			return asField(err, "cursor")
		} else if err != nil {
			return err
		}
		for _, c := range page.Items {
			out.Items = append(out.Items, cameraItem{
				Camera: c.Redacted(), SharedBy: sharedBy(&f, c), State: s.cameraState(c.ID),
				Alerting: s.alerting != nil && s.alerting(c.ID),
			})
		}
		out.Next = page.Next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) cameraGrid(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseCameraFilter(q)
	if err != nil {
		return err
	}
	if f.BBox == nil {
		return argus.FieldErrorf("bbox", "bbox is required")
	}
	zoom, err := strconv.Atoi(q.Get("zoom"))
	if err != nil || zoom < 0 || zoom > 22 {
		return argus.FieldErrorf("zoom", "zoom must be an integer in 0..22, not %q", q.Get("zoom"))
	}
	none, err := s.listScope(r, &f)
	if err != nil {
		return err
	}
	out := gridResponse{Cells: []gridCell{}}
	if !none {
		cells, err := s.store.CameraGrid(r.Context(), argus.GridQuery{CameraFilter: f, Zoom: zoom})
		if err != nil {
			return err
		}
		if out.Cells, err = s.gridStates(r.Context(), &f, zoom, cells); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// cameraState returns a camera's ingest state on this node, or StateIdle.
func (s *Server) cameraState(id string) string {
	if s.health != nil {
		if h, ok := s.health(id); ok {
			return h.State
		}
	}
	return StateIdle
}

// gridStates counts per cell the cameras in trouble and the alerting ones
// that f keeps (the grid's own filter and visibility), from the few that
// Troubled and AlertingCameras name rather than from the directory. A
// camera is put in the cell of its position, as the store aligns cells
// (GridCellDeg(zoom) degrees from (-90, -180)); a cell is found by its
// mean position, which lies inside it.
func (s *Server) gridStates(ctx context.Context, f *argus.CameraFilter, zoom int, cells []argus.GridCell) ([]gridCell, error) {
	out := make([]gridCell, len(cells))
	for i, c := range cells {
		out[i].GridCell = c
	}
	var troubled []TroubledCamera
	var alerting []string
	if s.troubled != nil {
		troubled = s.troubled()
	}
	if s.alertingCams != nil {
		alerting = s.alertingCams()
	}
	if len(cells) == 0 || len(troubled) == 0 && len(alerting) == 0 {
		return out, nil
	}
	d := argus.GridCellDeg(zoom)
	key := func(lat, lon float64) [2]int64 {
		return [2]int64{int64(math.Floor((lat + 90) / d)), int64(math.Floor((lon + 180) / d))}
	}
	index := make(map[[2]int64]int, len(cells))
	for i, c := range cells {
		index[key(c.Lat, c.Lon)] = i
	}
	cell := func(c *argus.Camera) (int, bool) {
		if !matchesFilter(f, c) {
			return 0, false
		}
		i, ok := index[key(c.Lat, c.Lon)]
		return i, ok
	}
	known := make(map[string]*argus.Camera, len(troubled))
	for _, t := range troubled {
		known[t.Camera.ID] = t.Camera
		if i, ok := cell(t.Camera); ok {
			out[i].Offline++
		}
	}
	for _, id := range alerting {
		c := known[id]
		if c == nil {
			var err error
			c, err = s.store.Camera(ctx, id)
			switch {
			case argus.ErrorCode(err) == argus.ENOTFOUND:
				continue
			case err != nil:
				return nil, err
			}
		}
		if i, ok := cell(c); ok {
			out[i].Alerting++
		}
	}
	// A camera moved since ingest last read it may be counted in a cell
	// that no longer holds it: a cell never says more than its count.
	for i := range out {
		out[i].Offline = min(out[i].Offline, out[i].Count)
		out[i].Alerting = min(out[i].Alerting, out[i].Count)
	}
	return out, nil
}

// matchesFilter reports whether f keeps c, as the store's queries do:
// owned by one of f.OrgIDs or covered by one of f.Shared (both empty: any
// owner), and every other field that is set.
func matchesFilter(f *argus.CameraFilter, c *argus.Camera) bool {
	if len(f.OrgIDs) > 0 || len(f.Shared) > 0 {
		ok := slices.Contains(f.OrgIDs, c.OrgID)
		for i := 0; !ok && i < len(f.Shared); i++ {
			ok = f.Shared[i].Covers(c)
		}
		if !ok {
			return false
		}
	}
	for _, t := range f.Tags {
		if !slices.Contains(c.Tags, t) {
			return false
		}
	}
	switch p := c.Point(); {
	case f.District != "" && c.District != f.District,
		f.Recording != nil && c.Recording != *f.Recording,
		f.BBox != nil && !f.BBox.Contains(p),
		f.Near != nil && p.DistanceM(f.Near.Center) > f.Near.RadiusM:
		return false
	}
	if needle := strings.ToLower(strings.TrimSpace(f.Text)); needle != "" {
		return strings.Contains(strings.ToLower(c.ID), needle) || strings.Contains(strings.ToLower(c.Name), needle) ||
			strings.Contains(strings.ToLower(c.Address), needle)
	}
	return true
}

// visibleCamera loads a camera the caller may see in the directory; others
// are ENOTFOUND. The result carries its credentials.
func (s *Server) visibleCamera(r *http.Request) (*argus.Camera, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	c, err := s.store.Camera(ctx, id)
	if err != nil {
		return nil, hidden(err, "camera", id)
	}
	if err := s.gate.Check(ctx, principal(r), argus.ActionViewDirectory, cameraResource(c)); err != nil {
		return nil, hidden(err, "camera", id)
	}
	return c, nil
}

func (s *Server) getCamera(w http.ResponseWriter, r *http.Request) error {
	c, err := s.visibleCamera(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c.Redacted())
	return nil
}

// StateIdle is the CameraHealth state of a camera this node is not pulling:
// nobody is watching or recording it here.
const StateIdle = "idle"

// CameraHealth is one camera's media health on this node, the body of GET
// /api/v1/cameras/{id}/health. Config.Health fills it from ingest and the
// stream hub; the API sets CameraID and Recording itself.
type CameraHealth struct {
	// CameraID is the camera.
	CameraID string `json:"camera_id"`
	// State is the ingest state (connecting, online, stalled, offline,
	// unauthorised, unsupported_codec), or StateIdle.
	State string `json:"state"`
	// Since is when State was entered; absent when idle.
	Since time.Time `json:"since,omitzero"`
	// FPS is frames per second and Bitrate the payload in bits per second,
	// over about the last second; 0 unless online.
	FPS     float64 `json:"fps"`
	Bitrate float64 `json:"bitrate"`
	// LastKeyframe is when the last keyframe arrived; absent before the
	// first.
	LastKeyframe time.Time `json:"last_keyframe,omitzero"`
	// Reconnects counts connection attempts after the first since this
	// node started pulling the camera.
	Reconnects int `json:"reconnects"`
	// LastError is the last failure, without credentials.
	LastError string `json:"last_error"`
	// Readers is the number of readers of the camera's stream (live viewers
	// and the recorder).
	Readers int `json:"readers"`
	// Recording reports that the camera's recording flag is on and this node
	// is pulling it.
	Recording bool `json:"recording"`
}

func (s *Server) cameraHealth(w http.ResponseWriter, r *http.Request) error {
	c, err := s.visibleCamera(r)
	if err != nil {
		return err
	}
	h, ok := CameraHealth{}, false
	if s.health != nil {
		h, ok = s.health(c.ID)
	}
	if !ok {
		h = CameraHealth{State: StateIdle}
	}
	h.CameraID = c.ID
	h.Recording = ok && c.Recording
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (s *Server) createCamera(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var c argus.Camera
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = argus.NewID("cam")
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	p := principal(r)
	if err := s.gate.Check(ctx, p, argus.ActionManageCamera, cameraResource(&c)); err != nil {
		return err
	}
	if err := s.recordChange(ctx, p, argus.ActionManageCamera, cameraResource(&c), changeCameraCreate, change{"id": c.ID}); err != nil {
		return err
	}
	if err := s.store.CreateCamera(ctx, &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c.Redacted())
	return nil
}

func (s *Server) updateCamera(w http.ResponseWriter, r *http.Request) error {
	var c argus.Camera
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	cur, err := s.visibleCamera(r)
	if err != nil {
		return err
	}
	if err := bodyID(cur.ID, c.ID); err != nil {
		return err
	}
	c.ID = cur.ID
	c.Normalize()
	// The password is never returned, so a client replacing a camera it
	// read keeps the password by keeping the username.
	if c.Password == "" && c.Username == cur.Username {
		c.Password = cur.Password
	}
	return s.saveCamera(w, r, cur, &c)
}

func (s *Server) patchCamera(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.visibleCamera(r)
	if err != nil {
		return err
	}
	c := *cur
	c.Tags = slices.Clone(cur.Tags)
	c.Labels = maps.Clone(cur.Labels)
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	if err := bodyID(cur.ID, c.ID); err != nil {
		return err
	}
	c.Normalize()
	return s.saveCamera(w, r, cur, &c)
}

// saveCamera validates c, the new state of cur, passes the gate for the
// current owner and for a new one, and stores it.
func (s *Server) saveCamera(w http.ResponseWriter, r *http.Request, cur, c *argus.Camera) error {
	ctx, p := r.Context(), principal(r)
	if err := c.Validate(); err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionManageCamera, cameraResource(cur)); err != nil {
		return err
	}
	if c.OrgID != cur.OrgID {
		if err := s.gate.Check(ctx, p, argus.ActionManageCamera, cameraResource(c)); err != nil {
			return err
		}
	}
	c.CreatedAt, c.UpdatedAt = cur.CreatedAt, cur.UpdatedAt
	err := s.recordChange(ctx, p, argus.ActionManageCamera, cameraResource(cur), changeCameraUpdate,
		change{"id": c.ID, "fields": changedFields(cur, c)})
	if err != nil {
		return err
	}
	if err := s.store.UpdateCamera(ctx, c); err != nil {
		return err
	}
	c.CreatedAt = cur.CreatedAt
	writeJSON(w, http.StatusOK, c.Redacted())
	return nil
}

func (s *Server) deleteCamera(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.visibleCamera(r)
	if err != nil {
		return err
	}
	ctx, p := r.Context(), principal(r)
	if err := s.gate.Check(ctx, p, argus.ActionManageCamera, cameraResource(cur)); err != nil {
		return err
	}
	if err := s.recordChange(ctx, p, argus.ActionManageCamera, cameraResource(cur), changeCameraDelete, change{"id": cur.ID}); err != nil {
		return err
	}
	if err := s.store.DeleteCamera(ctx, cur.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
