package export_test

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/evidence"
	"argus/internal/export"
	"argus/internal/record"
	"argus/internal/record/synth"
	"argus/internal/secret"
	"argus/internal/segment/fsstore"
	"argus/internal/sqlite"
)

// t0 is when the test camera starts recording.
var t0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

type fixture struct {
	m     *export.Manager
	db    *sqlite.DB
	store *fsstore.Store
	key   *evidence.Key
	dir   string
}

// newFixture records cam-1 for 3 minutes from t0; it is then down for a
// minute and records 2 more minutes (one-minute segments, 1 s fragments,
// 2 s GOP at 25 fps).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	sealer, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "argus.db"), sqlite.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateOrg(ctx, &argus.Org{ID: "police", Name: "Police", Kind: argus.OrgPolice}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCamera(ctx, &argus.Camera{ID: "cam-1", Name: "Main St", OrgID: "police", StreamURL: "rtsp://10.0.0.1/1", RetentionDays: 30}); err != nil {
		t.Fatal(err)
	}
	store, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := synth.Load("360p-gop2")
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []struct{ at, d time.Duration }{{0, 3 * time.Minute}, {4 * time.Minute, 2 * time.Minute}} {
		if _, err := synth.Record(ctx, store, "cam-1", clip, t0.Add(run.at), run.d, record.Options{SegmentDuration: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	data := t.TempDir()
	key, err := evidence.LoadOrCreateKey(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, store: store, key: key, dir: filepath.Join(data, "exports")}
	f.m = f.open(t)
	return f
}

func (f *fixture) open(t *testing.T) *export.Manager {
	t.Helper()
	m, err := export.New(export.Config{Store: f.store, Holds: f.db, Dir: f.dir, Key: f.key, NodeID: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// wait polls the job until it ends.
func wait(t *testing.T, m *export.Manager, id string) *export.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := m.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == export.StateDone || j.State == export.StateFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("export still %s after 30 s", j.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func probe(t *testing.T, file string) map[string]string {
	t.Helper()
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("ffprobe required: %v", err)
		}
		t.Skip("ffprobe not on PATH")
	}
	cmd := exec.CommandContext(t.Context(), ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,codec_name:format=duration", "-of", "default=nw=1", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe %s: %v\n%s", file, err, stderr.String())
	}
	kv := make(map[string]string)
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// TestExportSpansGap exports a range that starts inside a GOP of the first
// recording and ends in the second: the MP4 holds every frame from the
// keyframe before from to the last before to, lasts the requested range
// within one GOP, places a hold, and verifies; one flipped byte does not.
func TestExportSpansGap(t *testing.T) {
	f := newFixture(t)
	from, to := t0.Add(90*time.Second+500*time.Millisecond), t0.Add(4*time.Minute+30*time.Second)
	p := argus.Principal{UserID: "inv-1", Username: "investigator", OrgID: "police", Role: argus.RoleInvestigator}
	j, err := f.m.Start(t.Context(), p, []*argus.Camera{{ID: "cam-1", Name: "Main St"}}, export.Request{
		CameraIDs: []string{"cam-1"}, From: from, To: to, Reason: "case 2026-1142: robbery at Main St",
	})
	if err != nil {
		t.Fatal(err)
	}
	j = wait(t, f.m, j.ID)
	if j.State != export.StateDone || j.Progress != 1 {
		t.Fatalf("export %s: %s (%s), progress %v", j.ID, j.State, j.Error, j.Progress)
	}
	dir := f.m.Dir(j.ID)
	mp4 := filepath.Join(dir, "cam-1.mp4")
	kv := probe(t, mp4)
	// Frames from the keyframe at 14:01:30 to 14:03:00 and from 14:04:00
	// to 14:04:30, at 25 fps.
	if want := (90 + 30) * 25; kv["nb_read_frames"] != strconv.Itoa(want) {
		t.Errorf("frames = %s, want %d", kv["nb_read_frames"], want)
	}
	dur, _ := strconv.ParseFloat(kv["duration"], 64)
	if got, want := time.Duration(dur*float64(time.Second)), to.Sub(from); (got - want).Abs() > 2*time.Second {
		t.Errorf("duration = %v, want %v within a GOP (2 s)", got, want)
	}
	if len(j.Cameras) != 1 || len(j.Cameras[0].Gaps) != 1 || !j.Cameras[0].Actual.From.Equal(t0.Add(90*time.Second)) {
		t.Errorf("camera report = %+v, want the gap and the actual start at the keyframe", j.Cameras)
	}

	holds, err := f.db.Holds(t.Context(), argus.HoldFilter{CameraID: "cam-1"})
	if err != nil || len(holds) != 1 || !holds[0].Active() || holds[0].ID != j.HoldIDs[0] || !holds[0].From.Equal(from) {
		t.Errorf("holds = %+v, %v; want the export's one active hold from %v", holds, err, from)
	}

	rep, err := evidence.Verify(dir, evidence.VerifyOptions{TrustedKeys: []ed25519.PublicKey{f.key.Public}})
	if err != nil || !rep.OK() {
		t.Fatalf("verify fresh export: %v %+v", err, rep)
	}
	var zip bytes.Buffer
	if err := f.m.WriteBundle(&zip, j.ID); err != nil {
		t.Fatal(err)
	}
	zpath := filepath.Join(t.TempDir(), "bundle.zip")
	if err := os.WriteFile(zpath, zip.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep, err := evidence.Verify(zpath, evidence.VerifyOptions{}); err != nil || !rep.OK() {
		t.Fatalf("verify bundle: %v %+v", err, rep)
	}

	b, err := os.ReadFile(mp4)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(mp4, b, 0o640); err != nil {
		t.Fatal(err)
	}
	rep, err = evidence.Verify(dir, evidence.VerifyOptions{})
	if err != nil || rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].File != "cam-1.mp4" {
		t.Errorf("verify after a flipped byte: %v %+v, want one problem naming cam-1.mp4", err, rep)
	}
}

func TestExportSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	p := argus.Principal{UserID: "inv-1", OrgID: "police", Role: argus.RoleInvestigator}
	j, err := f.m.Start(t.Context(), p, []*argus.Camera{{ID: "cam-1"}}, export.Request{
		CameraIDs: []string{"cam-1"}, From: t0, To: t0.Add(30 * time.Second), Reason: "case 7",
	})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, f.m, j.ID)
	f.m.Close()
	m := f.open(t)
	got, err := m.Get(j.ID)
	if err != nil || got.State != export.StateDone {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	var zip bytes.Buffer
	if err := m.WriteBundle(&zip, j.ID); err != nil || zip.Len() == 0 {
		t.Errorf("bundle after restart: %v", err)
	}
}

func TestExportRequestIsChecked(t *testing.T) {
	f := newFixture(t)
	p := argus.Principal{UserID: "inv-1", OrgID: "police"}
	for _, tt := range []struct {
		name  string
		req   export.Request
		field string
	}{
		{"no reason", export.Request{CameraIDs: []string{"cam-1"}, From: t0, To: t0.Add(time.Minute)}, "reason"},
		{"no camera", export.Request{From: t0, To: t0.Add(time.Minute), Reason: "x"}, "camera_ids"},
		{"backwards", export.Request{CameraIDs: []string{"cam-1"}, From: t0, To: t0.Add(-time.Minute), Reason: "x"}, "to"},
		{"too long", export.Request{CameraIDs: []string{"cam-1"}, From: t0, To: t0.Add(25 * time.Hour), Reason: "x"}, "to"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.m.Start(t.Context(), p, []*argus.Camera{{ID: "cam-1"}}, tt.req)
			ae, ok := err.(*argus.Error)
			if !ok || ae.Code != argus.EINVALID || ae.Field != tt.field {
				t.Errorf("err = %v, want EINVALID on %s", err, tt.field)
			}
		})
	}
	// Nothing recorded: the job fails and says so.
	j, err := f.m.Start(t.Context(), p, []*argus.Camera{{ID: "cam-1"}}, export.Request{
		CameraIDs: []string{"cam-1"}, From: t0.Add(-2 * time.Hour), To: t0.Add(-time.Hour), Reason: "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if j = wait(t, f.m, j.ID); j.State != export.StateFailed || !strings.Contains(j.Error, "nothing was recorded") {
		t.Errorf("export of nothing: %s %q", j.State, j.Error)
	}
}
