// Command playbackload drives the playback benchmark (issue #5,
// bench/playback.sh) in three steps:
//
//	playbackload gen -data DIR -cameras 24 -days 30
//	playbackload seek -url http://127.0.0.1:8080 -user admin -password … -n 1000
//	playbackload export -url … -user admin -password … -data DIR -n 3
//
// gen lays out a month of one-minute segments per camera in argus's
// segment store (DIR/recordings): one real segment per camera is recorded
// from a simulator clip (package synth), then hard-linked under every name
// of the span, so a million files cost a million links, not a million
// recordings. seek times, through the HTTP API of a node serving DIR, the
// timeline of a day, a playlist from a random instant and the first part
// it names (to its first byte and in full), reporting p50/p90/p99/max.
// export times evidence exports of one camera-hour against ffmpeg
// concatenating the same segment files with -c copy.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"argus/internal/record"
	"argus/internal/record/synth"
	"argus/internal/segment"
	"argus/internal/segment/fsstore"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: playbackload gen|seek|export [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "seek":
		err = seek(os.Args[2:])
	case "export":
		err = export(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want gen, seek or export", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "playbackload:", err)
		os.Exit(1)
	}
}

// cameraID names camera i (from 1) as the benchmark does.
func cameraID(i int) string { return fmt.Sprintf("cam-%02d", i) }

// gen writes the recordings of cameras × days.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	data := fs.String("data", "", "argus data directory (recordings go to DATA/recordings)")
	cameras := fs.Int("cameras", 24, "cameras cam-01…")
	days := fs.Int("days", 30, "days of one-minute segments, ending at the current hour")
	clipName := fs.String("clip", "360p-gop2", "simulator clip")
	workers := fs.Int("workers", 4, "cameras linked at once")
	_ = fs.Parse(args)
	if *data == "" {
		return fmt.Errorf("gen: -data is required")
	}
	start := time.Now()
	clip, err := synth.Load(*clipName)
	if err != nil {
		return err
	}
	// The template lives beside the recordings, on the same file system
	// (hard links), but outside the store argus reads.
	tdir := filepath.Join(*data, "template")
	tmpl, err := fsstore.Open(tdir, fsstore.Options{})
	if err != nil {
		return err
	}
	root := filepath.Join(*data, "recordings")
	end := time.Now().UTC().Truncate(time.Hour)
	n := int64(*days) * 24 * 60
	var (
		mu    sync.Mutex
		errs  []error
		files int64
		wg    sync.WaitGroup
		slots = make(chan struct{}, max(1, *workers))
	)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var size int64
	var durMs int64
	for i := 1; i <= *cameras; i++ {
		cam := cameraID(i)
		if _, err := synth.Record(ctx, tmpl, cam, clip, t0, time.Minute, record.Options{SegmentDuration: time.Minute}); err != nil {
			return fmt.Errorf("record template of %s: %w", cam, err)
		}
		refs, err := tmpl.List(ctx, cam, t0.Add(-time.Hour), t0.Add(2*time.Hour))
		if err != nil {
			return err
		}
		if len(refs) != 1 || refs[0].Partial {
			return fmt.Errorf("template of %s: want one finished segment, have %v", cam, refs)
		}
		src := filepath.Join(tdir, filepath.FromSlash(refs[0].Path()))
		st, err := os.Stat(src)
		if err != nil {
			return err
		}
		size, durMs = st.Size(), refs[0].Duration.Milliseconds()
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			k, err := link(root, src, cam, end.UnixMilli()-n*durMs, durMs, n)
			mu.Lock()
			defer mu.Unlock()
			files += k
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	fmt.Printf("generated %d segment files (%d cameras × %d days of %d ms segments, %.2f MB each, hard links) in %.1f s\n",
		files, *cameras, *days, durMs, float64(size)/1e6, time.Since(start).Seconds())
	fmt.Printf("recorded span: %s .. %s\n", time.UnixMilli(end.UnixMilli()-n*durMs).UTC().Format(time.RFC3339), end.Format(time.RFC3339))
	return nil
}

// link hard-links src under the names of n consecutive segments of camera
// from start (ms), each durMs long, making each hour directory once.
func link(root, src, camera string, start, durMs, n int64) (int64, error) {
	lastDir := ""
	for k := range n {
		r := segment.Ref{Camera: camera, Start: time.UnixMilli(start + k*durMs).UTC(), Duration: time.Duration(durMs) * time.Millisecond}
		p := filepath.Join(root, filepath.FromSlash(r.Path()))
		if d := filepath.Dir(p); d != lastDir {
			if err := os.MkdirAll(d, 0o750); err != nil {
				return k, err
			}
			lastDir = d
		}
		if err := os.Link(src, p); err != nil {
			return k, fmt.Errorf("link %s: %w", p, err)
		}
	}
	return n, nil
}

// client is an authenticated API client.
type client struct {
	base  string
	token string
	http  *http.Client
}

func newClient(base, user, password string) (*client, error) {
	c := &client{base: strings.TrimSuffix(base, "/"), http: &http.Client{Timeout: 5 * time.Minute}}
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := c.http.Post(c.base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("login: %d %s", resp.StatusCode, b)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	c.token = out.Token
	return c, nil
}

// do sends a request and returns the response with its body unread; any
// status other than want is an error.
func (c *client) do(method, u string, body []byte, want int) (*http.Response, error) {
	if !strings.HasPrefix(u, "http") {
		u = c.base + u
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp, nil
}

// get returns the body of a GET and how long the whole response took.
func (c *client) get(u string) ([]byte, time.Duration, error) {
	start := time.Now()
	resp, err := c.do(http.MethodGet, u, nil, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, time.Since(start), err
}

// firstByte GETs u and returns the time to the first byte of the body,
// the time to all of it, and its size.
func (c *client) firstByte(u string) (first, full time.Duration, n int64, err error) {
	start := time.Now()
	resp, err := c.do(http.MethodGet, u, nil, http.StatusOK)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 && n == 0 {
			first = time.Since(start)
		}
		n += int64(k)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, n, rerr
		}
	}
	if n == 0 {
		return 0, 0, 0, fmt.Errorf("GET %s: empty body", u)
	}
	return first, time.Since(start), n, nil
}

// timeline is the part of a timeline response the benchmark reads.
type timeline struct {
	Ranges []struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"ranges"`
	Gaps []json.RawMessage `json:"gaps"`
}

func timelineURL(camera string, from, to time.Time) string {
	return "/api/v1/cameras/" + camera + "/timeline?from=" + url.QueryEscape(from.UTC().Format(time.RFC3339Nano)) +
		"&to=" + url.QueryEscape(to.UTC().Format(time.RFC3339Nano))
}

// sample collects latencies of one kind.
type sample struct {
	name string
	ms   []float64
}

func (s *sample) add(d time.Duration) { s.ms = append(s.ms, float64(d.Microseconds())/1000) }

// q returns the p quantile (nearest rank) of the sorted sample.
func (s *sample) q(p float64) float64 {
	return s.ms[min(len(s.ms)-1, int(p*float64(len(s.ms))))]
}

func (s *sample) print() {
	slices.Sort(s.ms)
	fmt.Printf("%-22s %6d %9.2f %9.2f %9.2f %9.2f\n", s.name, len(s.ms), s.q(0.5), s.q(0.9), s.q(0.99), s.ms[len(s.ms)-1])
}

// seek measures random seeks.
func seek(args []string) error {
	fs := flag.NewFlagSet("seek", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "argus base URL")
	user := fs.String("user", "admin", "username")
	password := fs.String("password", os.Getenv("ARGUS_ADMIN_PASSWORD"), "password")
	n := fs.Int("n", 1000, "seeks")
	cameras := fs.Int("cameras", 24, "cameras cam-01…")
	window := fs.Duration("window", 10*time.Minute, "range of each playlist")
	waitRetention := fs.Duration("wait-retention", 10*time.Minute, "wait at most this long for the node's first retention pass before measuring (0: do not wait)")
	seed := fs.Uint64("seed", 1, "random seed")
	_ = fs.Parse(args)
	c, err := newClient(*base, *user, *password)
	if err != nil {
		return err
	}
	if *waitRetention > 0 {
		if err := c.waitRetention(*waitRetention); err != nil {
			return err
		}
	}

	// The whole month of one camera: cold (the node has not summarised
	// it yet), then warm. Its ranges give the recorded span.
	now := time.Now().UTC()
	from, to := now.Truncate(time.Hour).Add(-30*24*time.Hour-time.Hour), now
	body, cold, err := c.get(timelineURL("cam-01", from, to))
	if err != nil {
		return err
	}
	var tl timeline
	if err := json.Unmarshal(body, &tl); err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	if len(tl.Ranges) == 0 {
		return fmt.Errorf("timeline of cam-01 from %s to %s: nothing recorded", from, to)
	}
	spanFrom, spanTo := tl.Ranges[0].From, tl.Ranges[len(tl.Ranges)-1].To
	warm := &sample{name: "timeline_30d_warm"}
	for range 20 {
		_, d, err := c.get(timelineURL("cam-01", from, to))
		if err != nil {
			return err
		}
		warm.add(d)
	}
	slices.Sort(warm.ms)
	fmt.Printf("recorded span of cam-01: %s .. %s (%d ranges, %d gaps, %d bytes of JSON)\n",
		spanFrom.Format(time.RFC3339), spanTo.Format(time.RFC3339), len(tl.Ranges), len(tl.Gaps), len(body))
	fmt.Printf("timeline of 30 days, one camera: cold %.2f ms, warm median of 20 %.2f ms\n",
		float64(cold.Microseconds())/1000, warm.q(0.5))

	rng := rand.New(rand.NewPCG(*seed, 2))
	span := spanTo.Sub(spanFrom) - *window
	var (
		day      = &sample{name: "timeline_day"}
		playlist = &sample{name: "playlist"}
		first    = &sample{name: "part_first_byte"}
		full     = &sample{name: "part_full"}
		total    = &sample{name: "seek_total"}
		partSize int64
	)
	for range *n {
		cam := cameraID(1 + rng.IntN(*cameras))
		t := spanFrom.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Millisecond)
		d0 := t.Truncate(24 * time.Hour)
		_, dday, err := c.get(timelineURL(cam, d0, d0.Add(24*time.Hour)))
		if err != nil {
			return err
		}
		day.add(dday)
		plURL := c.base + "/api/v1/cameras/" + cam + "/playback/index.m3u8?from=" + url.QueryEscape(t.Format(time.RFC3339Nano)) +
			"&to=" + url.QueryEscape(t.Add(*window).Format(time.RFC3339Nano)) + "&reason=bench"
		pl, dpl, err := c.get(plURL)
		if err != nil {
			return err
		}
		playlist.add(dpl)
		partURL, err := firstPart(plURL, pl)
		if err != nil {
			return err
		}
		dfirst, dfull, size, err := c.firstByte(partURL)
		if err != nil {
			return err
		}
		first.add(dfirst)
		full.add(dfull)
		total.add(dpl + dfirst)
		partSize += size
	}
	fmt.Printf("%d seeks over %d cameras, playlists of %v, first part %.0f KB on average\n", *n, *cameras, *window, float64(partSize)/float64(*n)/1e3)
	fmt.Printf("%-22s %6s %9s %9s %9s %9s\n", "ms", "n", "p50", "p90", "p99", "max")
	for _, s := range []*sample{day, playlist, first, full, total} {
		s.print()
	}
	verdict := func(what string, s *sample, target float64) {
		ok := "met"
		if s.q(0.99) >= target {
			ok = "MISSED"
		}
		fmt.Printf("target: %s p99 %.2f ms < %.0f ms: %s\n", what, s.q(0.99), target, ok)
	}
	verdict("timeline of a day", day, 100)
	verdict("first media byte (part)", first, 200)
	verdict("seek total (playlist + first byte)", total, 200)
	return nil
}

// waitRetention waits until the node has finished a retention pass (it
// lists every camera's recordings at start), so that it does not run
// beside the measurements, and reports how long the pass took.
func (c *client) waitRetention(limit time.Duration) error {
	start := time.Now()
	for {
		b, _, err := c.get("/metrics")
		if err != nil {
			return err
		}
		count, sum := metric(b, "argus_retention_pass_duration_seconds_count"), metric(b, "argus_retention_pass_duration_seconds_sum")
		if count >= 1 {
			fmt.Printf("first retention pass: %.2f s (waited %.1f s for it)\n", sum/count, time.Since(start).Seconds())
			return nil
		}
		if time.Since(start) > limit {
			return fmt.Errorf("no retention pass finished within %v", limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// metric returns the value of an unlabelled sample in a Prometheus text
// exposition, 0 when absent.
func metric(b []byte, name string) float64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// firstPart returns the absolute URL of the first media part a playlist
// names.
func firstPart(plURL string, pl []byte) (string, error) {
	base, err := url.Parse(plURL)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(pl)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ref, err := url.Parse(line)
		if err != nil {
			return "", fmt.Errorf("playlist part %q: %w", line, err)
		}
		return base.ResolveReference(ref).String(), nil
	}
	return "", fmt.Errorf("playlist names no part:\n%s", pl)
}

// export compares evidence exports with ffmpeg -c copy.
func export(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "argus base URL")
	user := fs.String("user", "admin", "username")
	password := fs.String("password", os.Getenv("ARGUS_ADMIN_PASSWORD"), "password")
	data := fs.String("data", "", "the node's data directory (the ffmpeg peer reads DATA/recordings)")
	camera := fs.String("camera", "cam-01", "camera exported")
	n := fs.Int("n", 3, "exports (each a different hour) and ffmpeg runs")
	ffmpeg := fs.String("ffmpeg", "ffmpeg", "ffmpeg binary; empty skips the peer")
	days := fs.Int("days", 30, "days recorded, ending at the current hour (the exported hours lie inside them)")
	_ = fs.Parse(args)
	c, err := newClient(*base, *user, *password)
	if err != nil {
		return err
	}
	end := time.Now().UTC().Truncate(time.Hour)
	var ours, peer []float64
	fmt.Println("files: argus's MP4 outputs; ffmpeg's input segments (its output is one MP4)")
	fmt.Printf("%-24s %-8s %6s %9s %9s %9s\n", "hour", "tool", "files", "MB", "s", "MB/s")
	for i := range *n {
		// 03:00 after the start of 1, 8, 15… days back, inside the span.
		back := 1 + 7*i%max(1, *days-1)
		from := end.Add(-time.Duration(back)*24*time.Hour + 3*time.Hour)
		to := from.Add(time.Hour)
		mb, secs, files, err := c.exportOnce(*camera, from, to)
		if err != nil {
			return err
		}
		ours = append(ours, mb/secs)
		fmt.Printf("%-24s %-8s %6d %9.1f %9.3f %9.1f\n", from.Format(time.RFC3339), "argus", files, mb, secs, mb/secs)
		if *ffmpeg == "" || *data == "" {
			continue
		}
		mb, secs, files, err = concat(*ffmpeg, filepath.Join(*data, "recordings", filepath.FromSlash(segment.HourDir(*camera, from))))
		if err != nil {
			return err
		}
		peer = append(peer, mb/secs)
		fmt.Printf("%-24s %-8s %6d %9.1f %9.3f %9.1f\n", from.Format(time.RFC3339), "ffmpeg", files, mb, secs, mb/secs)
	}
	slices.Sort(ours)
	fmt.Printf("export throughput, median of %d: argus %.1f MB/s", len(ours), ours[len(ours)/2])
	if len(peer) > 0 {
		slices.Sort(peer)
		m := peer[len(peer)/2]
		fmt.Printf(", ffmpeg -c copy %.1f MB/s, argus/ffmpeg %.2f", m, ours[len(ours)/2]/m)
	}
	fmt.Println()
	return nil
}

// exportOnce runs one export of camera over [from, to) and returns the
// MB of its MP4 files, the seconds from the request to done, and the
// number of files.
func (c *client) exportOnce(camera string, from, to time.Time) (float64, float64, int, error) {
	body, _ := json.Marshal(map[string]any{"camera_ids": []string{camera}, "from": from, "to": to, "reason": "bench"})
	start := time.Now()
	resp, err := c.do(http.MethodPost, "/api/v1/exports", body, http.StatusAccepted)
	if err != nil {
		return 0, 0, 0, err
	}
	var job struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Error string `json:"error"`
		Files []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"files"`
	}
	err = json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("export: %w", err)
	}
	for job.State != "done" {
		if job.State == "failed" {
			return 0, 0, 0, fmt.Errorf("export %s failed: %s", job.ID, job.Error)
		}
		if time.Since(start) > 10*time.Minute {
			return 0, 0, 0, fmt.Errorf("export %s still %s after 10 minutes", job.ID, job.State)
		}
		time.Sleep(20 * time.Millisecond)
		b, _, err := c.get("/api/v1/exports/" + job.ID)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := json.Unmarshal(b, &job); err != nil {
			return 0, 0, 0, fmt.Errorf("export %s: %w", job.ID, err)
		}
	}
	secs := time.Since(start).Seconds()
	var size int64
	files := 0
	for _, f := range job.Files {
		if strings.HasSuffix(f.Name, ".mp4") {
			size += f.Size
			files++
		}
	}
	return float64(size) / 1e6, secs, files, nil
}

// concat runs ffmpeg's concat demuxer with -c copy over the finished
// segments of one hour directory and returns the MB of its output, the
// seconds it took and the number of segments.
func concat(ffmpeg, hourDir string) (float64, float64, int, error) {
	entries, err := os.ReadDir(hourDir)
	if err != nil {
		return 0, 0, 0, err
	}
	tmp, err := os.MkdirTemp("", "playbackload-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(tmp)
	var list strings.Builder
	files := 0
	for _, e := range entries { // ReadDir sorts by name; starts have equal digit counts
		if strings.HasSuffix(e.Name(), ".mp4") && !strings.HasSuffix(e.Name(), ".part.mp4") {
			fmt.Fprintf(&list, "file '%s'\n", filepath.Join(hourDir, e.Name()))
			files++
		}
	}
	listFile, out := filepath.Join(tmp, "list.txt"), filepath.Join(tmp, "out.mp4")
	if err := os.WriteFile(listFile, []byte(list.String()), 0o600); err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", listFile, "-c", "copy", "-y", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, 0, 0, fmt.Errorf("ffmpeg: %w: %s", err, b)
	}
	secs := time.Since(start).Seconds()
	st, err := os.Stat(out)
	if err != nil {
		return 0, 0, 0, err
	}
	return float64(st.Size()) / 1e6, secs, files, nil
}
