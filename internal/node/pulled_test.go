package node

import (
	"slices"
	"testing"

	"argus"
	"argus/internal/ingest"
)

func TestPulledCamerasListsTroubleAndForgetsTheUnpulled(t *testing.T) {
	p := &pulledCameras{cams: map[string]*argus.Camera{}}
	for _, id := range []string{"on", "connecting", "off", "stalled", "locked", "gone"} {
		p.remember(&argus.Camera{ID: id, Username: "admin", Password: "pw"})
	}
	states := map[string]ingest.State{
		"on": ingest.StateOnline, "connecting": ingest.StateConnecting, "off": ingest.StateOffline,
		"stalled": ingest.StateStalled, "locked": ingest.StateUnauthorised,
	}
	health := func(id string) (ingest.Health, bool) {
		st, ok := states[id]
		return ingest.Health{State: st}, ok
	}
	var got []string
	for _, tc := range p.troubled(health) {
		if tc.Camera.Username != "" || tc.Camera.Password != "" {
			t.Fatalf("camera %s kept its credentials", tc.Camera.ID)
		}
		got = append(got, tc.Camera.ID+":"+tc.State)
	}
	slices.Sort(got)
	if want := []string{"locked:unauthorised", "off:offline", "stalled:stalled"}; !slices.Equal(got, want) {
		t.Fatalf("troubled = %v, want %v", got, want)
	}
	if _, ok := p.cams["gone"]; ok || len(p.cams) != 5 {
		t.Fatalf("remembered %d cameras (gone kept: %v), want the 5 still pulled", len(p.cams), ok)
	}
}
