package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/events"
)

// DefaultEventPing is how often an event stream sends ": ping" and checks
// the caller's session.
const DefaultEventPing = 15 * time.Second

// EventBus stores and reads events; *events.Bus implements it.
type EventBus interface {
	// Publish stores an event and returns it with its id.
	Publish(ctx context.Context, e events.Event) (events.Event, error)
	// Get returns one event; ENOTFOUND if there is none.
	Get(ctx context.Context, id string) (events.Event, error)
	// List returns one page of the events f selects, newest first.
	List(ctx context.Context, f events.Filter) (events.Page, error)
	// Subscribe returns the events f selects after afterID ("" for
	// those from now on), then live, until ctx ends.
	Subscribe(ctx context.Context, f events.Filter, afterID string) (<-chan events.Event, error)
	// Ack acknowledges an event for user with a note; ECONFLICT when it
	// is acknowledged already.
	Ack(ctx context.Context, id, user, note string) (events.Event, error)
}

// changeEventAck is the change record of an acknowledgement.
const changeEventAck = "event.ack"

// maxAckNoteLen bounds an acknowledgement's note.
const maxAckNoteLen = 1000

// eventList is one page of events, newest first; Next is the before of the
// following page, empty on the last.
type eventList struct {
	Items []events.Event `json:"items"`
	Next  string         `json:"next"`
}

// ackRequest is the body that acknowledges an event.
type ackRequest struct {
	// Note says what was done about it; at most 1000 characters.
	Note string `json:"note"`
}

// eventFilterParams are the query parameters shared by the listing and
// the stream.
func eventFilterParams() []param {
	return []param{
		{name: "camera", typ: "string", desc: "keep the events of this camera"},
		{name: "type", typ: "string", desc: "keep the events of this type; a type ending in * keeps the types it starts (camera.*)"},
		{name: "severity", typ: "string", desc: "keep the events at least this severe: info, warning or critical"},
	}
}

// eventListParams are the query parameters of the listing.
func eventListParams() []param {
	return append(eventFilterParams(),
		param{name: "from", typ: "string", desc: "keep the events at or after this RFC 3339 time"},
		param{name: "to", typ: "string", desc: "keep the events before this RFC 3339 time"},
		param{name: "limit", typ: "integer", desc: "page size, 1..500 (default 50)"},
		param{name: "before", typ: "string", desc: "the next value of the previous page: events older than this id"})
}

// parseEventFilter reads the camera, type and severity parameters.
func parseEventFilter(q url.Values) (events.Filter, error) {
	f := events.Filter{CameraID: q.Get("camera"), Type: q.Get("type"), Severity: events.Severity(q.Get("severity"))}
	if q.Has("camera") && f.CameraID == "" {
		return f, argus.FieldErrorf("camera", "camera must not be empty")
	}
	return f, f.Validate()
}

// eventVisibility is which events a caller may see: those of the cameras
// it may see in the directory (the organisations it sees and the cameras
// that shares from others let it see, as the camera listing has it), and
// node-wide events for administrators and the system organisation's users.
type eventVisibility struct {
	store  argus.CameraStore
	all    bool
	node   bool
	orgs   []string           // sorted
	shares []argus.ShareScope // from organisations outside orgs
	// cams caches the cameras shares are checked against; one
	// visibility serves one goroutine at a time.
	cams map[string]*argus.Camera
}

// maxVisibilityCache bounds eventVisibility.cams.
const maxVisibilityCache = 1024

// keep reports whether the caller may see e.
func (v *eventVisibility) keep(ctx context.Context, e *events.Event) bool {
	switch {
	case v.all:
		return true
	case e.CameraID == "":
		return v.node
	}
	if _, found := slices.BinarySearch(v.orgs, e.OrgID); found && e.OrgID != "" {
		return true
	}
	var c *argus.Camera
	looked := false
	for i := range v.shares {
		sc := &v.shares[i]
		if sc.OwnerOrgID != e.OrgID {
			continue
		}
		if !looked {
			c, looked = v.camera(ctx, e.CameraID), true
		}
		if c != nil && sc.Covers(c) {
			return true
		}
	}
	return false
}

// camera returns a camera from the cache or the store; nil when it is
// gone.
func (v *eventVisibility) camera(ctx context.Context, id string) *argus.Camera {
	if c, ok := v.cams[id]; ok {
		return c
	}
	c, err := v.store.Camera(ctx, id)
	if err != nil {
		c = nil
	}
	if len(v.cams) >= maxVisibilityCache {
		clear(v.cams)
	}
	v.cams[id] = c
	return c
}

// eventVisibility returns what p may see now; it asks the gate nothing
// that is recorded.
func (s *Server) eventVisibility(ctx context.Context, p argus.Principal) (*eventVisibility, error) {
	orgs, all, err := s.gate.VisibleOrgs(ctx, p)
	if err != nil {
		return nil, err
	}
	v := &eventVisibility{store: s.store, all: all, node: all || p.OrgID == access.SystemOrgID, orgs: orgs, cams: map[string]*argus.Camera{}}
	if all {
		return v, nil
	}
	scopes, err := s.gate.VisibleShares(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, sc := range scopes {
		if _, own := slices.BinarySearch(orgs, sc.OwnerOrgID); !own {
			v.shares = append(v.shares, sc)
		}
	}
	return v, nil
}

// eventScope passes the gate for reading events (one recorded decision:
// directory.view of the camera asked for, or of the caller's organisation's
// cameras) and returns what the caller may see. A camera the caller may
// not see is not found.
func (s *Server) eventScope(r *http.Request, camera string) (*eventVisibility, error) {
	ctx, p := r.Context(), principal(r)
	if camera != "" {
		c, err := s.store.Camera(ctx, camera)
		if err != nil {
			return nil, hidden(err, "camera", camera)
		}
		if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, cameraResource(c)); err != nil {
			return nil, hidden(err, "camera", camera)
		}
	} else if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, argus.Resource{Kind: "camera", OrgID: p.OrgID}); err != nil {
		return nil, err
	}
	return s.eventVisibility(ctx, p)
}

// eventRequest checks that the bus is on and parses the filter the event
// routes share.
func (s *Server) eventRequest(r *http.Request) (events.Filter, url.Values, error) {
	if s.events == nil {
		return events.Filter{}, nil, argus.Errorf(argus.EUNAVAILABLE, "the event bus is not enabled on this node")
	}
	q := r.URL.Query()
	f, err := parseEventFilter(q)
	return f, q, err
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	f, q, err := s.eventRequest(r)
	if err != nil {
		return err
	}
	if f.From, err = parseTime("from", rfc3339(q.Get("from"))); err != nil {
		return err
	}
	if f.To, err = parseTime("to", rfc3339(q.Get("to"))); err != nil {
		return err
	}
	if q.Has("limit") {
		if f.Limit, err = strconv.Atoi(q.Get("limit")); err != nil || f.Limit < 1 || f.Limit > events.MaxLimit {
			return argus.FieldErrorf("limit", "limit must be an integer in 1..%d, not %q", events.MaxLimit, clipText(q.Get("limit")))
		}
	}
	f.Before = q.Get("before")
	if err := f.Validate(); err != nil {
		return err
	}
	vis, err := s.eventScope(r, f.CameraID)
	if err != nil {
		return err
	}
	ctx := r.Context()
	f.Keep = func(e *events.Event) bool { return vis.keep(ctx, e) }
	page, err := s.events.List(ctx, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, eventList{Items: page.Items, Next: page.Next})
	return nil
}

// streamEvents sends the events the caller may see as Server-Sent Events,
// from the one after Last-Event-ID (the header, else the last_event_id
// parameter) when given, else from now on. The start is recorded (the
// gate's decision); the events sent are not. Every EventPing it sends
// ": ping", checks that the caller's session is still valid (ending the
// stream when it is not) and refreshes what the caller may see (a share
// that ended stops its cameras' events).
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	f, q, err := s.eventRequest(r)
	if err != nil {
		return err
	}
	last := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if last == "" {
		last = q.Get("last_event_id")
	}
	if last != "" {
		if n, err := strconv.ParseUint(last, 10, 64); err != nil || n == 0 {
			return argus.FieldErrorf("last_event_id", "last event id %q is not an event id", clipText(last))
		}
	}
	v, err := s.eventScope(r, f.CameraID)
	if err != nil {
		return err
	}
	ctx, p := r.Context(), principal(r)
	var vis atomic.Pointer[eventVisibility]
	vis.Store(v)
	f.Keep = func(e *events.Event) bool { return vis.Load().keep(ctx, e) }
	ch, err := s.events.Subscribe(ctx, f, last)
	if err != nil {
		return err
	}
	secret := bearerSecret(r)
	log := info(ctx).log
	log.Info("event stream started", "user", p.Username, "camera", f.CameraID, "type", f.Type, "severity", f.Severity, "last_event_id", last)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return nil
	}
	ping := time.NewTicker(s.eventPing)
	defer ping.Stop()
	end := func(why string) error {
		log.Info("event stream ended", "user", p.Username, "reason", why)
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return end("client gone")
		case <-s.streams.Done():
			return end("server shutting down")
		case e, ok := <-ch:
			if !ok {
				return end("event bus closed")
			}
			data, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: event\ndata: %s\n\n", e.ID, data); err != nil {
				return end("client gone")
			}
			if err := rc.Flush(); err != nil {
				return end("client gone")
			}
		case <-ping.C:
			if _, err := s.auth.Authenticate(ctx, secret); argus.ErrorCode(err) == argus.EUNAUTHORIZED {
				return end("session ended")
			}
			if nv, err := s.eventVisibility(ctx, p); err == nil {
				vis.Store(nv)
			}
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return end("client gone")
			}
			if err := rc.Flush(); err != nil {
				return end("client gone")
			}
		}
	}
}

// bearerSecret is the token the request authenticated with: the bearer
// token, else the session cookie.
func bearerSecret(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		_, tok, _ := strings.Cut(h, " ")
		return strings.TrimSpace(tok)
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// CloseStreams ends every event stream; the node calls it when the HTTP
// server begins to shut down, since a stream never goes idle.
func (s *Server) CloseStreams() { s.closeStreams() }

// eventResource is what the gate decides an acknowledgement of e on: its
// camera, or for a node-wide event the system organisation's events.
func (s *Server) eventResource(ctx context.Context, e *events.Event) argus.Resource {
	if e.CameraID == "" {
		return argus.Resource{Kind: "event", ID: e.ID, OrgID: access.SystemOrgID}
	}
	if c, err := s.store.Camera(ctx, e.CameraID); err == nil {
		return cameraResource(c)
	}
	return argus.Resource{Kind: "camera", ID: e.CameraID, OrgID: e.OrgID}
}

// ackEvent acknowledges an event the caller may see: the gate decides
// directory.view of its camera (for a node-wide event, of the system
// organisation), the change is recorded, and an alert.acknowledged event
// is published.
func (s *Server) ackEvent(w http.ResponseWriter, r *http.Request) error {
	if s.events == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "the event bus is not enabled on this node")
	}
	var req ackRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Note = strings.TrimSpace(req.Note); len(req.Note) > maxAckNoteLen {
		return argus.FieldErrorf("note", "note is longer than %d characters", maxAckNoteLen)
	}
	ctx, p, id := r.Context(), principal(r), r.PathValue("id")
	e, err := s.events.Get(ctx, id)
	if err != nil {
		return hidden(err, "event", id)
	}
	vis, err := s.eventVisibility(ctx, p)
	if err != nil {
		return err
	}
	res := s.eventResource(ctx, &e)
	if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, res); err != nil || !vis.keep(ctx, &e) {
		return hidden(cmpErr(err, argus.Errorf(argus.ENOTFOUND, "event %s not found", id)), "event", id)
	}
	if e.AcknowledgedBy != "" {
		return argus.Errorf(argus.ECONFLICT, "event %s was acknowledged by %s at %s", id, e.AcknowledgedBy, e.AcknowledgedAt.Format(time.RFC3339))
	}
	if err := s.recordChange(ctx, p, argus.ActionViewDirectory, res, changeEventAck, change{"event_id": e.ID, "type": e.Type}); err != nil {
		return err
	}
	acked, err := s.events.Ack(ctx, id, p.Username, req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, acked)
	return nil
}

// cmpErr returns err, or alt when err is nil.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}
