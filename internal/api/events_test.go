package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/api"
	"argus/internal/events"
	"argus/internal/playback"
	"argus/internal/segment/fsstore"
)

// openEventBus opens an event bus on an embedded NATS server for one test.
func openEventBus(t *testing.T) *events.Bus {
	t.Helper()
	b, err := events.Open(context.Background(), events.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// eventsEnv is an env with an event bus, police's camera cam-own, fire's
// cam-fire, and fire's cam-shared, shared with police.
type eventsEnv struct {
	*env
	bus *events.Bus
}

func newEventsEnv(t *testing.T, opts ...envOption) *eventsEnv {
	t.Helper()
	bus := openEventBus(t)
	e := newEnv(t, append([]envOption{func(c *api.Config) { c.Events = bus }}, opts...)...)
	e.addCamera("cam-own", "police", 40.7, -74)
	e.addCamera("cam-fire", "fire", 40.7, -74)
	e.addCamera("cam-shared", "fire", 40.7, -74, "for-police")
	now := time.Now()
	if err := e.db.CreateShare(t.Context(), &argus.Share{
		ID: "share-1", OwnerOrgID: "fire", GranteeOrgID: "police", Tags: []string{"for-police"}, Actions: []argus.Action{argus.ActionLive},
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour), Purpose: "joint operation", CreatedBy: "admin",
	}); err != nil {
		t.Fatal(err)
	}
	e.gate.InvalidateShares()
	return &eventsEnv{env: e, bus: bus}
}

// publish stores an event of camera (owned by org; both "" for a
// node-wide one).
func (e *eventsEnv) publish(camera, org, typ string) events.Event {
	e.t.Helper()
	ev, err := e.bus.Publish(context.Background(), events.Event{Type: typ, Severity: events.SeverityWarning, CameraID: camera, OrgID: org, Message: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func eventIDs(t *testing.T, r response) []string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var l struct {
		Items []events.Event `json:"items"`
		Next  *string        `json:"next"`
	}
	r.decode(t, &l)
	if l.Next == nil {
		t.Fatalf("no next in %s", r.body)
	}
	out := []string{}
	for _, ev := range l.Items {
		out = append(out, ev.ID)
	}
	return out
}

func TestEventVisibility(t *testing.T) {
	e := newEventsEnv(t)
	e.token["sysauditor"] = e.addUser("sysauditor", argus.RoleAuditor, "system")
	own := e.publish("cam-own", "police", events.TypeCameraOffline)
	other := e.publish("cam-fire", "fire", events.TypeCameraOffline)
	shared := e.publish("cam-shared", "fire", events.TypeCameraOffline)
	node := e.publish("", "", events.TypeStoragePressure)
	for _, tc := range []struct {
		name, user, query string
		want              []string
	}{
		{"admin sees everything", "admin", "", []string{node.ID, shared.ID, other.ID, own.ID}},
		{"police sees its own and the shared camera", "viewer", "", []string{shared.ID, own.ID}},
		{"an auditor of police too", "auditor", "", []string{shared.ID, own.ID}},
		{"fire sees its cameras", "fireviewer", "", []string{shared.ID, other.ID}},
		{"the system organisation sees node events", "sysauditor", "", []string{node.ID}},
		{"a camera filter", "viewer", "?camera=cam-shared", []string{shared.ID}},
		{"a type prefix", "admin", "?type=storage.*", []string{node.ID}},
		{"a severity above all", "admin", "?severity=critical", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := eventIDs(t, e.call("GET", "/api/v1/events"+tc.query, tc.user, nil)); !slices.Equal(got, tc.want) {
				t.Fatalf("events = %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, user, query string
		status            int
		field             string
	}{
		{"another organisation's camera is hidden", "viewer", "?camera=cam-fire", http.StatusNotFound, ""},
		{"an unknown severity", "viewer", "?severity=loud", http.StatusBadRequest, "severity"},
		{"a wildcard camera", "viewer", "?camera=*", http.StatusBadRequest, "camera"},
		{"a limit too large", "viewer", "?limit=501", http.StatusBadRequest, "limit"},
		{"a malformed before", "viewer", "?before=abc", http.StatusBadRequest, "before"},
		{"an unknown parameter", "viewer", "?org=fire", http.StatusBadRequest, "org"},
		{"no one", "", "", http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", "/api/v1/events"+tc.query, tc.user, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if _, _, field, _ := r.apiError(t); field != tc.field {
				t.Fatalf("field %q, want %q", field, tc.field)
			}
		})
	}
}

func TestEventPages(t *testing.T) {
	e := newEventsEnv(t)
	var want []string
	for range 5 {
		want = append([]string{e.publish("cam-own", "police", events.TypeCameraOnline).ID}, want...)
		e.publish("cam-fire", "fire", events.TypeCameraOnline)
	}
	var got []string
	q := "?limit=2"
	for range 10 {
		r := e.call("GET", "/api/v1/events"+q, "viewer", nil)
		var l struct {
			Items []events.Event `json:"items"`
			Next  string         `json:"next"`
		}
		r.decode(t, &l)
		for _, ev := range l.Items {
			got = append(got, ev.ID)
		}
		if l.Next == "" {
			break
		}
		q = "?limit=2&before=" + l.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %v, want %v", got, want)
	}
}

// sseReader reads a Server-Sent Events stream.
type sseReader struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

// openStream connects to the event stream as token with extra headers.
func openStream(t *testing.T, e *env, token, query string, header http.Header) *sseReader {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sseReader{t: t, resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// sseMessage is one message of the stream; comment holds a comment line.
type sseMessage struct {
	id, event, comment string
	data               events.Event
}

// next reads the next message (or comment); ok is false at the end of the
// stream.
func (s *sseReader) next() (m sseMessage, ok bool) {
	s.t.Helper()
	got := false
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && got:
			return m, true
		case line == "":
		case strings.HasPrefix(line, ":"):
			m.comment, got = strings.TrimSpace(line[1:]), true
		case strings.HasPrefix(line, "id: "):
			m.id, got = line[4:], true
		case strings.HasPrefix(line, "event: "):
			m.event, got = line[7:], true
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &m.data); err != nil {
				s.t.Fatalf("data %q: %v", line, err)
			}
			got = true
		default:
			s.t.Fatalf("unexpected line %q", line)
		}
	}
	return m, false
}

// nextEvent reads up to the next event, skipping pings.
func (s *sseReader) nextEvent() sseMessage {
	s.t.Helper()
	for {
		m, ok := s.next()
		if !ok {
			s.t.Fatal("the stream ended")
		}
		if m.comment == "" {
			return m
		}
	}
}

func TestEventStream(t *testing.T) {
	e := newEventsEnv(t)
	before := e.publish("cam-own", "police", events.TypeCameraOffline)

	live := openStream(t, e.env, e.token["viewer"], "", nil)
	e.publish("cam-fire", "fire", events.TypeCameraOffline) // not the viewer's
	ev := e.publish("cam-own", "police", events.TypeCameraOnline)
	m := live.nextEvent()
	if m.id != ev.ID || m.event != "event" || m.data.ID != ev.ID || m.data.CameraID != "cam-own" || m.data.Type != events.TypeCameraOnline {
		t.Fatalf("received %+v, want event %s", m, ev.ID)
	}

	// A reconnection with Last-Event-ID replays what followed it.
	replay := openStream(t, e.env, e.token["viewer"], "", http.Header{"Last-Event-ID": {before.ID}})
	if m := replay.nextEvent(); m.id != ev.ID {
		t.Fatalf("replayed %s first, want %s (the fire camera's event skipped)", m.id, ev.ID)
	}
	// So does the query parameter, with a filter.
	q := openStream(t, e.env, e.token["viewer"], "?type=camera.online&last_event_id=1", nil)
	if m := q.nextEvent(); m.id != ev.ID {
		t.Fatalf("replayed %s first, want %s", m.id, ev.ID)
	}
}

func TestEventStreamPingsAndEndsWithTheSession(t *testing.T) {
	e := newEventsEnv(t, func(c *api.Config) { c.EventPing = 20 * time.Millisecond })
	tok := e.addUser("streamer", argus.RoleViewer, "police")
	s := openStream(t, e.env, tok, "", nil)
	if m, ok := s.next(); !ok || m.comment != "ping" {
		t.Fatalf("first message %+v (%v), want a ping", m, ok)
	}
	if r := e.call("POST", "/api/v1/logout", "Bearer "+tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	for {
		m, ok := s.next()
		if !ok {
			break // the stream ended
		}
		if m.comment != "ping" {
			t.Fatalf("unexpected message %+v", m)
		}
	}
	if lines := e.logs.lines("event stream ended", "session ended"); len(lines) != 1 {
		t.Fatalf("stream end not logged as the session's end: %v", lines)
	}
}

func TestEventAck(t *testing.T) {
	e := newEventsEnv(t)
	ev := e.publish("cam-own", "police", events.TypeCameraOffline)
	r := e.call("POST", "/api/v1/events/"+ev.ID+"/ack", "operator", `{"note":"crew sent"}`)
	if r.status != http.StatusOK {
		t.Fatalf("ack: %d %s", r.status, r.body)
	}
	var got events.Event
	r.decode(t, &got)
	if got.ID != ev.ID || got.AcknowledgedBy != "operator" || got.AcknowledgedAt.IsZero() {
		t.Fatalf("acknowledged = %+v", got)
	}
	if r := e.call("POST", "/api/v1/events/"+ev.ID+"/ack", "viewer", `{}`); r.status != http.StatusConflict {
		t.Fatalf("second ack: %d %s, want 409", r.status, r.body)
	}
	if lines := e.logs.lines("administrative change", `"change":"event.ack"`, ev.ID); len(lines) != 1 {
		t.Fatalf("the acknowledgement's change record: %v", lines)
	}
	// The listing shows it acknowledged, and the acknowledgement itself.
	r = e.call("GET", "/api/v1/events?camera=cam-own", "viewer", nil)
	var l struct{ Items []events.Event }
	r.decode(t, &l)
	if len(l.Items) != 2 || l.Items[0].Type != events.TypeAcknowledged || l.Items[0].Data["note"] != "crew sent" ||
		l.Items[1].AcknowledgedBy != "operator" {
		t.Fatalf("listing after the ack: %s", r.body)
	}

	fire := e.publish("cam-fire", "fire", events.TypeCameraOffline)
	node := e.publish("", "", events.TypeStoragePressure)
	for _, tc := range []struct {
		name, user, id string
		status         int
	}{
		{"another organisation's camera", "viewer", fire.ID, http.StatusNotFound},
		{"a node event for police", "orgadmin", node.ID, http.StatusNotFound},
		{"a node event for the admin", "admin", node.ID, http.StatusOK},
		{"an unknown event", "admin", "99999", http.StatusNotFound},
		{"not an id", "admin", "x", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.call("POST", "/api/v1/events/"+tc.id+"/ack", tc.user, `{"note":""}`); r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	if got, err := e.bus.Get(t.Context(), fire.ID); err != nil || got.AcknowledgedBy != "" {
		t.Fatalf("a refused ack acknowledged the event: %+v %v", got, err)
	}
}

// TestEmergencyIsAnEvent: opening emergency access publishes
// emergency.opened on the camera, with its owner's organisation, which the
// owner's users see.
func TestEmergencyIsAnEvent(t *testing.T) {
	e := newEventsEnv(t)
	r := e.call("POST", "/api/v1/cameras/cam-fire/emergency", "operator", `{"reason":"a fire at the market","minutes":10}`)
	if r.status != http.StatusCreated {
		t.Fatalf("emergency: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/v1/events?type=emergency.opened", "fireviewer", nil)
	var l struct{ Items []events.Event }
	r.decode(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("the owner sees %s", r.body)
	}
	ev := l.Items[0]
	if ev.CameraID != "cam-fire" || ev.OrgID != "fire" || ev.Severity != events.SeverityWarning ||
		ev.Data["user"] != "operator" || ev.Data["reason"] != "a fire at the market" || ev.Data["until"] == nil {
		t.Fatalf("emergency event %+v", ev)
	}
}

func TestTimelineEvents(t *testing.T) {
	segs, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := openEventBus(t)
	pb, err := playback.New(playback.Config{Store: segs, Events: func(ctx context.Context, camera string, from, to time.Time) ([]events.Event, error) {
		return bus.Range(ctx, events.Filter{CameraID: camera, From: from, To: to})
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *api.Config) { c.Playback, c.Events = pb, bus })
	e.addCamera("cam-own", "police", 40.7, -74)
	var want []string
	for _, cam := range []string{"cam-own", "cam-other", "cam-own"} {
		ev, err := bus.Publish(t.Context(), events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: cam, OrgID: "police"})
		if err != nil {
			t.Fatal(err)
		}
		if cam == "cam-own" {
			want = append(want, ev.ID)
		}
	}
	now := time.Now()
	r := e.call("GET", "/api/v1/cameras/cam-own/timeline?"+rangeQuery(now.Add(-time.Hour), now.Add(time.Hour)), "investigator", nil)
	if r.status != http.StatusOK {
		t.Fatalf("timeline: %d %s", r.status, r.body)
	}
	var tl playback.Timeline
	r.decode(t, &tl)
	var got []string
	for _, ev := range tl.Events {
		if ev.CameraID != "cam-own" || ev.Type != events.TypeCameraOffline {
			t.Errorf("timeline event %+v", ev)
		}
		got = append(got, ev.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("timeline events = %v, want %v (oldest first)", got, want)
	}
	// A range before the events holds none.
	r = e.call("GET", "/api/v1/cameras/cam-own/timeline?"+rangeQuery(now.Add(-3*time.Hour), now.Add(-2*time.Hour)), "investigator", nil)
	r.decode(t, &tl)
	if len(tl.Events) != 0 {
		t.Fatalf("events outside the range: %+v", tl.Events)
	}
}
