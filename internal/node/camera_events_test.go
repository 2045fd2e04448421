package node

import (
	"slices"
	"testing"

	"argus/internal/events"
	"argus/internal/ingest"
)

func TestCameraEventOfEachState(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stream   string
		to       ingest.State
		typ      string // "" for no event
		severity events.Severity
	}{
		{"online", "cam-1", ingest.StateOnline, events.TypeCameraOnline, events.SeverityInfo},
		{"offline", "cam-1", ingest.StateOffline, events.TypeCameraOffline, events.SeverityWarning},
		{"stalled", "cam-1", ingest.StateStalled, events.TypeCameraStalled, events.SeverityWarning},
		{"unauthorised", "cam-1", ingest.StateUnauthorised, events.TypeCameraUnauthorised, events.SeverityWarning},
		{"unsupported codec", "cam-1", ingest.StateUnsupportedCodec, events.TypeCameraUnsupported, events.SeverityWarning},
		{"connecting makes none", "cam-1", ingest.StateConnecting, "", ""},
		{"a sub-stream makes none", "cam-1~sub", ingest.StateOffline, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := cameraEvent(ingest.Event{CameraID: tc.stream, From: ingest.StateConnecting, To: tc.to, Err: "boom"})
			if tc.typ == "" {
				if ok {
					t.Fatalf("event %+v, want none", ev)
				}
				return
			}
			if !ok || ev.Type != tc.typ || ev.Severity != tc.severity || ev.CameraID != "cam-1" || ev.Data["err"] != "boom" || ev.Validate() != nil {
				t.Fatalf("event %+v (%v), want %s %s", ev, ok, tc.typ, tc.severity)
			}
		})
	}
}

// TestStateEventsOncePerChange: a camera that keeps failing to connect
// raises one camera.offline, and a new one only after it was online again.
func TestStateEventsOncePerChange(t *testing.T) {
	var s stateEvents
	seq := []ingest.State{
		ingest.StateOffline, ingest.StateConnecting, ingest.StateOffline, ingest.StateConnecting, ingest.StateOffline,
		ingest.StateOnline, ingest.StateOffline, ingest.StateOffline,
	}
	var got []string
	for _, to := range seq {
		if ev, ok := s.event(ingest.Event{CameraID: "cam-1", To: to}); ok {
			got = append(got, ev.Type)
		}
	}
	want := []string{events.TypeCameraOffline, events.TypeCameraOnline, events.TypeCameraOffline}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if _, ok := s.event(ingest.Event{CameraID: "cam-2", To: ingest.StateOffline}); !ok {
		t.Error("another camera's first offline raised nothing")
	}
}
