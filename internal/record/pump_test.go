package record

import (
	"testing"
	"time"
)

// TestUntilPump: recorders wake pumpPhase after each multiple of pumpBatch
// on the clock (just after ingest's batched reads), never sooner than a
// tenth of a batch from now.
func TestUntilPump(t *testing.T) {
	base := time.Unix(1_800_000_000, 0) // a multiple of pumpBatch
	for _, tc := range []struct {
		after time.Duration // now, after base
		want  time.Duration
	}{
		{0, pumpPhase},
		{pumpPhase - time.Millisecond, pumpBatch + time.Millisecond},
		{pumpPhase, pumpBatch},
		{pumpPhase + time.Millisecond, pumpBatch - time.Millisecond},
		{pumpBatch + pumpPhase - 20*time.Millisecond, pumpBatch + 20*time.Millisecond},
		{pumpBatch, pumpPhase},
	} {
		got := untilPump(base.Add(tc.after))
		if got != tc.want {
			t.Errorf("untilPump(base+%v) = %v, want %v", tc.after, got, tc.want)
		}
		if wake := base.Add(tc.after + got); (wake.UnixNano()-int64(pumpPhase))%int64(pumpBatch) != 0 {
			t.Errorf("untilPump(base+%v) wakes at %v, off the pump instants", tc.after, wake)
		}
	}
}
