package node_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"argus/internal/segment"
	"argus/internal/sim"
)

// These tests run the real argus binary as a child process, because what
// they check — SIGKILL in the middle of a segment, SIGTERM's deadline — is
// about the process, not about an object inside it.

// buildArgus compiles cmd/argus into a temporary directory.
func buildArgus(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "argus")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/argus").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func needFFprobe(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") != "" {
			t.Fatal("ffprobe is not installed")
		}
		t.Skip("ffprobe is not installed")
	}
}

// recordingNode prepares a data directory with cameras recording from a
// fresh simulator and returns the binary, the data directory and the
// recordings root.
func recordingNode(t *testing.T, cameras int) (bin, data, root string) {
	t.Helper()
	s, err := sim.New(sim.Config{Cameras: cameras, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	bin = buildArgus(t)
	data = t.TempDir()
	cli := func(args ...string) {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), bin, append([]string{"--data", data, "--log-level", "warn"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("argus %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cli("org", "create", "--id", "city", "--name", "City", "--kind", "city")
	for n := 1; n <= cameras; n++ {
		cli("camera", "create", "--id", "cam-"+string(rune('0'+n)), "--name", "Sim", "--org", "city",
			"--lat", "40.7", "--lon", "-73.9", "--stream-url", s.URL(n), "--recording=true")
	}
	return bin, data, filepath.Join(data, "recordings")
}

// serve starts `argus serve` on data and returns the process.
func serve(t *testing.T, bin, data string, stderr *bytes.Buffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "--data", data, "--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "ARGUS_ADMIN_PASSWORD=process-test-password", "ARGUS_LIVE_WEBRTC_UDP_PORT=0")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// files returns the segment files under root, partial ones included.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".mp4") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// waitFragments waits until every camera has a partial segment with at
// least n complete fragments.
func waitFragments(t *testing.T, root string, cameras, n int) {
	t.Helper()
	waitPartials(t, root, cameras, n, time.Time{})
}

// waitPartials waits until cameras partial segments that start after
// after hold at least n complete fragments each.
func waitPartials(t *testing.T, root string, cameras, n int, after time.Time) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ready := 0
		for _, p := range files(t, root) {
			if !strings.HasSuffix(p, ".part.mp4") {
				continue
			}
			if ref, err := segment.Parse(strings.TrimPrefix(p, root+string(filepath.Separator))); err != nil || !ref.Start.After(after) {
				continue
			}
			f, err := os.Open(p)
			if err != nil {
				continue
			}
			st, _ := f.Stat()
			sc, err := segment.Scan(f, st.Size())
			f.Close()
			if err == nil && sc.Fragments >= n {
				ready++
			}
		}
		if ready >= cameras {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %d partial segments with %d fragments within 60 s: %v", cameras, n, files(t, root))
}

// probe checks that ffprobe decodes every frame of file without a message.
func probe(t *testing.T, file string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 || !strings.HasPrefix(string(out), "h264,") {
		t.Errorf("ffprobe %s: %v\nstdout: %s\nstderr: %s", file, err, out, stderr.String())
	}
}

func TestRecorderSurvivesSIGKILL(t *testing.T) {
	needFFprobe(t)
	const cameras = 2
	bin, data, root := recordingNode(t, cameras)
	var log1 bytes.Buffer
	p := serve(t, bin, data, &log1)
	waitFragments(t, root, cameras, 3)
	killed := time.Now()
	if err := p.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.Wait()

	var log2 bytes.Buffer
	p2 := serve(t, bin, data, &log2)
	// The repair runs before recording starts: once new partials exist,
	// the old ones are finished.
	waitPartials(t, root, cameras, 1, killed)
	_ = p2.Process.Signal(syscall.SIGTERM)
	_ = p2.Wait()

	repaired := 0
	for _, f := range files(t, root) {
		if strings.HasSuffix(f, ".part.mp4") {
			t.Errorf("partial segment left after a clean stop: %s", f)
			continue
		}
		probe(t, f)
		ref, err := segment.Parse(strings.TrimPrefix(f, root+string(filepath.Separator)))
		if err != nil {
			t.Errorf("segment name: %v", err)
			continue
		}
		if ref.Start.Before(killed) && ref.End().Before(killed.Add(time.Second)) {
			repaired++
			// At most the fragment in flight is lost: a fragment is one
			// 2 s GOP of the simulator's clip, and the node needs a moment
			// to start.
			if loss := killed.Sub(ref.End()); loss > 3*time.Second {
				t.Errorf("%s ends %v before the kill; more than the last fragment was lost", f, loss)
			}
		}
	}
	if repaired != cameras {
		t.Errorf("%d repaired segments from before the kill, want %d; files %v\nlog after restart:\n%s", repaired, cameras, files(t, root), log2.String())
	}
	if !strings.Contains(log2.String(), "repaired a partial segment") {
		t.Errorf("the restart did not report its repairs:\n%s", log2.String())
	}
}

func TestCleanShutdownClosesSegmentsWithin5s(t *testing.T) {
	needFFprobe(t)
	const cameras = 2
	bin, data, root := recordingNode(t, cameras)
	var logb bytes.Buffer
	p := serve(t, bin, data, &logb)
	waitFragments(t, root, cameras, 2)
	start := time.Now()
	if err := p.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("argus serve exited with %v after SIGTERM\n%s", err, logb.String())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v, want at most 5 s", took)
	}
	fs := files(t, root)
	if len(fs) < cameras {
		t.Fatalf("%d segments, want at least %d", len(fs), cameras)
	}
	for _, f := range fs {
		if strings.HasSuffix(f, ".part.mp4") {
			t.Errorf("partial segment left after SIGTERM: %s", f)
			continue
		}
		probe(t, f)
	}
}
