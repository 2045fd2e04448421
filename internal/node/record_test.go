package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/config"
	"argus/internal/node"
	"argus/internal/segment"
	"argus/internal/sim"
)

// TestServeRecordsEverySimulatedCamera runs a node against the simulator
// and checks what the media core promises: every camera with recording on
// is recorded; every finished segment is H.264 of the clip's size with a
// frame count within 1 % (or one frame) of duration × fps; consecutive
// segments of a camera join without a gap larger than one frame interval.
func TestServeRecordsEverySimulatedCamera(t *testing.T) {
	needFFprobe(t)
	const (
		cameras = 3
		fps     = 25
	)
	s, err := sim.New(sim.Config{Cameras: cameras, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.RTSP.Listen = "127.0.0.1:0"
	cfg.Live.WebRTC.UDPPort = 0
	cfg.Recording.SegmentDuration = 2 * time.Second
	ctx, cancel := context.WithCancel(t.Context())
	n, err := node.New(ctx, node.Options{Config: cfg, Environ: []string{"ARGUS_ADMIN_PASSWORD=record-test-password"}})
	if err != nil {
		t.Fatal(err)
	}
	st := n.Store()
	if err := st.CreateOrg(ctx, &argus.Org{ID: "city", Name: "City", Kind: argus.OrgCity}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= cameras+1; i++ {
		c := &argus.Camera{ID: fmt.Sprintf("cam-%d", i), Name: "Sim", OrgID: "city", Lat: 40.7, Lon: -73.9,
			StreamURL: s.URL(min(i, cameras)), Recording: i <= cameras, RetentionDays: 1}
		if err := st.CreateCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()

	root := cfg.RecordingsDir()
	// Wait for at least three finished segments per recording camera.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := 0
		for i := 1; i <= cameras; i++ {
			if len(finished(t, root, fmt.Sprintf("cam-%d", i))) >= 3 {
				ready++
			}
		}
		if ready == cameras {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cameras did not record three segments each within 60 s: %v", files(t, root))
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("node stopped with %v", err)
	}
	if got := finished(t, root, fmt.Sprintf("cam-%d", cameras+1)); len(got) != 0 {
		t.Errorf("camera with recording off has segments: %v", got)
	}
	frame := time.Second / fps
	for i := 1; i <= cameras; i++ {
		refs := finished(t, root, fmt.Sprintf("cam-%d", i))
		for j, ref := range refs {
			file := filepath.Join(root, filepath.FromSlash(ref.Path()))
			codec, w, h, frames := probeFrames(t, file)
			if codec != "h264" || w != 640 || h != 360 {
				t.Errorf("%s: %s %dx%d, want h264 640x360", file, codec, w, h)
			}
			want := ref.Duration.Seconds() * fps
			if diff := float64(frames) - want; diff > max(1, want/100) || diff < -max(1, want/100) {
				t.Errorf("%s: %d frames in %v, want %.0f ± 1%%", file, frames, ref.Duration, want)
			}
			if j > 0 {
				gap := ref.Start.Sub(refs[j-1].End())
				if gap > frame || gap < -frame {
					t.Errorf("%s starts %v after the previous segment ends; want at most one frame (%v)", file, gap, frame)
				}
			}
		}
	}
}

// finished returns a camera's finished segments in time order.
func finished(t *testing.T, root, camera string) []segment.Ref {
	t.Helper()
	var refs []segment.Ref
	for _, p := range files(t, filepath.Join(root, camera)) {
		if strings.HasSuffix(p, ".part.mp4") {
			continue
		}
		rel, _ := filepath.Rel(root, p)
		ref, err := segment.Parse(filepath.ToSlash(rel))
		if err != nil {
			t.Fatalf("segment name %s: %v", rel, err)
		}
		refs = append(refs, ref)
	}
	return refs
}

func probeFrames(t *testing.T, file string) (codec string, w, h, frames int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var r struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v %s", file, err, out)
	}
	frames, _ = strconv.Atoi(r.Streams[0].NbReadFrames)
	return r.Streams[0].CodecName, r.Streams[0].Width, r.Streams[0].Height, frames
}
