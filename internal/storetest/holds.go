package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"argus"
)

// holdT0 is the start of the suite's hold ranges.
var holdT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func hold(id, camera string, from, to time.Duration) *argus.Hold {
	return &argus.Hold{ID: id, CameraID: camera, From: holdT0.Add(from), To: holdT0.Add(to),
		Reason: "case 2026-" + id, CreatedBy: "u-investigator"}
}

func holdIDs(holds []*argus.Hold) []string {
	out := []string{}
	for _, h := range holds {
		out = append(out, h.ID)
	}
	return out
}

// sameHold reports how a and b differ ("" if they do not), comparing times
// by instant.
func sameHold(a, b *argus.Hold) string {
	norm := func(h *argus.Hold) string {
		cp := *h
		cp.From, cp.To, cp.CreatedAt, cp.ReleasedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		return fmt.Sprintf("%+v", cp)
	}
	if norm(a) != norm(b) {
		return fmt.Sprintf("\n got %+v\nwant %+v", *a, *b)
	}
	if !a.From.Equal(b.From) || !a.To.Equal(b.To) || !a.CreatedAt.Equal(b.CreatedAt) || !a.ReleasedAt.Equal(b.ReleasedAt) {
		return fmt.Sprintf("times %v..%v created %v released %v, want %v..%v created %v released %v",
			a.From, a.To, a.CreatedAt, a.ReleasedAt, b.From, b.To, b.CreatedAt, b.ReleasedAt)
	}
	return ""
}

func testHolds(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateOrg(ctx, org("b", "")))
	must(t, s.CreateCamera(ctx, camera("cam-1", "a", 10, 10)))
	must(t, s.CreateCamera(ctx, camera("cam-2", "b", 10, 10)))

	// Created c, b, a: newest first is also id order, so ties in
	// CreatedAt cannot change the expected order.
	before := time.Now().Add(-time.Second)
	hc := hold("hold-c", "cam-1", 0, time.Hour)
	hc.From = hc.From.Add(1500 * time.Nanosecond)
	hc.To = hc.To.Add(-1500 * time.Nanosecond)
	hc.Reason = "  robbery at 5th & Main  "
	must(t, s.CreateHold(ctx, hc))
	// The range grows to whole microseconds, never shrinks.
	if !hc.From.Equal(holdT0.Add(time.Microsecond)) || !hc.To.Equal(holdT0.Add(time.Hour-time.Microsecond)) {
		t.Fatalf("CreateHold stored %v..%v, want the range rounded outwards to the microsecond", hc.From, hc.To)
	}
	if hc.OrgID != "a" || hc.Reason != "robbery at 5th & Main" || hc.CreatedAt.Before(before) ||
		hc.CreatedAt.After(time.Now().Add(time.Second)) || !hc.Active() {
		t.Fatalf("CreateHold set %+v; want org a, the reason trimmed, CreatedAt about now, active", *hc)
	}
	got, err := s.Hold(ctx, "hold-c")
	must(t, err)
	if d := sameHold(got, hc); d != "" {
		t.Fatalf("Hold differs: %s", d)
	}
	hb := hold("hold-b", "cam-1", 2*time.Hour, 3*time.Hour)
	must(t, s.CreateHold(ctx, hb))
	ha := hold("hold-a", "cam-2", 0, 10*time.Hour)
	must(t, s.CreateHold(ctx, ha))

	list := func(t *testing.T, f argus.HoldFilter) []string {
		t.Helper()
		holds, err := s.Holds(ctx, f)
		must(t, err)
		return holdIDs(holds)
	}
	for _, tc := range []struct {
		name string
		f    argus.HoldFilter
		want []string
	}{
		{"all, newest first", argus.HoldFilter{}, []string{"hold-a", "hold-b", "hold-c"}},
		{"camera", argus.HoldFilter{CameraID: "cam-1"}, []string{"hold-b", "hold-c"}},
		{"unknown camera", argus.HoldFilter{CameraID: "cam-9"}, []string{}},
		{"organisation", argus.HoldFilter{OrgIDs: []string{"b"}}, []string{"hold-a"}},
		{"organisations", argus.HoldFilter{OrgIDs: []string{"b", "a"}}, []string{"hold-a", "hold-b", "hold-c"}},
		{"between two holds, ends exclusive", argus.HoldFilter{From: holdT0.Add(time.Hour), To: holdT0.Add(2 * time.Hour)}, []string{"hold-a"}},
		{"overlapping all", argus.HoldFilter{From: holdT0.Add(30 * time.Minute), To: holdT0.Add(150 * time.Minute)}, []string{"hold-a", "hold-b", "hold-c"}},
		{"open end", argus.HoldFilter{From: holdT0.Add(150 * time.Minute)}, []string{"hold-a", "hold-b"}},
		{"open start", argus.HoldFilter{To: holdT0.Add(2 * time.Microsecond)}, []string{"hold-a", "hold-c"}},
		{"open start before the first microsecond", argus.HoldFilter{To: holdT0.Add(time.Microsecond)}, []string{"hold-a"}},
		{"camera and range", argus.HoldFilter{CameraID: "cam-1", From: holdT0.Add(150 * time.Minute)}, []string{"hold-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(t, tc.f); !slices.Equal(got, tc.want) {
				t.Fatalf("Holds(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}

	// Releasing keeps the row, with who, when and why.
	released, err := s.ReleaseHold(ctx, "hold-c", "u-orgadmin", "  case closed ")
	must(t, err)
	if released.Active() || released.ReleasedBy != "u-orgadmin" || released.ReleaseReason != "case closed" ||
		released.ReleasedAt.Before(hc.CreatedAt) {
		t.Fatalf("ReleaseHold = %+v", *released)
	}
	want := *hc
	want.ReleasedAt, want.ReleasedBy, want.ReleaseReason = released.ReleasedAt, "u-orgadmin", "case closed"
	if d := sameHold(released, &want); d != "" {
		t.Fatalf("ReleaseHold returned a different hold: %s", d)
	}
	got, err = s.Hold(ctx, "hold-c")
	must(t, err)
	if d := sameHold(got, &want); d != "" {
		t.Fatalf("released Hold differs: %s", d)
	}
	if got := list(t, argus.HoldFilter{ActiveOnly: true}); !slices.Equal(got, []string{"hold-a", "hold-b"}) {
		t.Fatalf("active holds = %v, want hold-a and hold-b", got)
	}
	if got := list(t, argus.HoldFilter{}); !slices.Equal(got, []string{"hold-a", "hold-b", "hold-c"}) {
		t.Fatalf("holds after a release = %v, want all three kept", got)
	}

	// A hold outlives its camera: the recordings it protects do.
	must(t, s.DeleteCamera(ctx, "cam-2"))
	if got := list(t, argus.HoldFilter{CameraID: "cam-2", ActiveOnly: true}); !slices.Equal(got, []string{"hold-a"}) {
		t.Fatalf("holds of a deleted camera = %v, want hold-a still active", got)
	}
}

func testHoldErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateCamera(ctx, camera("cam-1", "a", 10, 10)))
	must(t, s.CreateHold(ctx, hold("hold-1", "cam-1", 0, time.Hour)))
	must(t, s.CreateHold(ctx, hold("hold-2", "cam-1", 0, time.Hour)))
	_, err := s.ReleaseHold(ctx, "hold-2", "u-orgadmin", "done")
	must(t, err)
	with := func(f func(h *argus.Hold)) *argus.Hold {
		h := hold("hold-new", "cam-1", 0, time.Hour)
		f(h)
		return h
	}
	release := func(id, by, reason string) func() error {
		return func() error { _, err := s.ReleaseHold(ctx, id, by, reason); return err }
	}
	tests := []struct {
		name  string
		op    func() error
		code  string
		field string
	}{
		{"duplicate id", func() error { return s.CreateHold(ctx, hold("hold-1", "cam-1", 0, time.Hour)) }, argus.ECONFLICT, ""},
		{"unknown camera", func() error { return s.CreateHold(ctx, hold("hold-new", "cam-9", 0, time.Hour)) }, argus.EINVALID, "camera_id"},
		{"bad id", func() error { return s.CreateHold(ctx, with(func(h *argus.Hold) { h.ID = "Hold 1" })) }, argus.EINVALID, "id"},
		{"bad camera id", func() error { return s.CreateHold(ctx, with(func(h *argus.Hold) { h.CameraID = "" })) }, argus.EINVALID, "camera_id"},
		{"no reason", func() error { return s.CreateHold(ctx, with(func(h *argus.Hold) { h.Reason = "  " })) }, argus.EINVALID, "reason"},
		{"empty range", func() error { return s.CreateHold(ctx, with(func(h *argus.Hold) { h.To = h.From })) }, argus.EINVALID, "to"},
		{"reversed range", func() error {
			return s.CreateHold(ctx, with(func(h *argus.Hold) { h.From, h.To = h.To, h.From }))
		}, argus.EINVALID, "to"},
		{"no from", func() error { return s.CreateHold(ctx, with(func(h *argus.Hold) { h.From = time.Time{} })) }, argus.EINVALID, "from"},
		{"before 1970", func() error {
			return s.CreateHold(ctx, with(func(h *argus.Hold) { h.From = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) }))
		}, argus.EINVALID, "from"},
		{"span too long", func() error {
			return s.CreateHold(ctx, with(func(h *argus.Hold) { h.To = h.From.Add(argus.MaxHoldSpan + time.Second) }))
		}, argus.EINVALID, "to"},
		{"no creator", func() error { return s.CreateHold(ctx, with(func(h *argus.Hold) { h.CreatedBy = "" })) }, argus.EINVALID, "created_by"},
		{"get missing", func() error { _, err := s.Hold(ctx, "hold-9"); return err }, argus.ENOTFOUND, ""},
		{"release missing", release("hold-9", "u-orgadmin", "done"), argus.ENOTFOUND, ""},
		{"release without reason", release("hold-1", "u-orgadmin", " "), argus.EINVALID, "reason"},
		{"release by nobody", release("hold-1", "", "done"), argus.EINVALID, "released_by"},
		{"release twice", release("hold-2", "u-orgadmin", "again"), argus.ECONFLICT, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			wantError(t, tc.op(), tc.code, tc.field)
			unchanged(t, s, before)
		})
	}
}
