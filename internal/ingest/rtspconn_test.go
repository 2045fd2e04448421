package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/pion/rtp"

	"argus/internal/hub"
)

// unitOut is one access unit a depacketiser produced.
type unitOut struct {
	ts uint32
	au [][]byte
}

// gortsplibUnits depacketises pkts with gortsplib's decoder, the reference.
func gortsplibUnits(tb testing.TB, codec hub.Codec, pkts []*rtp.Packet) []unitOut {
	tb.Helper()
	var out []unitOut
	var decode func(*rtp.Packet) ([][]byte, error)
	if codec == hub.CodecH265 {
		d := &rtph265.Decoder{}
		if err := d.Init(); err != nil {
			tb.Fatal(err)
		}
		decode = d.Decode
	} else {
		d := &rtph264.Decoder{PacketizationMode: 1}
		if err := d.Init(); err != nil {
			tb.Fatal(err)
		}
		decode = d.Decode
	}
	for _, p := range pkts {
		au, err := decode(p)
		if err == nil {
			out = append(out, unitOut{p.Timestamp, au})
		}
	}
	return out
}

// ownUnits depacketises pkts with argus's depacketiser, each packet
// marshalled and parsed as it would come off the wire.
func ownUnits(tb testing.TB, codec hub.Codec, pkts []*rtp.Packet) ([]unitOut, []error) {
	tb.Helper()
	d := &depacketiser{h265: codec == hub.CodecH265}
	var out []unitOut
	var errs []error
	emit := func(ts uint32, au [][]byte) { out = append(out, unitOut{ts, au}) }
	for _, p := range pkts {
		raw, err := p.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		h, payload, err := parseRTP(raw)
		if err != nil {
			tb.Fatal(err)
		}
		if err := d.push(h, payload, emit); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errs
}

// encodeClip packetises every frame of c (timestamps 3600 apart) with
// gortsplib's encoder at payload size mtu.
func encodeClip(tb testing.TB, c *clip, mtu int) []*rtp.Packet {
	tb.Helper()
	var enc interface {
		Encode([][]byte) ([]*rtp.Packet, error)
	}
	if c.codec == hub.CodecH265 {
		e := &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: mtu}
		if err := e.Init(); err != nil {
			tb.Fatal(err)
		}
		enc = e
	} else {
		e := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: mtu, PacketizationMode: 1}
		if err := e.Init(); err != nil {
			tb.Fatal(err)
		}
		enc = e
	}
	var pkts []*rtp.Packet
	for i, f := range c.frames {
		ps, err := enc.Encode(f.au)
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range ps {
			p.Timestamp = uint32(i * 3600)
		}
		pkts = append(pkts, ps...)
	}
	return pkts
}

// TestDepacketiserMatchesGortsplib: on the test clips, packetised with
// single NAL unit packets, aggregates and fragments, argus's depacketiser
// returns exactly the access units gortsplib's decoders return.
func TestDepacketiserMatchesGortsplib(t *testing.T) {
	for _, name := range []string{"h264-160x96-bframes.h264", "h265-160x96-bframes.hevc"} {
		c := loadClip(t, name)
		for _, mtu := range []int{1460, 300, 40} {
			t.Run(fmt.Sprintf("%s/mtu%d", c.codec, mtu), func(t *testing.T) {
				pkts := encodeClip(t, c, mtu)
				want := gortsplibUnits(t, c.codec, pkts)
				got, errs := ownUnits(t, c.codec, pkts)
				if len(errs) > 0 {
					t.Fatalf("errors: %v", errs)
				}
				if len(got) != len(c.frames) || len(want) != len(c.frames) {
					t.Fatalf("%d units (gortsplib %d) of %d frames", len(got), len(want), len(c.frames))
				}
				for i := range got {
					if got[i].ts != want[i].ts || !slices.EqualFunc(got[i].au, want[i].au, bytes.Equal) {
						t.Fatalf("unit %d differs: ts %d/%d, %d/%d NAL units", i, got[i].ts, want[i].ts, len(got[i].au), len(want[i].au))
					}
				}
			})
		}
	}
}

// rawPacket builds an RTP packet by hand (h: header fields; extras adds a
// CSRC, an extension and padding).
func rawPacket(seq uint16, ts uint32, marker, extras bool, payload ...[]byte) []byte {
	b := []byte{0x80, 96, byte(seq >> 8), byte(seq), byte(ts >> 24), byte(ts >> 16), byte(ts >> 8), byte(ts), 1, 2, 3, 4}
	if marker {
		b[1] |= 0x80
	}
	if extras {
		b[0] |= 0x20 | 0x10 | 1                     // padding, extension, one CSRC
		b = append(b, 9, 9, 9, 9)                   // CSRC
		b = append(b, 0xbe, 0xde, 0, 1, 1, 2, 3, 4) // one word of extension
	}
	for _, p := range payload {
		b = append(b, p...)
	}
	if extras {
		b = append(b, 0, 0, 3)
	}
	return b
}

// TestDepacketiserCases covers what cameras do that the clips do not.
func TestDepacketiserCases(t *testing.T) {
	idr := []byte{0x65, 1, 2, 3}
	slice := []byte{0x41, 4, 5}
	sps := []byte{0x67, 0x42, 0, 0x1e}
	tests := []struct {
		name    string
		h265    bool
		pkts    [][]byte
		want    []unitOut
		wantErr error
	}{{
		name: "single NAL units, marker ends the unit",
		pkts: [][]byte{rawPacket(1, 100, false, false, sps), rawPacket(2, 100, true, false, idr)},
		want: []unitOut{{100, [][]byte{sps, idr}}},
	}, {
		name: "no marker bits: the next timestamp ends the unit",
		pkts: [][]byte{rawPacket(1, 100, false, false, idr), rawPacket(2, 200, false, false, slice), rawPacket(3, 300, false, false, slice)},
		want: []unitOut{{100, [][]byte{idr}}, {200, [][]byte{slice}}},
	}, {
		name: "CSRC, header extension and padding are skipped",
		pkts: [][]byte{rawPacket(1, 100, true, true, idr)},
		want: []unitOut{{100, [][]byte{idr}}},
	}, {
		name: "STAP-A with zero padding",
		pkts: [][]byte{rawPacket(1, 100, true, false, []byte{24, 0, 4}, sps, []byte{0, 4}, idr, []byte{0, 0, 0})},
		want: []unitOut{{100, [][]byte{sps, idr}}},
	}, {
		name: "FU-A reassembled",
		pkts: [][]byte{
			rawPacket(1, 100, false, false, []byte{0x7c, 0x85, 1}),
			rawPacket(2, 100, false, false, []byte{0x7c, 0x05, 2}),
			rawPacket(3, 100, true, false, []byte{0x7c, 0x45, 3}),
		},
		want: []unitOut{{100, [][]byte{{0x65, 1, 2, 3}}}},
	}, {
		name: "FU-A that lost a packet is dropped, the rest of the unit kept",
		pkts: [][]byte{
			rawPacket(1, 100, false, false, sps),
			rawPacket(2, 100, false, false, []byte{0x7c, 0x85, 1}),
			rawPacket(4, 100, false, false, []byte{0x7c, 0x45, 3}),
			rawPacket(5, 100, true, false, slice),
		},
		want:    []unitOut{{100, [][]byte{sps, slice}}},
		wantErr: errFragmentLost,
	}, {
		name: "FU-A without its start is ignored",
		pkts: [][]byte{rawPacket(1, 100, false, false, []byte{0x7c, 0x05, 2}), rawPacket(2, 100, true, false, []byte{0x7c, 0x45, 3}), rawPacket(3, 200, true, false, idr)},
		want: []unitOut{{200, [][]byte{idr}}},
	}, {
		name: "Annex-B inside a packet is split",
		pkts: [][]byte{rawPacket(1, 100, true, false, []byte{0, 0, 0, 1}, sps, []byte{0, 0, 1}, idr)},
		want: []unitOut{{100, [][]byte{sps, idr}}},
	}, {
		name:    "FU-B is refused",
		pkts:    [][]byte{rawPacket(1, 100, true, false, []byte{29, 0x85, 0, 1, 2})},
		wantErr: errUnsupportedPT,
	}, {
		name: "H.265 aggregation and fragmentation",
		h265: true,
		pkts: [][]byte{
			rawPacket(1, 100, false, false, []byte{48 << 1, 1, 0, 3, 0x40, 1, 9, 0, 3, 0x42, 1, 8}),
			rawPacket(2, 100, false, false, []byte{49 << 1, 1, 0x80 | 19, 1, 2}),
			rawPacket(3, 100, true, false, []byte{49 << 1, 1, 0x40 | 19, 3}),
		},
		want: []unitOut{{100, [][]byte{{0x40, 1, 9}, {0x42, 1, 8}, {19 << 1, 1, 1, 2, 3}}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &depacketiser{h265: tt.h265}
			var got []unitOut
			var errs []error
			for _, raw := range tt.pkts {
				h, payload, err := parseRTP(raw)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.push(h, payload, func(ts uint32, au [][]byte) { got = append(got, unitOut{ts, au}) }); err != nil {
					errs = append(errs, err)
				}
			}
			if tt.wantErr != nil && !slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, tt.wantErr) }) {
				t.Errorf("errors %v, want %v", errs, tt.wantErr)
			}
			if tt.wantErr == nil && len(errs) > 0 {
				t.Errorf("errors %v", errs)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d units, want %d: %v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i].ts != tt.want[i].ts || !slices.EqualFunc(got[i].au, tt.want[i].au, bytes.Equal) {
					t.Errorf("unit %d = %d % x, want %d % x", i, got[i].ts, got[i].au, tt.want[i].ts, tt.want[i].au)
				}
			}
		})
	}
}

// TestDepacketiserUnitsAreOwned: a unit handed out does not change when
// the depacketiser goes on (the hub keeps units for the GOP cache).
func TestDepacketiserUnitsAreOwned(t *testing.T) {
	d := &depacketiser{}
	var units [][][]byte
	emit := func(_ uint32, au [][]byte) { units = append(units, au) }
	for i := range 3 {
		h, p, err := parseRTP(rawPacket(uint16(i), uint32(i), true, false, []byte{0x41, byte(i), byte(i)}))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.push(h, p, emit); err != nil {
			t.Fatal(err)
		}
	}
	for i, au := range units {
		if want := []byte{0x41, byte(i), byte(i)}; !bytes.Equal(au[0], want) {
			t.Errorf("unit %d = % x, want % x", i, au[0], want)
		}
	}
}

// TestParseRTPRefusesMalformed: short packets, other versions and padding
// larger than the packet are errors, not panics.
func TestParseRTPRefusesMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":           {0x80, 96, 0},
		"version 1":       rawPacket(1, 1, true, false, []byte{0x41})[:12:12],
		"padding too big": append(rawPacket(1, 1, true, false, []byte{0x41}), 200),
		"zero padding":    append(rawPacket(1, 1, true, false, []byte{0x41}), 0),
		"extension cut":   {0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "version 1" {
				b[0] = 0x40
			} else if name != "short" && name != "extension cut" {
				b[0] |= 0x20
			}
			if _, _, err := parseRTP(b); err == nil {
				t.Error("no error")
			}
		})
	}
}

// scriptedCam is a camera on a real TCP socket whose RTSP answers the test
// scripts, for what gortsplib's server does not do: redirects, channels of
// its own choosing, packets before the PLAY answer, requests of its own,
// short session timeouts.
type scriptedCam struct {
	ln    net.Listener
	clip  *clip
	pkts  []*rtp.Packet // the clip's packets, frame i's with timestamp i*3600
	mu    sync.Mutex
	log   []string // methods and URLs received, in order
	ka    []string // keep-alive requests received after PLAY, with their Session
	teard chan struct{}
	// answered is closed when the client answered the camera's request.
	answered chan struct{}
}

func startScriptedCam(t *testing.T, c *clip) *scriptedCam {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sc := &scriptedCam{ln: ln, clip: c, pkts: encodeClip(t, c, 1000), teard: make(chan struct{}), answered: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				stop := context.AfterFunc(ctx, func() { conn.Close() })
				defer stop()
				sc.serve(ctx, conn)
			})
		}
	})
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	return sc
}

func (sc *scriptedCam) url(path string) string { return "rtsp://" + sc.ln.Addr().String() + path }

// serve answers one connection: /old redirects to /cam; /cam plays the
// clip on channels 6-7 with a 2 s session timeout.
func (sc *scriptedCam) serve(ctx context.Context, conn net.Conn) {
	br := bufio.NewReader(conn)
	var wmu sync.Mutex
	write := func(b []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		_, _ = conn.Write(b)
	}
	respond := func(req *base.Request, code base.StatusCode, h base.Header, body []byte) {
		if h == nil {
			h = base.Header{}
		}
		h["CSeq"] = req.Header["CSeq"]
		b, _ := (&base.Response{StatusCode: code, StatusMessage: "x", Header: h, Body: body}).Marshal()
		write(b)
	}
	playing := false
	for {
		peek, err := br.Peek(1)
		if err != nil {
			return
		}
		if peek[0] == 'R' { // the client's answer to our request
			var res base.Response
			if res.Unmarshal(br) == nil && res.StatusCode == base.StatusOK {
				close(sc.answered)
			}
			continue
		}
		var req base.Request
		if err := req.Unmarshal(br); err != nil {
			return
		}
		sc.mu.Lock()
		sc.log = append(sc.log, string(req.Method)+" "+req.URL.Path)
		if playing && (req.Method == base.GetParameter || req.Method == base.Options) {
			sc.ka = append(sc.ka, string(req.Method)+" "+strings.Join(req.Header["Session"], ""))
		}
		sc.mu.Unlock()
		switch {
		case req.Method == base.Options:
			respond(&req, base.StatusOK, base.Header{"Public": base.HeaderValue{"DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, OPTIONS"}}, nil)
		case req.Method == base.Describe && req.URL.Path == "/old":
			respond(&req, base.StatusFound, base.Header{"Location": base.HeaderValue{sc.url("/cam")}}, nil)
		case req.Method == base.Describe:
			sdp := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" +
				"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:track1\r\n"
			respond(&req, base.StatusOK, base.Header{
				"Content-Type": base.HeaderValue{"application/sdp"},
				"Content-Base": base.HeaderValue{sc.url("/cam/")},
			}, []byte(sdp))
		case req.Method == base.Setup:
			if req.URL.Path != "/cam/track1" {
				respond(&req, base.StatusNotFound, nil, nil)
				continue
			}
			respond(&req, base.StatusOK, base.Header{
				"Transport": base.HeaderValue{"RTP/AVP/TCP;unicast;interleaved=6-7"},
				"Session":   base.HeaderValue{"s3cr3t;timeout=2"},
			}, nil)
		case req.Method == base.Play:
			// Packets before the answer, as some cameras send them.
			playing = true
			go sc.stream(ctx, write)
			time.Sleep(50 * time.Millisecond)
			respond(&req, base.StatusOK, nil, nil)
			// A request of the camera's own.
			r, _ := (&base.Request{Method: base.GetParameter, URL: req.URL, Header: base.Header{"CSeq": base.HeaderValue{"1"}}}).Marshal()
			write(r)
		case req.Method == base.Teardown:
			respond(&req, base.StatusOK, nil, nil)
			close(sc.teard)
			return
		case req.Method == base.GetParameter:
			respond(&req, base.StatusOK, nil, nil)
		}
	}
}

// stream sends the clip in a loop on channel 6 at 100 fps, with an RTCP
// packet on channel 7 now and then.
func (sc *scriptedCam) stream(ctx context.Context, write func([]byte)) {
	pkts := sc.pkts
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var ts uint32
	var seq uint16
	for i := 0; ; i++ {
		var frame []byte
		for _, p := range pkts {
			if p.Timestamp != uint32(i%len(sc.clip.frames))*3600 {
				continue
			}
			q := *p
			q.Timestamp, q.SequenceNumber = ts, seq
			seq++
			raw, _ := q.Marshal()
			frame = append(frame, '$', 6, byte(len(raw)>>8), byte(len(raw)))
			frame = append(frame, raw...)
		}
		if i%10 == 0 {
			frame = append(frame, '$', 7, 0, 8, 0x81, 201, 0, 1, 1, 2, 3, 4)
		}
		ts += 3600
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		write(frame)
	}
}

// TestTCPClientScriptedCamera: argus's TCP client follows a redirect, uses
// the Content-Base, takes the interleaved channels the camera chose, keeps
// the packets that came before the PLAY answer from breaking the
// handshake, answers the camera's own request, keeps the session alive
// with GET_PARAMETER (which the camera listed) at half its 2 s timeout,
// delivers the clip's frames, and ends with a TEARDOWN.
func TestTCPClientScriptedCamera(t *testing.T) {
	c := loadClip(t, "h264-160x96-bframes.h264")
	sc := startScriptedCam(t, c)
	h := newHarness(t, staticResolver(Target{URL: sc.url("/old")}), nil)
	sink := &recSink{}
	stop := h.run(t, "cam", sink)
	waitFor(t, 10*time.Second, "frames", func() bool { return sink.count(hub.CodecH264) >= 2*len(c.frames) })
	waitFor(t, 10*time.Second, "the client's answer", func() bool {
		select {
		case <-sc.answered:
			return true
		default:
			return false
		}
	})
	waitFor(t, 10*time.Second, "two keep-alives", func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return len(sc.ka) >= 2
	})
	stop()
	select {
	case <-sc.teard:
	case <-time.After(5 * time.Second):
		t.Fatal("no TEARDOWN")
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, k := range sc.ka {
		if k != "GET_PARAMETER s3cr3t" {
			t.Errorf("keep-alive %q, want GET_PARAMETER with the session", k)
		}
	}
	if want := []string{"OPTIONS /old", "DESCRIBE /old", "OPTIONS /cam", "DESCRIBE /cam", "SETUP /cam/track1", "PLAY /cam/"}; !slices.Equal(sc.log[:len(want)], want) {
		t.Errorf("requests %q, want them to begin %q", sc.log, want)
	}
	_, units, _ := sink.snapshot()
	units = videoUnits(units)
	if !units[0].Key {
		t.Error("first unit is not a keyframe")
	}
	for i := 1; i < len(units); i++ {
		if units[i].DTS <= units[i-1].DTS {
			t.Fatalf("unit %d: DTS %d after %d", i, units[i].DTS, units[i-1].DTS)
		}
	}
}

// watchSink is a recSink that says whether the stream is watched, as the
// hub's stream does.
type watchSink struct {
	recSink
	watched atomic.Bool
}

func (w *watchSink) Watched() bool { return w.watched.Load() }

// medianGap returns the median time between consecutive units' arrival.
func medianGap(us []*hub.Unit) time.Duration {
	var gaps []time.Duration
	for i := 1; i < len(us); i++ {
		gaps = append(gaps, us[i].Wall.Sub(us[i-1].Wall))
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// TestBatchedReadsWhileUnwatched: while nobody watches a camera, the TCP
// play loop reads it in batches (units arrive in bursts) and loses nothing;
// once watched, it reads every frame as it comes.
func TestBatchedReadsWhileUnwatched(t *testing.T) {
	c := loadClip(t, "h264-160x96-bframes.h264")
	cam := startTestCam(t, camConfig{clips: []*clip{c}, fps: 50})
	h := newHarness(t, staticResolver(Target{URL: cam.url}), nil)
	sink := &watchSink{}
	h.run(t, "cam", sink)
	waitFor(t, 10*time.Second, "100 units", func() bool { return sink.count(hub.CodecH264) >= 100 })
	_, units, _ := sink.snapshot()
	batched := videoUnits(units)
	sink.watched.Store(true)
	n := len(batched)
	waitFor(t, 10*time.Second, "100 more units", func() bool { return sink.count(hub.CodecH264) >= n+100 })
	_, units, _ = sink.snapshot()
	all := videoUnits(units)
	// Skip the units of the batch that was read when the switch came.
	live := all[n+15:]
	if g := medianGap(batched[5:]); g > 2*time.Millisecond {
		t.Errorf("unwatched: median gap between units %v, want bursts (under 2 ms)", g)
	}
	if g := medianGap(live); g < 5*time.Millisecond {
		t.Errorf("watched: median gap between units %v, want frames as they come (~20 ms)", g)
	}
	for i := 1; i < len(all); i++ {
		if d := all[i].DTS - all[i-1].DTS; d <= 0 || d > 2*3600 {
			t.Fatalf("unit %d: DTS step %d: a frame was lost or reordered", i, d)
		}
	}
}

// TestQuietCameraHoldsNoPooledBuffer: an unwatched camera that goes quiet
// does not keep a pooled read buffer while the loop waits for it (at city
// scale, thousands of quiet cameras would hold 256 KiB each).
func TestQuietCameraHoldsNoPooledBuffer(t *testing.T) {
	client, camera := net.Pipe()
	defer camera.Close()
	l := newLender(batchBufferSize)
	rc := &rtspConn{nc: client, rd: client, pool: l, timeout: time.Second, done: make(chan struct{})}
	var packets atomic.Int32
	errc := make(chan error, 1)
	go func() {
		errc <- rc.read(func(byte, []byte) { packets.Add(1) }, func() bool { return true })
	}()
	go func() { _, _ = camera.Write(append([]byte{'$', 0, 0, 12}, rawPacket(1, 1, true, false)...)) }()
	waitFor(t, 5*time.Second, "the packet", func() bool { return packets.Load() == 1 })
	waitFor(t, 5*time.Second, "a probe that found nothing to give its buffer back", func() bool {
		return l.loans.Load() >= 2 && l.out.Load() == 0
	})
	// The loop still reads what comes next.
	go func() { _, _ = camera.Write(append([]byte{'$', 0, 0, 12}, rawPacket(2, 2, true, false)...)) }()
	waitFor(t, 5*time.Second, "the second packet", func() bool { return packets.Load() == 2 })
	rc.close()
	if err := <-errc; err == nil {
		t.Error("read ended without an error after close")
	}
}

// releaseSink is a hub stream's only reader that holds each video unit
// for a while, as the recorder does until its fragment is written, then
// copies the unit's bytes and gives it back (hub.Unit.Release).
type releaseSink struct {
	recSink
	mu     sync.Mutex
	held   []*hub.Unit
	copies [][]byte // each video unit's slices, joined, when given back
	keys   []bool
	lent   []bool // whether the unit came with Recycle
}

func (r *releaseSink) Watched() bool { return false }

func (r *releaseSink) WriteUnit(u *hub.Unit) {
	if u.Media.Tracks[u.Track].Codec != hub.CodecH264 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, u.Key)
	r.lent = append(r.lent, u.Recycle != nil)
	r.held = append(r.held, u)
	if len(r.held) > 20 {
		old := r.held[0]
		r.held = r.held[1:]
		r.copies = append(r.copies, sliceBytes(old.NALUs))
		old.Release()
	}
}

// sliceBytes returns the slice NAL units (types 1 and 5) of an H.264 access
// unit, joined.
func sliceBytes(au [][]byte) []byte {
	var b []byte
	for _, n := range au {
		if t := n[0] & 0x1f; t == 1 || t == 5 {
			b = append(b, n...)
		}
	}
	return b
}

// TestRecordedFramesRecycled: a camera whose only reader gives each unit
// back gets its frame buffers reused (keyframes and units with parameter
// sets excepted), and every frame still holds what the camera sent, in
// order, when the reader is done with it: a buffer is never reused while a
// unit holds it.
func TestRecordedFramesRecycled(t *testing.T) {
	c := loadClip(t, "h264-160x96-bframes.h264")
	cam := startTestCam(t, camConfig{clips: []*clip{c}, fps: 50})
	h := newHarness(t, staticResolver(Target{URL: cam.url}), nil)
	sink := &releaseSink{}
	h.run(t, "cam", sink)
	waitFor(t, 15*time.Second, "300 units", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.copies) >= 300
	})
	sink.mu.Lock()
	defer sink.mu.Unlock()
	want := make([][]byte, len(c.frames))
	for i, f := range c.frames {
		want[i] = sliceBytes(f.au)
	}
	start := -1
	for i := range want {
		if bytes.Equal(want[i], sink.copies[0]) {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatal("the first unit is no frame of the clip")
	}
	lent := 0
	for i, got := range sink.copies {
		if w := want[(start+i)%len(want)]; !bytes.Equal(got, w) {
			t.Fatalf("unit %d: %d bytes of slices differ from the clip's frame %d (%d bytes): a recycled buffer was overwritten", i, len(got), (start+i)%len(want), len(w))
		}
		if sink.lent[i] {
			lent++
			if sink.keys[i] {
				t.Errorf("unit %d: a keyframe came with Recycle", i)
			}
		}
	}
	if lent < len(sink.copies)*3/4 {
		t.Errorf("%d of %d units came with Recycle, want most", lent, len(sink.copies))
	}
}

// TestNapRaisesLowat: while the play loop naps, the camera's socket does
// not signal each arriving packet (SO_RCVLOWAT raised well past a batch),
// and once the nap ends it is back to 1 for the read.
func TestNapRaisesLowat(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	raw, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	lowat := func() int {
		var v int
		_ = raw.Control(func(fd uintptr) {
			v, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT)
		})
		return v
	}
	rc := &rtspConn{nc: nc, rd: nc, raw: raw, done: make(chan struct{})}
	napped := make(chan bool, 1)
	go func() { napped <- rc.nap() }()
	waitFor(t, 5*time.Second, "SO_RCVLOWAT raised during the nap", func() bool { return lowat() >= batchBufferSize })
	close(rc.done)
	if <-napped {
		t.Error("nap reported a full nap after close")
	}
	if v := lowat(); v != 1 {
		t.Errorf("SO_RCVLOWAT after the nap = %d, want 1", v)
	}
}
