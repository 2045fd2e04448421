package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"argus/internal/demo"
)

// run executes one command line against data dir and returns its exit code,
// standard output and standard error.
func run(t *testing.T, data string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(t.Context(), Env{
		Args:    append([]string{"--data", data, "--log-level", "warn"}, args...),
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errb,
		Environ: []string{},
		Version: "v0.0.0-test",
	})
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, data string, args ...string) string {
	t.Helper()
	code, out, errs := run(t, data, "", args...)
	if code != 0 {
		t.Fatalf("argus %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestVersion(t *testing.T) {
	out := mustRun(t, t.TempDir(), "version")
	if out != "argus v0.0.0-test\n" {
		t.Fatalf("version printed %q", out)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	code, _, errs := run(t, t.TempDir(), "", "frobnicate")
	if code == 0 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestOrgAndCameraCRUD(t *testing.T) {
	data := t.TempDir()
	mustRun(t, data, "org", "create", "--id", "pd", "--name", "Police", "--kind", "police")
	mustRun(t, data, "org", "create", "--id", "pct-1", "--name", "1st Precinct", "--kind", "police", "--parent", "pd")
	out := mustRun(t, data, "org", "list")
	if !strings.Contains(out, "pct-1") || !strings.Contains(out, "1st Precinct") {
		t.Fatalf("org list lacks the precinct:\n%s", out)
	}
	mustRun(t, data, "camera", "create", "--id", "cam-1", "--name", "Main & 1st", "--org", "pct-1",
		"--lat", "40.7", "--lon", "-73.9", "--stream-url", "rtsp://u:secret@10.0.0.1/stream1", "--tags", "ptz,traffic")
	out = mustRun(t, data, "camera", "get", "cam-1")
	var cam map[string]any
	if err := json.Unmarshal([]byte(out), &cam); err != nil {
		t.Fatalf("camera get printed no JSON: %v\n%s", err, out)
	}
	if cam["stream_url"] != "rtsp://10.0.0.1/stream1" || cam["username"] != "u" {
		t.Fatalf("credentials not moved out of the URL: %v", cam)
	}
	if strings.Contains(out, "secret") {
		t.Fatalf("camera get shows the password:\n%s", out)
	}
	out = mustRun(t, data, "camera", "list", "--near", "40.7,-73.9,100")
	if !strings.Contains(out, "cam-1") {
		t.Fatalf("radius listing lacks cam-1:\n%s", out)
	}
	out = mustRun(t, data, "camera", "list", "--bbox", "-73.8,40.6,-73.7,40.65")
	if strings.Contains(out, "cam-1") {
		t.Fatalf("bbox listing outside the camera shows it:\n%s", out)
	}
	mustRun(t, data, "camera", "delete", "cam-1")
	if code, _, errs := run(t, data, "", "camera", "get", "cam-1"); code == 0 || !strings.Contains(errs, "not") {
		t.Fatalf("get after delete: exit %d, %q", code, errs)
	}
}

func TestInvalidInputLeavesStoreUnchanged(t *testing.T) {
	data := t.TempDir()
	mustRun(t, data, "org", "create", "--id", "pd", "--name", "Police", "--kind", "police")
	mustRun(t, data, "camera", "create", "--id", "cam-1", "--name", "A", "--org", "pd", "--lat", "40.7", "--lon", "-73.9", "--stream-url", "rtsp://10.0.0.1/s")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad latitude", []string{"camera", "create", "--name", "B", "--org", "pd", "--lat", "91", "--lon", "0", "--stream-url", "rtsp://h/s"}, "lat"},
		{"unknown org", []string{"camera", "create", "--name", "B", "--org", "nope", "--lat", "1", "--lon", "1", "--stream-url", "rtsp://h/s"}, "nope"},
		{"malformed url", []string{"camera", "create", "--name", "B", "--org", "pd", "--lat", "1", "--lon", "1", "--stream-url", "http://h/s"}, "stream_url"},
		{"duplicate id", []string{"camera", "create", "--id", "cam-1", "--name", "B", "--org", "pd", "--lat", "1", "--lon", "1", "--stream-url", "rtsp://h/s"}, "already"},
		{"bad bbox", []string{"camera", "list", "--bbox", "1,2,3"}, "minLon,minLat,maxLon,maxLat"},
		{"bad org kind", []string{"org", "create", "--id", "x", "--name", "X", "--kind", "army"}, "kind"},
		{"short password", []string{"user", "create", "--username", "u", "--org", "pd", "--password", "short"}, "12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := run(t, data, "", tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure")
			}
			if !strings.Contains(errs, tt.want) {
				t.Fatalf("stderr %q does not mention %q", errs, tt.want)
			}
		})
	}
	out := mustRun(t, data, "camera", "list", "--json")
	if n := strings.Count(out, `"id":`); n != 1 {
		t.Fatalf("store has %d cameras after failed commands, want 1:\n%s", n, out)
	}
	if out := mustRun(t, data, "org", "list"); strings.Contains(out, "army") {
		t.Fatalf("failed org create left a row:\n%s", out)
	}
}

func TestSimCityImport(t *testing.T) {
	data := t.TempDir()
	csv := filepath.Join(t.TempDir(), "city.csv")
	mustRun(t, data, "sim", "city", "--cameras", "500", "--out", csv, "--create-orgs")
	b, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(b, []byte("\n")); lines != 501 {
		t.Fatalf("city CSV has %d lines, want header + 500", lines)
	}
	if !bytes.Contains(b, []byte(",rtsp://")) {
		t.Fatalf("city CSV has no stream URLs")
	}
	simCSV := mustRun(t, data, "sim", "city", "--cameras", "3", "--sim-url", "rtsp://127.0.0.1:9554/")
	if !strings.Contains(simCSV, "rtsp://127.0.0.1:9554/sim/3") {
		t.Fatalf("--sim-url not applied:\n%s", simCSV)
	}
	out := mustRun(t, data, "camera", "import", csv)
	if !strings.Contains(out, "500 rows: 500 imported, 0 skipped") {
		t.Fatalf("import report: %s", out)
	}
	// Importing again conflicts on every id: all or nothing imports none.
	code, out, _ := run(t, data, "", "camera", "import", csv)
	if code == 0 || !strings.Contains(out, "0 imported") || !strings.Contains(out, "row 1") {
		t.Fatalf("re-import: exit %d, report %s", code, out)
	}
}

func TestImportReportsRowAndField(t *testing.T) {
	data := t.TempDir()
	mustRun(t, data, "org", "create", "--id", "pd", "--name", "Police", "--kind", "police")
	csv := "id,name,org_id,lat,lon,stream_url\n" +
		"c1,One,pd,40.7,-73.9,rtsp://10.0.0.1/s\n" +
		"c2,Two,pd,400,-73.9,rtsp://10.0.0.2/s\n" +
		"c3,Three,pd,40.7,-73.9,rtsp://10.0.0.3/s\n"
	path := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, data, "", "camera", "import", path)
	if code == 0 || !strings.Contains(out, "row 2") || !strings.Contains(out, "lat") || !strings.Contains(out, "0 imported") {
		t.Fatalf("all-or-nothing: exit %d\n%s%s", code, out, errs)
	}
	if list := mustRun(t, data, "camera", "list", "--json"); strings.Contains(list, `"id"`) {
		t.Fatalf("all-or-nothing import left cameras:\n%s", list)
	}
	code, out, _ = run(t, data, csv, "camera", "import", "--skip-bad", "-")
	if code != 0 || !strings.Contains(out, "2 imported, 1 skipped") {
		t.Fatalf("skip-bad from stdin: exit %d\n%s", code, out)
	}
}

func TestUserCreateAndPasswd(t *testing.T) {
	data := t.TempDir()
	mustRun(t, data, "org", "create", "--id", "fd", "--name", "Fire", "--kind", "fire")
	out := mustRun(t, data, "user", "create", "--username", "chief", "--org", "fd", "--role", "investigator")
	if !regexp.MustCompile(`password: \S{12,} \(shown once\)`).MatchString(out) {
		t.Fatalf("generated password not shown:\n%s", out)
	}
	code, out, errs := run(t, data, "correct horse battery\n", "user", "passwd", "chief", "--password-stdin")
	if code != 0 || strings.Contains(out, "shown once") {
		t.Fatalf("passwd from stdin: exit %d\n%s%s", code, out, errs)
	}
	if out := mustRun(t, data, "user", "list", "--org", "fd"); !strings.Contains(out, "investigator") {
		t.Fatalf("user list:\n%s", out)
	}
}

// syncBuffer is an io.Writer safe for a command running on another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCmd runs a long-lived command until the test ends and waits until its
// standard output matches re, returning the submatches.
func startCmd(t *testing.T, environ []string, re *regexp.Regexp, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	// Tests run in parallel packages: WebRTC takes a free UDP port, not 8189.
	environ = append(environ, "ARGUS_LIVE_WEBRTC_UDP_PORT=0")
	go func() {
		done <- Run(ctx, Env{Args: args, Stdin: strings.NewReader(""), Stdout: out, Stderr: errb, Environ: environ})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("argus %s exited %d after stop\n%s", strings.Join(args, " "), code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("argus %s did not stop within 10 s of its context", strings.Join(args, " "))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case code := <-done:
			t.Fatalf("argus %s exited %d early\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errb)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("argus %s: no %q within 30 s\nstdout: %s\nstderr: %s", strings.Join(args, " "), re, out, errb)
	return nil
}

func login(t *testing.T, base, user, pw string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.Token == "" {
		t.Fatalf("login %s: status %d, err %v", user, resp.StatusCode, err)
	}
	return body.Token
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestServeBootstrapsAdminFromEnvironment(t *testing.T) {
	data := t.TempDir()
	m := startCmd(t, []string{"ARGUS_ADMIN_PASSWORD=a-long-admin-password"}, regexp.MustCompile(`serving (http://\S+)`),
		"--data", data, "--log-level", "warn", "serve", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0")
	base := m[1]
	if code, _ := get(t, base+"/healthz", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code, _ := get(t, base+"/api/v1/cameras", ""); code != 401 {
		t.Fatalf("unauthenticated camera list: %d, want 401", code)
	}
	tok := login(t, base, "admin", "a-long-admin-password")
	if code, b := get(t, base+"/api/v1/me", tok); code != 200 || !strings.Contains(string(b), `"admin"`) {
		t.Fatalf("me: %d %s", code, b)
	}
}

func TestServePrintsGeneratedAdminPasswordOnce(t *testing.T) {
	data := t.TempDir()
	re := regexp.MustCompile(`(?s)password (\S+).*serving (http://\S+)`)
	m := startCmd(t, nil, re, "--data", data, "--log-level", "warn", "serve", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0")
	login(t, m[2], "admin", m[1])
}

func TestDemoServesCityAndSimulator(t *testing.T) {
	data := t.TempDir()
	re := regexp.MustCompile(`(?s)API:\s+(http://[^/\s]+)/api/v1/.*RTSP:\s+rtsp://USER:PASSWORD@(\S+)/cameras.*cameras:\s+(\d+) simulated, (rtsp://\S+).*\n\s+admin\s+(\S+)`)
	m := startCmd(t, nil, re, "--data", data, "--log-level", "warn", "demo", "--listen", "127.0.0.1:0", "--sim-listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--cameras", "24")
	base, rtspAddr, count, simURL, adminPW := m[1], m[2], m[3], m[4], m[5]
	if count != "24" {
		t.Fatalf("demo reports %s cameras", count)
	}
	tok := login(t, base, "admin", adminPW)
	code, b := get(t, base+"/api/v1/cameras?limit=100", tok)
	if code != 200 {
		t.Fatalf("camera list: %d %s", code, b)
	}
	var page struct {
		Items []struct {
			ID             string `json:"id"`
			OrgID          string `json:"org_id"`
			RetentionBytes int64  `json:"retention_bytes"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	orgs := map[string]bool{}
	for _, c := range page.Items {
		orgs[c.OrgID] = true
		if c.RetentionBytes != demo.CameraQuota {
			t.Errorf("demo camera %s has retention_bytes %d, want the demo quota %d", c.ID, c.RetentionBytes, demo.CameraQuota)
		}
	}
	if len(page.Items) != 24 || len(orgs) < 3 {
		t.Fatalf("demo city has %d cameras in %d organisations, want 24 in several", len(page.Items), len(orgs))
	}
	// Every demo user signs in with the saved credentials.
	f, err := os.Open(filepath.Join(data, "demo-credentials.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	users := 0
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		login(t, base, fields[0], fields[1])
		users++
	}
	if users < 5 {
		t.Fatalf("%d demo users, want one per role", users)
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") != "" {
			t.Fatal("ffprobe not installed")
		}
		t.Skip("ffprobe not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", simURL).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "h264,640,360") {
		t.Fatalf("ffprobe %s: %v\n%s", simURL, err, out)
	}
	// The node re-serves a camera over RTSP to a signed-in user.
	reserve := "rtsp://admin:" + adminPW + "@" + rtspAddr + "/cameras/cam-0000001"
	out, err = exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", reserve).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "h264,640,360") {
		t.Fatalf("ffprobe of the RTSP re-serve: %v\n%s", err, out)
	}
}
