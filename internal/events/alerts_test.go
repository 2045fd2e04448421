package events_test

import (
	"slices"
	"testing"
	"time"

	"argus/internal/events"
)

// pollUntil waits up to 5 s for cond.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAlertingIndex: a warning about a camera that is not a state change
// makes the camera alerting until acknowledged; state changes, info events
// and node events do not; the index is rebuilt from the stream on reopen.
func TestAlertingIndex(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, events.Config{Dir: dir})
	fire := publish(t, b, events.Event{Type: "fire.detected", Severity: events.SeverityCritical, CameraID: "cam-1", OrgID: "fire"})
	publish(t, b, events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam-2", OrgID: "police"})
	publish(t, b, events.Event{Type: "crowd.density", Severity: events.SeverityInfo, CameraID: "cam-3", OrgID: "police"})
	publish(t, b, events.Event{Type: events.TypeStoragePressure, Severity: events.SeverityWarning})
	publish(t, b, events.Event{Type: "smoke.detected", Severity: events.SeverityWarning, CameraID: "cam-4", OrgID: "fire"})
	pollUntil(t, "cam-1 and cam-4 alerting", func() bool { return b.Alerting("cam-1") && b.Alerting("cam-4") })
	if got := b.AlertingCameras(); !slices.Equal(got, []string{"cam-1", "cam-4"}) {
		t.Errorf("alerting cameras %q, want cam-1 and cam-4", got)
	}
	if _, err := b.Ack(t.Context(), fire.ID, "alice", "out"); err != nil {
		t.Fatal(err)
	}
	if b.Alerting("cam-1") {
		t.Error("cam-1 still alerting after its alert was acknowledged")
	}
	b.Close()

	b2 := openBus(t, events.Config{Dir: dir})
	pollUntil(t, "cam-4 alerting after reopening", func() bool { return b2.Alerting("cam-4") })
	if got := b2.AlertingCameras(); !slices.Equal(got, []string{"cam-4"}) {
		t.Errorf("after reopening: alerting cameras %q, want cam-4 alone", got)
	}
}

// TestIsAlert: what counts as an alert.
func TestIsAlert(t *testing.T) {
	for _, tc := range []struct {
		e    events.Event
		want bool
	}{
		{events.Event{Type: "fire.detected", Severity: events.SeverityCritical, CameraID: "c"}, true},
		{events.Event{Type: "camera.tamper", Severity: events.SeverityWarning, CameraID: "c"}, true},
		{events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "c"}, false},
		{events.Event{Type: "crowd.density", Severity: events.SeverityInfo, CameraID: "c"}, false},
		{events.Event{Type: events.TypeStoragePressure, Severity: events.SeverityWarning}, false},
		{events.Event{Type: events.TypeEmergencyOpened, Severity: events.SeverityWarning, CameraID: "c"}, true},
	} {
		if got := events.IsAlert(tc.e); got != tc.want {
			t.Errorf("IsAlert(%s, %s) = %v, want %v", tc.e.Type, tc.e.Severity, got, tc.want)
		}
	}
}
