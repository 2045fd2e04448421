package node

import (
	"context"
	"fmt"
	"sync"

	"argus"
	"argus/internal/events"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/retention"
)

// cameraOrg names a camera's organisation from the directory, for the
// events the media core raises (which know only the camera).
func cameraOrg(store argus.CameraStore) func(ctx context.Context, camera string) (string, error) {
	return func(ctx context.Context, camera string) (string, error) {
		c, err := store.Camera(ctx, camera)
		if err != nil {
			return "", err
		}
		return c.OrgID, nil
	}
}

// cameraStates maps the ingest states that make events to their type,
// severity and message; connecting makes none.
var cameraStates = map[ingest.State]struct {
	typ      string
	severity events.Severity
	message  string
}{
	ingest.StateOnline:           {events.TypeCameraOnline, events.SeverityInfo, "Camera is online"},
	ingest.StateOffline:          {events.TypeCameraOffline, events.SeverityWarning, "Camera went offline"},
	ingest.StateStalled:          {events.TypeCameraStalled, events.SeverityWarning, "Camera stalled: it sends nothing"},
	ingest.StateUnauthorised:     {events.TypeCameraUnauthorised, events.SeverityWarning, "Camera refused argus's credentials"},
	ingest.StateUnsupportedCodec: {events.TypeCameraUnsupported, events.SeverityWarning, "Camera offers no codec argus carries"},
}

// cameraEvent turns a state change of a camera's main stream into its
// event; sub-streams and transcodes raise none (the camera's own stream
// speaks for it), nor does connecting.
func cameraEvent(e ingest.Event) (events.Event, bool) {
	cam, suffix := live.SplitStream(e.CameraID)
	st, ok := cameraStates[e.To]
	if suffix != "" || !ok {
		return events.Event{}, false
	}
	msg := st.message
	if e.Err != "" {
		msg += ": " + e.Err
	}
	return events.Event{
		Time: e.At, Type: st.typ, Severity: st.severity, CameraID: cam, Message: msg,
		Data: map[string]any{"from": string(e.From), "to": string(e.To), "err": e.Err},
	}, true
}

// stateEvents turns camera state changes into events once per change: a
// camera that fails to connect again and again (offline, connecting,
// offline, …) raises one camera.offline, not one per attempt. It is safe
// for concurrent use.
type stateEvents struct {
	mu   sync.Mutex
	last map[string]ingest.State // the state of each camera's last event
}

// event returns e's event unless the camera's last event was for the same
// state.
func (s *stateEvents) event(e ingest.Event) (events.Event, bool) {
	ev, ok := cameraEvent(e)
	if !ok {
		return ev, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = make(map[string]ingest.State)
	}
	if s.last[ev.CameraID] == e.To {
		return events.Event{}, false
	}
	s.last[ev.CameraID] = e.To
	return ev, true
}

// storageEvent is the node-wide event of the recordings' disk below its
// free-space floor.
func storageEvent(e retention.Event) events.Event {
	return events.Event{
		Time: e.Time, Type: events.TypeStoragePressure, Severity: events.SeverityWarning,
		Message: fmt.Sprintf("Recordings' disk below its free-space floor: %d segments (%d bytes) deleted to make room", e.Segments, e.Bytes),
		Data: map[string]any{
			"free": e.Free, "total": e.Total, "floor": e.Floor, "free_after": e.FreeAfter, "segments": e.Segments, "bytes": e.Bytes,
		},
	}
}
