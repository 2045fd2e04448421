package node_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/config"
	"argus/internal/evidence"
	"argus/internal/node"
	"argus/internal/sim"
)

// TestRecordedVideoPlaysBackAndExports records a simulated camera through
// the whole chain, then plays back the recording (finished segments and
// the one being written) over HTTP with ffprobe, and exports it: the node
// created its signing key, and the downloaded bundle verifies against the
// key the node serves.
func TestRecordedVideoPlaysBackAndExports(t *testing.T) {
	needFFprobe(t)
	a := startAccessNode(t, "playback-test-password", func(c *config.Config) { c.Recording.SegmentDuration = 2 * time.Second },
		func(n *node.Node, s *sim.Server) {
			st := n.Store()
			if err := st.CreateOrg(t.Context(), &argus.Org{ID: "city", Name: "City", Kind: argus.OrgCity}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateCamera(t.Context(), &argus.Camera{ID: "cam-1", Name: "Sim", OrgID: "city", Lat: 40.7, Lon: -73.9,
				StreamURL: s.URL(1), Recording: true, RetentionDays: 1}); err != nil {
				t.Fatal(err)
			}
		})
	ctx, cfg, n := a.ctx, a.cfg, a.n
	root := cfg.RecordingsDir()
	deadline := time.Now().Add(60 * time.Second)
	for len(finished(t, root, "cam-1")) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no three segments within 60 s: %v", files(t, root))
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := finished(t, root, "cam-1")[0].Start
	call := func(method, path, token, body string) (int, []byte) {
		t.Helper()
		code, _, b := a.call(method, path, token, "", body)
		return code, b
	}
	tok := a.login("admin", "playback-test-password")
	now := time.Now().UTC()
	rq := "from=" + url.QueryEscape(start.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(now.Add(time.Minute).Format(time.RFC3339Nano))

	status, b := call("GET", "/api/v1/cameras/cam-1/timeline?"+rq, tok, "")
	var tl struct {
		Ranges []struct{ From, To time.Time }
	}
	if err := json.Unmarshal(b, &tl); status != 200 || err != nil || len(tl.Ranges) == 0 || !tl.Ranges[0].From.Equal(start) {
		t.Fatalf("timeline: %d %s", status, b)
	}

	// ffprobe plays the playlist: every segment so far, the one being
	// written included.
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-headers", "Authorization: Bearer "+tok+"\r\n",
		"-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "default=nw=1:nk=1",
		n.URL()+"/api/v1/cameras/cam-1/playback/index.m3u8?"+rq+"&reason=node+test")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	frames, _ := strconv.Atoi(strings.TrimSpace(strings.Split(string(out), "\n")[0]))
	if err != nil || stderr.Len() > 0 || frames < 3*2*25-25 {
		t.Fatalf("ffprobe of the playback playlist: %v, %d frames\n%s", err, frames, stderr.String())
	}

	body := `{"camera_ids":["cam-1"],"from":"` + start.Format(time.RFC3339Nano) + `","to":"` + start.Add(4*time.Second).Format(time.RFC3339Nano) + `","reason":"node test"}`
	status, b = call("POST", "/api/v1/exports", tok, body)
	var job struct{ ID, State, Error string }
	if err := json.Unmarshal(b, &job); status != http.StatusAccepted || err != nil {
		t.Fatalf("export: %d %s", status, b)
	}
	for deadline := time.Now().Add(30 * time.Second); job.State != "done"; {
		if job.State == "failed" || time.Now().After(deadline) {
			t.Fatalf("export %s: %s %s", job.ID, job.State, job.Error)
		}
		time.Sleep(20 * time.Millisecond)
		_, b = call("GET", "/api/v1/exports/"+job.ID, tok, "")
		json.Unmarshal(b, &job)
	}
	status, zip := call("GET", "/api/v1/exports/"+job.ID+"/bundle", tok, "")
	zpath := filepath.Join(t.TempDir(), "bundle.zip")
	if err := os.WriteFile(zpath, zip, 0o600); status != 200 || err != nil {
		t.Fatalf("bundle: %d %v", status, err)
	}
	_, keys := call("GET", "/api/v1/keys", tok, "")
	trusted, err := evidence.ParsePublicKeys(keys)
	if err != nil {
		t.Fatalf("keys %s: %v", keys, err)
	}
	if rep, err := evidence.Verify(zpath, evidence.VerifyOptions{TrustedKeys: trusted}); err != nil || !rep.OK() || !rep.KeyTrusted {
		t.Errorf("verify: %v %+v", err, rep)
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, evidence.KeyFile)); err != nil {
		t.Errorf("the node's key is not in the data directory: %v", err)
	}
}
