package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/hub"
)

// DefaultMaxTranscodes is the default cap on a node's transcodes: each
// one is an ffmpeg decoding and encoding a whole camera.
const DefaultMaxTranscodes = 4

// TranscodeHub is the part of the stream hub a Transcoder reads the main
// streams from; *hub.Hub implements it.
type TranscodeHub interface {
	Attach(ctx context.Context, cameraID string, opts hub.ReaderOptions) (*hub.Reader, error)
}

// TranscoderConfig configures a Transcoder.
type TranscoderConfig struct {
	// Hub supplies the main streams. Required.
	Hub TranscodeHub
	// Max caps the transcodes running at once on the node; 0 means
	// DefaultMaxTranscodes.
	Max int
	// FFmpeg is the ffmpeg binary; "" means "ffmpeg" on PATH.
	FFmpeg string
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the argus_live_transcodes gauge; nil registers
	// none.
	Registerer prometheus.Registerer
}

// Transcoder makes H.264 transcodes of H.265 cameras for browsers: its Run
// is the hub source of the TranscodeSuffix streams. Each transcode reads
// the camera's main stream from the hub (one reader named "transcode"),
// pipes it through an ffmpeg subprocess (libx264, veryfast, zerolatency,
// no B-frames) and writes the H.264 back with the input's timestamps.
// Build it with NewTranscoder; it is safe for concurrent use.
type Transcoder struct {
	cfg   TranscoderConfig
	log   *slog.Logger
	gauge prometheus.Gauge

	mu      sync.Mutex
	running map[string]bool // camera ids
}

// NewTranscoder returns a Transcoder for cfg.
func NewTranscoder(cfg TranscoderConfig) (*Transcoder, error) {
	switch {
	case cfg.Hub == nil:
		return nil, errors.New("transcoder: config needs a hub")
	case cfg.Max < 0:
		return nil, fmt.Errorf("transcoder: negative max transcodes %d", cfg.Max)
	}
	if cfg.Max == 0 {
		cfg.Max = DefaultMaxTranscodes
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	t := &Transcoder{
		cfg: cfg,
		log: cfg.Logger,
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argus_live_transcodes",
			Help: "H.264 transcodes of H.265 cameras for browsers running on this node (one ffmpeg each).",
		}),
		running: make(map[string]bool),
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(t.gauge); err != nil {
			return nil, fmt.Errorf("transcoder: register metrics: %w", err)
		}
	}
	return t, nil
}

// Running returns the number of transcodes running.
func (t *Transcoder) Running() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.running)
}

// Admit reports whether a browser may be served the transcode of
// cameraID: it runs already, or the node has room for one more. It
// returns an EUNAVAILABLE *argus.Error when the node runs Max transcodes
// of other cameras. (Two viewers of two new cameras may both be admitted
// for the last place; Run then refuses the second.)
func (t *Transcoder) Admit(cameraID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running[cameraID] || len(t.running) < t.cfg.Max {
		return nil
	}
	return t.capped()
}

func (t *Transcoder) capped() error {
	return argus.Errorf(argus.EUNAVAILABLE, "transcode capacity reached: this node transcodes %d H.265 cameras for browsers already; retry later or give the camera an H.264 sub-stream", t.cfg.Max)
}

func (t *Transcoder) take(cameraID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running[cameraID] {
		return fmt.Errorf("camera %s is transcoded already", cameraID)
	}
	if len(t.running) >= t.cfg.Max {
		return t.capped()
	}
	t.running[cameraID] = true
	t.gauge.Inc()
	return nil
}

func (t *Transcoder) release(cameraID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, cameraID)
	t.gauge.Dec()
}

// ffmpegArgs transcode Annex-B H.265 on stdin into Annex-B H.264 on
// stdout, one output frame per input frame in presentation order (no
// B-frames, no frame rate conversion), an access unit delimiter in front of
// every frame and the parameter sets in front of every keyframe.
var ffmpegArgs = []string{
	"-hide_banner", "-loglevel", "error",
	"-fflags", "nobuffer", "-flags", "low_delay", "-probesize", "32", "-analyzeduration", "0", "-threads", "1",
	"-f", "hevc", "-i", "pipe:0",
	"-an", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "main", "-pix_fmt", "yuv420p",
	"-g", "50", "-bf", "0", "-x264-params", "aud=1:repeat-headers=1", "-fps_mode", "passthrough",
	"-f", "h264", "pipe:1",
}

// Run transcodes cameraID's main stream into sink until ctx is cancelled;
// it is the hub source of cameraID+TranscodeSuffix. It returns an
// EUNAVAILABLE *argus.Error at once when the node runs Max transcodes.
func (t *Transcoder) Run(parent context.Context, cameraID string, sink hub.Sink) error {
	ctx := parent
	if err := t.take(cameraID); err != nil {
		return err
	}
	defer t.release(cameraID)
	rd, err := t.cfg.Hub.Attach(ctx, cameraID, hub.ReaderOptions{Name: "transcode"})
	if err != nil {
		return fmt.Errorf("attach camera %s: %w", cameraID, err)
	}
	defer rd.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cmd := exec.CommandContext(ctx, t.cfg.FFmpeg, ffmpegArgs...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("ffmpeg stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("ffmpeg stdout: %w", err)
	}
	stderr := &tailBuffer{max: 2048}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ffmpeg: %w", err)
	}
	t.log.Info("transcode started", "camera", cameraID, "pid", cmd.Process.Pid)

	var pend pending
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stdin.Close()
		if err := feedFFmpeg(ctx, rd, stdin, &pend); err != nil {
			cancel(err)
		}
	})
	werr := writeUnits(stdout, sink, &pend)
	cancel(werr)
	_ = stdin.Close()
	waitErr := cmd.Wait()
	wg.Wait()
	t.log.Info("transcode stopped", "camera", cameraID)
	if parent.Err() != nil {
		return nil // stopped: the stream has no reader left
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("transcode camera %s: %w", cameraID, cause)
	}
	if waitErr != nil {
		return fmt.Errorf("ffmpeg: %w: %s", waitErr, strings.TrimSpace(stderr.String()))
	}
	return werr
}

// feedFFmpeg writes the main stream's H.265 frames to w as Annex-B, from
// the first keyframe on, and notes their timestamps in pend, until ctx
// ends or reading fails.
func feedFFmpeg(ctx context.Context, rd *hub.Reader, w io.Writer, pend *pending) error {
	var buf []byte
	started := false
	for {
		u, err := rd.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read main stream: %w", err)
		}
		v := u.Media.Video()
		if v == nil || u.Track < 0 || u.Track >= len(u.Media.Tracks) || u.Media.Tracks[u.Track] != v {
			continue
		}
		if v.Codec != hub.CodecH265 {
			return fmt.Errorf("main stream is %s, not H.265", v.Codec)
		}
		if started = started || u.Key; !started {
			continue // the decoder would drop it, and its timestamp with it
		}
		buf = buf[:0]
		for _, n := range u.NALUs {
			buf = append(buf, 0, 0, 0, 1)
			buf = append(buf, n...)
		}
		pend.push(u.PTS, u)
		if _, err := w.Write(buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("write to ffmpeg: %w", err)
		}
	}
}

// pending holds the timestamps of the frames given to ffmpeg and not yet
// back. ffmpeg returns them in presentation order, one for one, so each
// output frame takes the earliest PTS pending.
type pending struct {
	mu    sync.Mutex
	units []*hub.Unit // sorted by PTS
}

func (p *pending) push(pts int64, u *hub.Unit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.units, pts, func(u *hub.Unit, pts int64) int { return cmpInt(u.PTS, pts) })
	p.units = slices.Insert(p.units, i, u)
}

func (p *pending) pop() (*hub.Unit, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.units) == 0 {
		return nil, false
	}
	u := p.units[0]
	p.units = slices.Delete(p.units, 0, 1)
	return u, true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeUnits reads ffmpeg's Annex-B H.264 from r and writes one hub unit
// per access unit into sink, with the PTS and wall clock of the input
// frame it came from, until r ends.
func writeUnits(r io.Reader, sink hub.Sink, pend *pending) error {
	var (
		media *hub.Media
		au    [][]byte
	)
	flush := func() error {
		if len(au) == 0 {
			return nil
		}
		frame := au
		au = nil
		in, ok := pend.pop()
		if !ok {
			return errors.New("ffmpeg returned more frames than it was given")
		}
		var sps, pps []byte
		key, size := false, 0
		for _, n := range frame {
			size += len(n)
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			case h264.NALUTypeIDR:
				key = true
			}
		}
		if sps != nil && pps != nil && (media == nil || !bytes.Equal(sps, media.Tracks[0].SPS) || !bytes.Equal(pps, media.Tracks[0].PPS)) {
			var s h264.SPS
			if err := s.Unmarshal(sps); err != nil {
				return fmt.Errorf("ffmpeg's SPS: %w", err)
			}
			media = &hub.Media{Tracks: []*hub.Track{{
				Codec: hub.CodecH264, ClockRate: 90000, SPS: sps, PPS: pps, Width: s.Width(), Height: s.Height(),
			}}}
			sink.SetMedia(media)
		}
		if media == nil {
			return nil // nothing decodable before the first parameter sets
		}
		sink.WriteUnit(&hub.Unit{Media: media, PTS: in.PTS, DTS: in.PTS, Wall: in.Wall, Key: key, NALUs: frame, Size: size})
		return nil
	}
	var s annexBSplitter
	err := s.split(r, func(n []byte) error {
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			return flush()
		}
		au = append(au, n)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// annexBSplitter cuts an Annex-B byte stream into NAL units as it arrives.
type annexBSplitter struct{ buf []byte }

// split calls f with every NAL unit read from r (without start codes; each
// a fresh slice f may keep) until r ends.
func (s *annexBSplitter) split(r io.Reader, f func([]byte) error) error {
	chunk := make([]byte, 64<<10)
	for {
		n, rerr := r.Read(chunk)
		s.buf = append(s.buf, chunk[:n]...)
		// Every NAL unit followed by a start code is complete.
		start := -1
		for i := 0; i+2 < len(s.buf); i++ {
			if s.buf[i] != 0 || s.buf[i+1] != 0 || s.buf[i+2] != 1 {
				continue
			}
			if start >= 0 {
				end := i
				for end > start && s.buf[end-1] == 0 {
					end--
				}
				if end > start {
					if err := f(bytes.Clone(s.buf[start:end])); err != nil {
						return err
					}
				}
			}
			start = i + 3
			i += 2
		}
		if start >= 0 {
			// Keep the unfinished NAL unit, with its start code.
			s.buf = append(s.buf[:0], s.buf[start-3:]...)
		}
		if rerr != nil {
			if len(s.buf) > 3 && s.buf[0] == 0 && s.buf[1] == 0 && s.buf[2] == 1 {
				if err := f(bytes.Clone(s.buf[3:])); err != nil {
					return err
				}
			}
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
