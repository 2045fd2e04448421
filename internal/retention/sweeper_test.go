package retention_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"argus"
	"argus/internal/retention"
	"argus/internal/secret"
	"argus/internal/segment"
	"argus/internal/sqlite"
)

func TestAgeRule(t *testing.T) {
	for _, tc := range []struct {
		name     string
		days     int
		inDir    bool
		segments []time.Duration // starts before t0; each lasts an hour
		partials []time.Duration // starts before t0 of segments never finished
		want     []time.Duration // starts before t0 left after the pass
	}{
		{
			name: "expired segments go", days: 7, inDir: true,
			// The third ends exactly at the cutoff; the fourth 30 minutes after it.
			segments: []time.Duration{10 * day, 8 * day, 7*day + time.Hour, 7*day + 30*time.Minute, day},
			want:     []time.Duration{7*day + 30*time.Minute, day},
		},
		{
			name: "no retention keeps everything", days: 0, inDir: true,
			segments: []time.Duration{400 * day, 10 * day, time.Hour},
			want:     []time.Duration{400 * day, 10 * day, time.Hour},
		},
		{
			name: "a camera not in the directory keeps everything", days: 1, inDir: false,
			segments: []time.Duration{10 * day, 2 * day},
			want:     []time.Duration{10 * day, 2 * day},
		},
		{
			name: "across a gap of years", days: 1, inDir: true,
			segments: []time.Duration{3 * 365 * day, 2*365*day + 5*day, 2 * day, 2 * time.Hour},
			want:     []time.Duration{2 * time.Hour},
		},
		{
			name: "partial segments are never deleted", days: 1, inDir: true,
			segments: []time.Duration{40 * day, 3 * day},
			// One a dead recorder left behind, one being written now.
			partials: []time.Duration{20 * day, 30 * time.Second},
			want:     []time.Duration{20 * day, 30 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if tc.inDir {
				f.camera("cam-1", "city", tc.days, 0)
			}
			for _, d := range tc.segments {
				f.segment("cam-1", ago(d), time.Hour, 1000)
			}
			for _, d := range tc.partials {
				f.partial("cam-1", ago(d), 500)
			}
			rep := f.sweep()
			want := offsets(tc.want...)
			slices.Sort(want)
			if got := f.left("cam-1"); !slices.Equal(got, want) {
				t.Fatalf("left %v, want %v", got, want)
			}
			gone := len(tc.segments) + len(tc.partials) - len(tc.want)
			if got := rep.Deleted[retention.RuleAge]; got.Segments != gone || got.Bytes != int64(gone*1000) {
				t.Fatalf("report: %+v deleted by age, want %d segments", got, gone)
			}
			events := f.takeEvents()
			switch {
			case gone == 0 && len(events) != 0:
				t.Fatalf("events %+v, want none", events)
			case gone > 0 && (len(events) != 1 || events[0].Type != retention.EventDeleted || events[0].Camera != "cam-1" ||
				events[0].Rule != retention.RuleAge || events[0].Segments != gone || !events[0].Time.Equal(t0)):
				t.Fatalf("events %+v, want one retention.deleted of %d segments", events, gone)
			}
			if got := f.counter("argus_retention_deleted_segments_total", "age"); got != float64(gone) {
				t.Fatalf("argus_retention_deleted_segments_total{rule=age} = %v, want %d", got, gone)
			}
			// A second pass at the same time has nothing left to do.
			if rep := f.sweep(); rep.Deleted[retention.RuleAge].Segments != 0 || len(f.takeEvents()) != 0 {
				t.Fatalf("second pass deleted %+v", rep.Deleted)
			}
		})
	}
}

func TestAgeRuleAsTimePasses(t *testing.T) {
	f := newFixture(t, nil)
	f.camera("cam-1", "city", 1, 0)
	for h := 30; h >= 2; h-- {
		f.segment("cam-1", ago(time.Duration(h)*time.Hour), time.Hour, 100)
	}
	// They ended 29h..1h ago: the first pass takes the 6 that ended 24h
	// or more ago.
	if rep := f.sweep(); rep.Deleted[retention.RuleAge].Segments != 6 {
		t.Fatalf("first pass deleted %+v, want 6 by age", rep.Deleted)
	}
	for i := 1; i <= 3; i++ {
		f.now = f.now.Add(time.Hour)
		if rep := f.sweep(); rep.Deleted[retention.RuleAge].Segments != 1 {
			t.Fatalf("pass %d, an hour later, deleted %+v, want the one that just expired", i, rep.Deleted)
		}
	}
	if got := len(f.left("cam-1")); got != 29-9 {
		t.Fatalf("%d segments left, want %d", got, 29-9)
	}
}

func TestHoldsAreNeverDeleted(t *testing.T) {
	// Holds come from the SQLite metadata store, as in a node.
	sealer, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "argus.db"), sqlite.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if err := db.CreateOrg(ctx, &argus.Org{ID: "police", Name: "Police", Kind: argus.OrgPolice}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"cam-1", "cam-2"} {
		c := &argus.Camera{ID: id, Name: id, OrgID: "police", StreamURL: "rtsp://10.0.0.1/" + id, RetentionDays: 1}
		if err := db.CreateCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	f := newFixture(t, func(c *retention.Config) { c.Directory, c.Holds = db, db })
	for _, cam := range []string{"cam-1", "cam-2"} {
		for _, d := range []time.Duration{5 * day, 4 * day, 3 * day, 2 * day} {
			f.segment(cam, ago(d), time.Hour, 1000)
		}
	}
	// Overlaps the end of the 4-day-old hour and the start of the 3-day-old one.
	h := &argus.Hold{ID: "hold-1", CameraID: "cam-1", From: ago(4*day - 30*time.Minute), To: ago(3*day - 10*time.Minute),
		Reason: "robbery", CreatedBy: "investigator"}
	if err := db.CreateHold(ctx, h); err != nil {
		t.Fatal(err)
	}

	rep := f.sweep()
	if got, want := f.left("cam-1"), offsets(4*day, 3*day); !slices.Equal(got, want) {
		t.Fatalf("cam-1 left %v, want the two held segments %v", got, want)
	}
	if got := f.left("cam-2"); len(got) != 0 {
		t.Fatalf("cam-2 left %v: a hold on cam-1 protects nothing of cam-2", got)
	}
	if rep.Held != 2 || rep.Deleted[retention.RuleAge].Segments != 6 {
		t.Fatalf("report %+v, want 2 held and 6 deleted", rep)
	}
	if rep := f.sweep(); rep.Held != 0 || rep.Deleted[retention.RuleAge].Segments != 0 {
		t.Fatalf("second pass %+v: held segments are reported once and nothing else is left", rep)
	}

	if _, err := db.ReleaseHold(ctx, "hold-1", "orgadmin", "case closed"); err != nil {
		t.Fatal(err)
	}
	if rep := f.sweep(); rep.Deleted[retention.RuleAge].Segments != 2 {
		t.Fatalf("after the release deleted %+v, want the two segments it held", rep.Deleted)
	}
	if got := f.left("cam-1"); len(got) != 0 {
		t.Fatalf("cam-1 left %v after the release", got)
	}
}

func TestCameraQuota(t *testing.T) {
	f := newFixture(t, nil)
	f.camera("cam-1", "city", 0, 3500)
	f.camera("cam-2", "city", 0, 0)
	for h := 10; h >= 1; h-- {
		f.segment("cam-1", ago(time.Duration(h)*time.Hour), time.Minute, 1000)
		f.segment("cam-2", ago(time.Duration(h)*time.Hour), time.Minute, 1000)
	}
	f.hold("hold-1", "cam-1", ago(10*time.Hour), ago(10*time.Hour-time.Second))

	// Nine un-held segments of 1000 bytes against 3500: the six oldest
	// un-held go; the held one does not count and stays.
	rep := f.sweep()
	if got, want := f.left("cam-1"), offsets(10*time.Hour, 3*time.Hour, 2*time.Hour, time.Hour); !slices.Equal(got, want) {
		t.Fatalf("cam-1 left %v, want %v", got, want)
	}
	if got := rep.Deleted[retention.RuleCameraBytes]; got.Segments != 6 || got.Bytes != 6000 || rep.Held != 1 {
		t.Fatalf("report %+v, want 6 deleted by camera_bytes and 1 held", rep)
	}
	if got := len(f.left("cam-2")); got != 10 {
		t.Fatalf("cam-2 (no quota) lost segments: %d left", got)
	}

	// Segments recorded since are counted incrementally.
	f.now = t0.Add(time.Hour)
	f.segment("cam-1", t0.Add(10*time.Minute), time.Minute, 1000)
	f.segment("cam-1", t0.Add(20*time.Minute), time.Minute, 1000)
	if rep := f.sweep(); rep.Deleted[retention.RuleCameraBytes].Segments != 2 {
		t.Fatalf("after two new segments deleted %+v, want 2", rep.Deleted)
	}
	if got, want := f.left("cam-1"), []time.Duration{-10 * time.Hour, -time.Hour, 10 * time.Minute, 20 * time.Minute}; !slices.Equal(got, want) {
		t.Fatalf("cam-1 left %v, want %v", got, want)
	}

	// Released, the held segment counts and, being the oldest, goes.
	if _, err := f.holds.ReleaseHold(t.Context(), "hold-1", "orgadmin", "done"); err != nil {
		t.Fatal(err)
	}
	if rep := f.sweep(); rep.Deleted[retention.RuleCameraBytes].Segments != 1 {
		t.Fatalf("after the release deleted %+v, want the segment it held", rep.Deleted)
	}
	if got, want := f.left("cam-1"), []time.Duration{-time.Hour, 10 * time.Minute, 20 * time.Minute}; !slices.Equal(got, want) {
		t.Fatalf("cam-1 left %v, want %v", got, want)
	}
}

func TestOrgQuota(t *testing.T) {
	f := newFixture(t, nil)
	f.org("police", 4500)
	f.org("fire", 0)
	f.camera("cam-p1", "police", 0, 0)
	f.camera("cam-p2", "police", 0, 0)
	f.camera("cam-f1", "fire", 0, 0)
	for h := 8; h >= 1; h-- {
		cam := "cam-p1"
		if h%2 == 1 {
			cam = "cam-p2"
		}
		f.segment(cam, ago(time.Duration(h)*time.Hour), time.Minute, 1000)
		f.segment("cam-f1", ago(time.Duration(h)*time.Hour), time.Minute, 1000)
	}
	rep := f.sweep()
	// 8000 bytes against 4500: the four oldest across both cameras go.
	if got, want := f.left("cam-p1"), offsets(4*time.Hour, 2*time.Hour); !slices.Equal(got, want) {
		t.Fatalf("cam-p1 left %v, want %v", got, want)
	}
	if got, want := f.left("cam-p2"), offsets(3*time.Hour, time.Hour); !slices.Equal(got, want) {
		t.Fatalf("cam-p2 left %v, want %v", got, want)
	}
	if got := len(f.left("cam-f1")); got != 8 {
		t.Fatalf("cam-f1 of another organisation lost segments: %d left", got)
	}
	if got := rep.Deleted[retention.RuleOrgBytes]; got.Segments != 4 || got.Bytes != 4000 {
		t.Fatalf("report %+v, want 4 deleted by org_bytes", rep.Deleted)
	}
	events := f.takeEvents()
	if len(events) != 2 || events[0].Camera != "cam-p1" || events[1].Camera != "cam-p2" ||
		events[0].Segments != 2 || !events[0].From.Equal(ago(8*time.Hour)) || !events[0].To.Equal(ago(6*time.Hour-time.Minute)) {
		t.Fatalf("events %+v, want one per camera spanning what went", events)
	}
}

func TestPressure(t *testing.T) {
	floor, err := retention.ParseFloor("5000B")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *retention.Config) { c.Floor = floor })
	f.capacity = 20000
	for _, cam := range []string{"cam-a", "cam-b", "cam-c"} {
		f.camera(cam, "city", 30, 0)
	}
	// Interleaved: cam-a at 18h, cam-b at 17h, cam-c at 16h, cam-a at 15h …
	// cam-c at 1h before t0; the oldest is held.
	for i := 18; i >= 1; i-- {
		f.segment([]string{"cam-a", "cam-c", "cam-b"}[i%3], ago(time.Duration(i)*time.Hour), time.Minute, 1000)
	}
	f.hold("hold-1", "cam-a", ago(18*time.Hour), ago(17*time.Hour))

	rep := f.sweep()
	// Free 2000 of 20000 against a floor of 5000: the three oldest un-held
	// segments go (17h, 16h, 15h); the held 18h stays.
	if !rep.Pressure || rep.Free != 2000 || rep.FreeAfter != 5000 || rep.Floor != 5000 || rep.Total != 20000 || rep.Held != 1 {
		t.Fatalf("report %+v", rep)
	}
	if got := rep.Deleted[retention.RulePressure]; got.Segments != 3 {
		t.Fatalf("deleted %+v, want 3 by pressure", rep.Deleted)
	}
	if got, want := f.left("cam-a"), offsets(18*time.Hour, 12*time.Hour, 9*time.Hour, 6*time.Hour, 3*time.Hour); !slices.Equal(got, want) {
		t.Fatalf("cam-a left %v, want %v", got, want)
	}
	pressure := func(events []retention.Event) []retention.Event {
		return slices.DeleteFunc(events, func(e retention.Event) bool { return e.Type != retention.EventPressure })
	}
	want := retention.Event{Type: retention.EventPressure, Time: t0, Segments: 3, Bytes: 3000, Free: 2000, Total: 20000, Floor: 5000, FreeAfter: 5000}
	if got := pressure(f.takeEvents()); len(got) != 1 || got[0] != want {
		t.Fatalf("pressure events %+v, want exactly %+v", got, want)
	}

	// Back above the floor: the episode is over, nothing more goes.
	f.now = f.now.Add(time.Minute)
	if rep := f.sweep(); rep.Pressure || rep.Deleted[retention.RulePressure].Segments != 0 || len(pressure(f.takeEvents())) != 0 {
		t.Fatalf("pass above the floor: %+v", rep)
	}
	// Below it again: a new episode, a new event.
	f.segment("cam-b", ago(30*time.Minute), time.Minute, 1000)
	f.segment("cam-c", ago(20*time.Minute), time.Minute, 1000)
	rep = f.sweep()
	if got := pressure(f.takeEvents()); !rep.Pressure || len(got) != 1 || got[0].Segments != 2 || got[0].Free != 3000 {
		t.Fatalf("second episode: report %+v events %+v, want one event for 2 segments", rep, got)
	}
	// Still below the floor at the next pass: the same episode, no event.
	f.segment("cam-b", ago(10*time.Minute), time.Minute, 1000)
	rep = f.sweep()
	if got := pressure(f.takeEvents()); !rep.Pressure || rep.Deleted[retention.RulePressure].Segments != 1 || len(got) != 0 {
		t.Fatalf("same episode: report %+v events %+v, want one deletion and no event", rep, got)
	}
	if got := f.left("cam-a")[0]; got != -18*time.Hour {
		t.Fatalf("the held segment went: cam-a starts at %v", got)
	}
}

func TestPressureWithNothingToDelete(t *testing.T) {
	f := newFixture(t, func(c *retention.Config) { c.Floor = retention.Floor{Percent: 50} })
	f.capacity = 3000
	f.camera("cam-1", "city", 0, 0)
	f.segment("cam-1", ago(2*time.Hour), time.Minute, 1000)
	f.hold("hold-1", "cam-1", ago(3*time.Hour), ago(time.Hour))
	f.partial("cam-1", ago(10*time.Second), 1000)

	for pass := range 2 {
		rep := f.sweep()
		if !rep.Pressure || rep.FreeAfter != 1000 || rep.Floor != 1500 || len(f.left("cam-1")) != 2 {
			t.Fatalf("pass %d: report %+v, left %v: want pressure and both segments kept", pass, rep, f.left("cam-1"))
		}
		events := f.takeEvents()
		if wantEvents := 1 - pass; len(events) != wantEvents {
			t.Fatalf("pass %d: events %+v, want %d", pass, events, wantEvents)
		}
	}
}

// faulty fails List or Delete for some cameras.
type faulty struct {
	segment.Store
	failList, failDelete map[string]bool
}

func (s *faulty) List(ctx context.Context, camera string, from, to time.Time) ([]segment.Ref, error) {
	if s.failList[camera] {
		return nil, errors.New("list: input/output error")
	}
	return s.Store.List(ctx, camera, from, to)
}

func (s *faulty) Delete(ctx context.Context, r segment.Ref) error {
	if s.failDelete[r.Camera] {
		return errors.New("unlink: read-only file system")
	}
	return s.Store.Delete(ctx, r)
}

func TestFailuresAreSkipped(t *testing.T) {
	fs := &faulty{failList: map[string]bool{"cam-list": true}, failDelete: map[string]bool{"cam-delete": true}}
	f := newFixture(t, func(c *retention.Config) {
		fs.Store = c.Segments
		c.Segments = fs
	})
	for _, cam := range []string{"cam-delete", "cam-list", "cam-ok"} {
		f.camera(cam, "city", 1, 0)
		f.segment(cam, ago(3*day), time.Hour, 100)
		f.segment(cam, ago(2*day), time.Hour, 100)
	}
	rep := f.sweep()
	if rep.Errors != 2 || rep.Deleted[retention.RuleAge].Segments != 2 || len(f.left("cam-ok")) != 0 {
		t.Fatalf("report %+v, cam-ok left %v: want 2 errors and cam-ok swept", rep, f.left("cam-ok"))
	}
	for _, op := range []string{"list", "delete"} {
		if got := f.counter("argus_retention_errors_total", op); got != 1 {
			t.Fatalf("argus_retention_errors_total{op=%s} = %v, want 1", op, got)
		}
	}
	fs.failList, fs.failDelete = nil, nil
	rep = f.sweep()
	if rep.Errors != 0 || rep.Deleted[retention.RuleAge].Segments != 4 || len(f.left("cam-delete"))+len(f.left("cam-list")) != 0 {
		t.Fatalf("once the store recovers: report %+v, want the 4 remaining expired segments deleted", rep)
	}
}

func TestNoHoldsNoDeletion(t *testing.T) {
	f := newFixture(t, func(c *retention.Config) { c.Floor = retention.Floor{Percent: 99} })
	f.capacity = 2000
	f.camera("cam-1", "city", 1, 10)
	f.segment("cam-1", ago(3*day), time.Hour, 1000)
	f.holds.err = errors.New("database is locked")
	if _, err := f.sw.Sweep(t.Context()); err == nil || !errors.Is(err, f.holds.err) {
		t.Fatalf("Sweep = %v, want the hold store's error", err)
	}
	if len(f.left("cam-1")) != 1 || len(f.takeEvents()) != 0 {
		t.Fatal("a pass that could not read the holds deleted something")
	}
}

func TestNew(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name string
		cfg  retention.Config
	}{
		{"no segment store", retention.Config{Directory: f.dir, Holds: f.holds, Root: "/"}},
		{"no directory", retention.Config{Segments: f.segs, Holds: f.holds, Root: "/"}},
		{"no hold store", retention.Config{Segments: f.segs, Directory: f.dir, Root: "/"}},
		{"no way to measure free space", retention.Config{Segments: f.segs, Directory: f.dir, Holds: f.holds}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := retention.New(tc.cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
	// The default FreeSpace measures Root.
	sw, err := retention.New(retention.Config{Segments: f.segs, Directory: f.dir, Holds: f.holds, Root: f.root,
		Floor: retention.Floor{Percent: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sw.Sweep(t.Context())
	if err != nil || rep.Total == 0 || rep.Free == 0 || rep.Free > rep.Total {
		t.Fatalf("Sweep with statfs: %+v, %v", rep, err)
	}
}

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, func(c *retention.Config) {
			c.Now, c.Interval = time.Now, time.Minute
		})
		f.camera("cam-1", "city", 1, 0)
		start := time.Now()
		f.now = start.Add(time.Hour) // for left
		// Ends 24h30s before start, then 24h - 30s and 24h - 90s before it.
		for _, end := range []time.Duration{day + 30*time.Second, day - 30*time.Second, day - 90*time.Second} {
			f.segment("cam-1", start.Add(-end-time.Minute), time.Minute, 100)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.sw.Run(ctx) }()

		synctest.Wait()
		if got := len(f.left("cam-1")); got != 2 {
			t.Fatalf("after the first pass %d segments left, want 2", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := len(f.left("cam-1")); got != 1 {
			t.Fatalf("a minute later %d segments left, want 1", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := len(f.left("cam-1")); got != 0 {
			t.Fatalf("two minutes later %d segments left, want 0", got)
		}
		if got := f.counter("argus_retention_deleted_segments_total", "age"); got != 3 {
			t.Fatalf("deleted counter %v, want 3", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	})
}

func TestParseFloor(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  retention.Floor
		bytes uint64 // Of(1000 GiB)
		err   bool
	}{
		{in: "5%", want: retention.Floor{Percent: 5}, bytes: 50 << 30},
		{in: " 2.5 % ", want: retention.Floor{Percent: 2.5}, bytes: 25 << 30},
		{in: "0", want: retention.Floor{}, bytes: 0},
		{in: "1048576", want: retention.Floor{Bytes: 1 << 20}, bytes: 1 << 20},
		{in: "2GiB", want: retention.Floor{Bytes: 2 << 30}, bytes: 2 << 30},
		{in: "500 MB", want: retention.Floor{Bytes: 500e6}, bytes: 500e6},
		{in: "1.5TiB", want: retention.Floor{Bytes: 3 << 39}, bytes: 3 << 39},
		{in: "64KiB", want: retention.Floor{Bytes: 64 << 10}, bytes: 64 << 10},
		{in: "10KB", want: retention.Floor{Bytes: 10000}, bytes: 10000},
		{in: "100%", err: true},
		{in: "-1%", err: true},
		{in: "-5GB", err: true},
		{in: "lots", err: true},
		{in: "GiB", err: true},
		{in: "", err: true},
		{in: "1e9", err: true},
		{in: "Inf", err: true},
		{in: "5 PB", err: true},
		{in: "9000000TiB", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := retention.ParseFloor(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseFloor(%q) = %+v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want || got.Of(1000<<30) != tc.bytes {
				t.Fatalf("ParseFloor(%q) = %+v (%d of 1000 GiB), %v; want %+v (%d)", tc.in, got, got.Of(1000<<30), err, tc.want, tc.bytes)
			}
			if back, err := retention.ParseFloor(got.String()); err != nil || back != got {
				t.Fatalf("String %q does not parse back: %+v, %v", got.String(), back, err)
			}
		})
	}
}
