package playback_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/playback"
	"argus/internal/record"
	"argus/internal/record/synth"
	"argus/internal/segment/fsstore"
)

// t0 is when the test camera starts recording.
var t0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

// fixture records cam-1 for 3 minutes from t0, is down for a minute, and
// records 2 more minutes: one-minute segments, 1 s fragments, 2 s GOP.
func fixture(t *testing.T) (*playback.Service, *fsstore.Store, *synth.Clip) {
	t.Helper()
	store, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := synth.Load("360p-gop2")
	if err != nil {
		t.Fatal(err)
	}
	opts := record.Options{SegmentDuration: time.Minute}
	for _, run := range []struct{ at, d time.Duration }{{0, 3 * time.Minute}, {4 * time.Minute, 2 * time.Minute}} {
		if _, err := synth.Record(t.Context(), store, "cam-1", clip, t0.Add(run.at), run.d, opts); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := playback.New(playback.Config{Store: store, Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, store, clip
}

func TestTimelineHasTheGap(t *testing.T) {
	svc, _, _ := fixture(t)
	tl, err := svc.Timeline(t.Context(), "cam-1", t0.Add(-time.Minute), t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []playback.Span{{From: t0, To: t0.Add(3 * time.Minute)}, {From: t0.Add(4 * time.Minute), To: t0.Add(6 * time.Minute)}}
	if len(tl.Ranges) != 2 {
		t.Fatalf("ranges = %+v, want %+v", tl.Ranges, want)
	}
	for i, r := range tl.Ranges {
		// The recorder's last frame lasts as the others: ends may differ
		// from the nominal length by a frame.
		if !r.From.Equal(want[i].From) || r.To.Sub(want[i].To).Abs() > 40*time.Millisecond {
			t.Errorf("range %d = %v–%v, want %v–%v", i, r.From, r.To, want[i].From, want[i].To)
		}
	}
	if len(tl.Gaps) != 3 || !tl.Gaps[1].From.Equal(tl.Ranges[0].To) || !tl.Gaps[1].To.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("gaps = %+v, want before, between and after the ranges", tl.Gaps)
	}
	if _, err := svc.Timeline(t.Context(), "cam-1", t0, t0); err == nil {
		t.Error("an empty range was accepted")
	}
}

// serve answers playlist and file requests of user u1 as the API does.
func serve(t *testing.T, svc *playback.Service, from, to time.Time) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cam-1/index.m3u8", func(w http.ResponseWriter, r *http.Request) {
		pl, err := svc.Playlist(r.Context(), "cam-1", "u1", from, to)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(pl)
	})
	mux.HandleFunc("GET /cam-1/{file...}", func(w http.ResponseWriter, r *http.Request) {
		if err := svc.ServeFile(w, r, "cam-1", "u1", r.PathValue("file")); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func requireFFprobe(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("ffprobe required: %v", err)
		}
		t.Skip("ffprobe not on PATH")
	}
	return p
}

// TestPlaylistSpansGapInFFprobe plays, with ffprobe, a playlist from the
// middle of a GOP in the first recording to the second: it decodes without
// an error, every frame from the keyframe before from to the end arrives,
// and the gap is marked.
func TestPlaylistSpansGapInFFprobe(t *testing.T) {
	ffprobe := requireFFprobe(t)
	svc, _, clip := fixture(t)
	from, to := t0.Add(90*time.Second+500*time.Millisecond), t0.Add(5*time.Minute)
	srv := serve(t, svc, from, to)

	res, err := http.Get(srv.URL + "/cam-1/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	var pl bytes.Buffer
	pl.ReadFrom(res.Body)
	res.Body.Close()
	if n := strings.Count(pl.String(), "#EXT-X-DISCONTINUITY\n"); n != 1 {
		t.Errorf("playlist has %d discontinuities, want 1 (the gap):\n%s", n, pl.String())
	}
	if !strings.Contains(pl.String(), "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T14:01:30.000Z") {
		t.Errorf("playlist does not start at the keyframe before from (14:01:30):\n%s", pl.String())
	}

	cmd := exec.CommandContext(t.Context(), ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,codec_name,width", "-of", "default=nw=1", srv.URL+"/cam-1/index.m3u8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v\n%s\nplaylist:\n%s", err, stderr.String(), pl.String())
	}
	var frames int
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "nb_read_frames="); ok {
			frames, _ = strconv.Atoi(v)
		}
	}
	// From the keyframe at 14:01:30 to 14:03:00, then from 14:04:00 to
	// 14:05:00, where the next segment (not listed) starts.
	fps := int(time.Second / clip.Frame)
	want := 90*fps + 60*fps
	if frames != want {
		t.Errorf("ffprobe read %d frames, want %d\n%s", frames, want, out)
	}
}

func TestPlaybackSessionIsTheViewers(t *testing.T) {
	svc, _, _ := fixture(t)
	pl, err := svc.Playlist(t.Context(), "cam-1", "u1", t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var uri string
	for _, line := range strings.Split(string(pl), "\n") {
		if strings.HasPrefix(line, "seg/") {
			uri = line
			break
		}
	}
	name, query, _ := strings.Cut(uri, "?")
	get := func(camera, user, q string) error {
		req := httptest.NewRequest(http.MethodGet, "/x?"+q, nil)
		return svc.ServeFile(httptest.NewRecorder(), req, camera, user, name)
	}
	if err := get("cam-1", "u1", query); err != nil {
		t.Fatalf("the viewer's own part: %v", err)
	}
	for _, tt := range []struct{ name, camera, user, q string }{
		{"other viewer", "cam-1", "u2", query},
		{"other camera", "cam-2", "u1", query},
		{"no session", "cam-1", "u1", "s=deadbeef"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ae *argus.Error
			if err := get(tt.camera, tt.user, tt.q); !errors.As(err, &ae) || ae.Code != argus.EFORBIDDEN {
				t.Errorf("err = %v, want EFORBIDDEN", err)
			}
		})
	}
	if _, err := svc.Playlist(t.Context(), "cam-1", "u1", t0.Add(-2*time.Hour), t0.Add(-time.Hour)); err == nil {
		t.Error("a playlist of a range without recordings was answered")
	}
}

// TestPartialSegmentPartsKeepTheirFragments lists a segment while it is
// being written, lets it grow, and fetches the parts the playlist named:
// together they still hold every frame the playlist promised.
func TestPartialSegmentPartsKeepTheirFragments(t *testing.T) {
	ffprobe := requireFFprobe(t)
	store, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := synth.Load("360p-gop2")
	if err != nil {
		t.Fatal(err)
	}
	w, err := record.NewWriter(store, "cam-1", record.Options{SegmentDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(t.Context())
	// 17.5 s written: 17 s in complete fragments, two parts (0–6 s and
	// 6–17 s, the last taking the remainder).
	if err := synth.Frames(t.Context(), w, clip, t0, 0, 17*25+12); err != nil {
		t.Fatal(err)
	}
	svc, err := playback.New(playback.Config{Store: store, Now: func() time.Time { return t0.Add(18 * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, svc, t0, t0.Add(time.Minute))
	res, err := http.Get(srv.URL + "/cam-1/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	var pl bytes.Buffer
	pl.ReadFrom(res.Body)
	res.Body.Close()
	if !strings.Contains(pl.String(), "&d=") {
		t.Fatalf("the partial segment's parts carry no duration:\n%s", pl.String())
	}
	// The segment grows by 3 s before the player fetches its parts: cut
	// afresh it would have three parts, and the second would end at 12 s.
	if err := synth.Frames(t.Context(), w, clip, t0, 17*25+12, 3*25); err != nil {
		t.Fatal(err)
	}
	plFile := filepath.Join(t.TempDir(), "index.m3u8")
	// Serve the saved playlist, not a new one: rewrite its relative URIs
	// to the server.
	saved := strings.ReplaceAll(pl.String(), "seg/", srv.URL+"/cam-1/seg/")
	if err := os.WriteFile(plFile, []byte(saved), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), ffprobe, "-v", "error", "-protocol_whitelist", "file,http,tcp", "-count_frames",
		"-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "default=nw=1:nk=1", plFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	// Every frame of the 17 s the playlist promised comes back.
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if frames, _ := strconv.Atoi(first); frames < 17*25 {
		t.Errorf("ffprobe read %d frames of the parts, want at least %d", frames, 17*25)
	}
}
