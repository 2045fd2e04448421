package whep_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
	"argus/internal/live/whep"
)

// TestInstantStartFromCachedGOP watches a camera with a 4 s GOP that a
// recorder already reads: the first frame must be the cached keyframe
// (older than the offer: nobody waited for the camera's next one), with
// SPS in front, within 500 ms of the offer; the viewer must then reach
// the live edge at once, every frame carrying an increasing SEI stamp and
// an increasing RTP timestamp. DELETE ends the session, which the
// registry records from start to end.
func TestInstantStartFromCachedGOP(t *testing.T) {
	c := newChain(t, "360p-gop4", nil)
	c.warmUp(t, 1500*time.Millisecond)
	v := newViewer(t, viewerOptions{})
	offer := v.offer(true)

	start := time.Now()
	answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "127.0.0.1:5000", offer)
	if err != nil {
		t.Fatal(err)
	}
	v.answer(answer)
	v.waitFrame(5*time.Second, "the first frame", 0, func(frame) bool { return true })
	first := v.received()[0]
	if !first.key || !first.sps {
		t.Fatalf("first frame: keyframe %v, SPS %v; want a keyframe with its SPS", first.key, first.sps)
	}
	t.Logf("first frame after %s, stamped %s before the offer", first.at.Sub(start), start.Sub(first.stamp))
	if d := first.at.Sub(start); d > 500*time.Millisecond {
		t.Errorf("first frame %s after the offer, want at most 500ms", d)
	}
	if first.stamp.IsZero() || !first.stamp.Before(start.Add(-time.Second)) {
		t.Errorf("first frame's stamp %v is not from the cached GOP (offer at %v)", first.stamp, start)
	}

	// The live edge: a frame stamped after the offer that arrives at most
	// 300 ms after its stamp, within a second of the offer.
	edge := v.waitFrame(5*time.Second, "a live frame", 0, func(f frame) bool {
		return f.stamp.After(start) && f.at.Sub(f.stamp) < 300*time.Millisecond
	})
	if d := v.received()[edge].at.Sub(start); d > time.Second {
		t.Errorf("the live edge was reached %s after the offer, want within 1s", d)
	}
	// Another 25 frames (a second) of live video.
	v.waitFrame(5*time.Second, "a second of live video", edge+25, func(frame) bool { return true })
	frames := v.received()
	for i := 1; i < len(frames); i++ {
		p, f := frames[i-1], frames[i]
		if f.stamp.IsZero() || !f.stamp.After(p.stamp) {
			t.Fatalf("frame %d: stamp %v does not follow %v", i, f.stamp, p.stamp)
		}
		if int32(f.ts-p.ts) <= 0 {
			t.Fatalf("frame %d: RTP timestamp %d does not follow %d", i, f.ts, p.ts)
		}
	}
	if lag := frames[len(frames)-1].at.Sub(frames[len(frames)-1].stamp); lag > 300*time.Millisecond {
		t.Errorf("the last frame arrived %s after its stamp, want under 300ms", lag)
	}

	started, _ := c.log.find(id)
	if started == nil || started.UserID != "alice" || started.CameraID != camera || started.Protocol != live.ProtoWHEP ||
		started.Client != "127.0.0.1:5000" {
		t.Fatalf("registry start = %+v", started)
	}
	if err := c.whep.Delete(t.Context(), id, alice); err != nil {
		t.Fatal(err)
	}
	_, ended := c.log.find(id)
	if ended == nil || ended.Reason != "closed by viewer" || ended.End.Before(ended.Start) {
		t.Fatalf("registry end = %+v, want reason %q", ended, "closed by viewer")
	}
	if n := c.whep.Sessions(); n != 0 {
		t.Errorf("%d sessions after DELETE, want 0", n)
	}
	waitFor(t, 5*time.Second, "the viewer's connection to close", v.closed)
	if err := c.whep.Delete(t.Context(), id, alice); errCode(err) != argus.ENOTFOUND {
		t.Errorf("second DELETE: %v, want %s", err, argus.ENOTFOUND)
	}
}

// TestSessionEnds ends sessions from outside: revocation through the
// registry and Close both tear the peer connection down and record the
// end with its reason; a connection that never comes up times out.
func TestSessionEnds(t *testing.T) {
	revoked := errors.New("share revoked")
	for _, tc := range []struct {
		name   string
		end    func(c *chain, id string)
		reason string
	}{
		{"revocation", func(c *chain, id string) {
			if n := c.reg.Close(func(s live.Session) bool { return s.ID == id }, revoked); n != 1 {
				t.Errorf("registry closed %d sessions, want 1", n)
			}
		}, "share revoked"},
		{"revocation without a cause", func(c *chain, id string) {
			c.reg.Close(func(s live.Session) bool { return s.ID == id }, nil)
		}, "revoked"},
		{"close", func(c *chain, _ string) { c.whep.Close() }, "shutdown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, "360p-gop2", nil)
			v := newViewer(t, viewerOptions{})
			answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", v.offer(true))
			if err != nil {
				t.Fatal(err)
			}
			v.answer(answer)
			v.waitFrame(10*time.Second, "a frame", 0, func(frame) bool { return true })
			tc.end(c, id)
			waitFor(t, 5*time.Second, "the session's end", func() bool { _, e := c.log.find(id); return e != nil })
			if _, e := c.log.find(id); e.Reason != tc.reason {
				t.Errorf("reason %q, want %q", e.Reason, tc.reason)
			}
			waitFor(t, 5*time.Second, "the viewer's connection to close", v.closed)
			if n := c.whep.Sessions(); n != 0 {
				t.Errorf("%d sessions left, want 0", n)
			}
		})
	}
}

// TestICETCP connects a viewer that can use TCP only, through the ICE-TCP
// port.
func TestICETCP(t *testing.T) {
	c := newChain(t, "360p-gop2", func(cfg *whep.Config) { cfg.TCPPort = -1 })
	v := newViewer(t, viewerOptions{tcp: true})
	answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", v.offer(true))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "tcptype passive") {
		t.Fatalf("answer has no passive TCP candidate:\n%s", answer)
	}
	v.answer(answer)
	v.waitFrame(10*time.Second, "a keyframe over TCP", 0, func(f frame) bool { return f.key })
	if err := c.whep.Delete(t.Context(), id, alice); err != nil {
		t.Fatal(err)
	}
}

// TestPublicIPs checks that the public IPs are offered as host candidates
// on the one UDP port, besides the listen address.
func TestPublicIPs(t *testing.T) {
	c := newChain(t, "360p-gop2", func(cfg *whep.Config) { cfg.PublicIPs = []string{"203.0.113.7"} })
	v := newViewer(t, viewerOptions{})
	answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", v.offer(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.whep.Delete(t.Context(), id, alice)
	_, port, _ := strings.Cut(c.whep.UDPAddr().String(), ":")
	for _, want := range []string{"203.0.113.7 " + port + " typ host", "127.0.0.1 " + port + " typ host"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer has no candidate %q:\n%s", want, answer)
		}
	}
}

// TestKeyframeRequest sends a burst of PLIs: the service answers the first
// with the cached keyframe (stamped before the request, arriving at once,
// RTP time still increasing) and ignores the rest of the burst.
func TestKeyframeRequest(t *testing.T) {
	c := newChain(t, "360p-gop4", nil)
	c.warmUp(t, 0)
	v := newViewer(t, viewerOptions{})
	answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", v.offer(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.whep.Delete(t.Context(), id, alice)
	v.answer(answer)
	// Ask once the session is at the live edge, a second in.
	start := time.Now()
	n := v.waitFrame(10*time.Second, "live frames a second into the session", 0, func(f frame) bool {
		return f.at.Sub(start) > time.Second
	})
	asked := time.Now()
	for range 5 {
		v.pli()
	}
	k := v.waitFrame(time.Second, "the cached keyframe", n, func(f frame) bool { return f.key && f.stamp.Before(asked) })
	if d := v.received()[k].at.Sub(asked); d > 500*time.Millisecond {
		t.Errorf("cached keyframe %s after the PLI, want at most 500ms", d)
	}
	// Let a second of video after the request pass, then count.
	v.waitFrame(5*time.Second, "a second after the request", k, func(f frame) bool { return f.stamp.After(asked.Add(time.Second)) })
	frames := v.received()
	cached := 0
	for i := n; i < len(frames); i++ {
		if frames[i].key && frames[i].stamp.Before(asked) {
			cached++
		}
		if int32(frames[i].ts-frames[i-1].ts) <= 0 {
			t.Fatalf("frame %d: RTP timestamp %d does not follow %d", i, frames[i].ts, frames[i-1].ts)
		}
	}
	if cached != 1 {
		t.Errorf("%d cached keyframes answered 5 PLIs, want 1", cached)
	}
}

// TestTrickleICE offers without candidates and trickles them with Patch,
// as a browser using trickle ICE does; only the session's own user may
// patch it, and an ICE restart is refused.
func TestTrickleICE(t *testing.T) {
	c := newChain(t, "360p-gop2", nil)
	v := newViewer(t, viewerOptions{})
	offer := v.offer(false)
	answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", offer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.whep.Delete(t.Context(), id, alice)
	v.answer(answer)
	waitFor(t, 5*time.Second, "the viewer's candidates", func() bool { v.mu.Lock(); defer v.mu.Unlock(); return len(v.cands) > 0 })
	v.mu.Lock()
	cands := v.cands
	v.mu.Unlock()
	ufrag := ""
	for line := range strings.SplitSeq(offer, "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			ufrag = u
		}
	}
	frag := "a=ice-ufrag:" + ufrag + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
	for _, cand := range cands {
		frag += "a=" + cand + "\r\n"
	}
	frag += "a=end-of-candidates\r\n"

	for _, tc := range []struct {
		name   string
		viewer argus.Principal
		frag   string
		code   string
	}{
		{"another user", bob, frag, argus.ENOTFOUND},
		{"ice restart", alice, strings.Replace(frag, ufrag, "newufrag", 1), argus.EINVALID},
		{"not sdp", alice, "hello\r\n", argus.EINVALID},
		{"trickle", alice, frag, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.whep.Patch(t.Context(), id, tc.viewer, tc.frag); errCode(err) != tc.code {
				t.Fatalf("Patch: %v, want code %q", err, tc.code)
			}
		})
	}
	v.waitFrame(10*time.Second, "a keyframe", 0, func(f frame) bool { return f.key })
	if err := c.whep.Delete(t.Context(), id, bob); errCode(err) != argus.ENOTFOUND {
		t.Errorf("DELETE by another user: %v, want %s", err, argus.ENOTFOUND)
	}
}

// TestOfferNegotiation answers offers of different H.264 formats for the
// simulated camera, whose clips are High profile (640x1e): the answer
// takes the best-fitting packetization-mode 1 format, and an offer nothing
// in which can decode the camera is refused.
func TestOfferNegotiation(t *testing.T) {
	c := newChain(t, "360p-gop2", nil)
	const (
		high   = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"
		highPM = "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=64001f"
		ch     = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f"
		cb     = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
		main   = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"
	)
	for _, tc := range []struct {
		name    string
		opts    viewerOptions
		offer   string // a raw offer instead of the viewer's
		wantPT  string // the answer's first video payload type
		code    string
		message string
	}{
		{name: "chrome", opts: viewerOptions{}, wantPT: "108"},
		{name: "high after constrained high", opts: viewerOptions{formats: []string{ch, high}}, wantPT: "103"},
		{name: "safari: constrained high only", opts: viewerOptions{formats: []string{cb, ch}}, wantPT: "103"},
		{name: "packetization mode 0 only", opts: viewerOptions{formats: []string{highPM}}, code: argus.EINVALID, message: "High profile"},
		{name: "baseline and main only", opts: viewerOptions{formats: []string{cb, main}}, code: argus.EINVALID, message: "High profile"},
		{name: "vp8 only", opts: viewerOptions{vp8Only: true}, code: argus.EINVALID, message: "H.264"},
		{name: "not sdp", offer: "hello", code: argus.EINVALID, message: "not valid SDP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer := tc.offer
			if offer == "" {
				offer = newViewer(t, tc.opts).offer(true)
			}
			answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", offer)
			if errCode(err) != tc.code {
				t.Fatalf("Offer: %v, want code %q", err, tc.code)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("error %q does not mention %q", err, tc.message)
				}
				return
			}
			defer c.whep.Delete(t.Context(), id, alice)
			if pts := videoFormats(answer); len(pts) == 0 || pts[0] != tc.wantPT {
				t.Errorf("answer's video formats %v, want %s first", pts, tc.wantPT)
			}
		})
	}
	if n := c.whep.Sessions(); n != 0 {
		t.Errorf("%d sessions left, want 0", n)
	}
}

// TestClosedService refuses offers after Close.
func TestClosedService(t *testing.T) {
	c := newChain(t, "360p-gop2", nil)
	c.whep.Close()
	v := newViewer(t, viewerOptions{})
	_, _, err := c.whep.Offer(context.Background(), c.cam, alice, "client", v.offer(true))
	if errCode(err) != argus.EUNAVAILABLE {
		t.Fatalf("Offer after Close: %v, want %s", err, argus.EUNAVAILABLE)
	}
}

// TestAudio passes a camera's Opus or G.711 audio through to a viewer that
// takes it, on the offer's payload type, with increasing timestamps; AAC
// cannot go over WebRTC, so its viewers get the video alone.
func TestAudio(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec hub.Codec
		pt    uint8 // the audio payload type; 255: no audio expected
		step  uint32
	}{
		{"opus", hub.CodecOpus, 111, 960},
		{"pcmu", hub.CodecPCMU, 0, 160},
		{"aac", hub.CodecAAC, 255, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChainFrom(t, synthSource(tc.codec), nil)
			v := newViewer(t, viewerOptions{audio: true})
			answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", v.offer(true))
			if err != nil {
				t.Fatal(err)
			}
			defer c.whep.Delete(t.Context(), id, alice)
			v.answer(answer)
			k := v.waitFrame(10*time.Second, "a keyframe", 0, func(f frame) bool { return f.key })
			if tc.pt == 255 {
				// A second of video later, still no audio.
				v.waitFrame(10*time.Second, "a second of video", k+25, func(frame) bool { return true })
				if n := len(v.audioReceived()); n != 0 {
					t.Fatalf("received %d audio packets from an AAC camera", n)
				}
				return
			}
			waitFor(t, 10*time.Second, "50 audio packets", func() bool { return len(v.audioReceived()) >= 50 })
			pkts := v.audioReceived()
			for i, p := range pkts {
				if p.pt != tc.pt {
					t.Fatalf("audio packet %d has payload type %d, want %d", i, p.pt, tc.pt)
				}
				if i > 0 && p.ts-pkts[i-1].ts != tc.step {
					t.Fatalf("audio packet %d: timestamp step %d, want %d", i, p.ts-pkts[i-1].ts, tc.step)
				}
			}
		})
	}
}

// TestNoGoroutineLeft runs a session with trickled candidates and a
// keyframe request, then closes everything: no goroutine of the service,
// its sessions or pion may be left.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newChain(t, "360p-gop2", func(cfg *whep.Config) { cfg.TCPPort = -1 })
	v := newViewer(t, viewerOptions{})
	answer, id, err := c.whep.Offer(t.Context(), c.cam, alice, "client", v.offer(true))
	if err != nil {
		t.Fatal(err)
	}
	v.answer(answer)
	v.waitFrame(10*time.Second, "a keyframe", 0, func(f frame) bool { return f.key })
	v.pli()
	if err := c.whep.Patch(t.Context(), id, alice, "a=end-of-candidates\r\n"); err != nil {
		t.Fatal(err)
	}
	v.pc.Close()
	c.close()
	waitFor(t, 10*time.Second, fmt.Sprintf("the goroutines to return to %d", before), func() bool {
		return runtime.NumGoroutine() <= before
	})
	if _, e := c.log.find(id); e == nil {
		t.Error("the session's end was not recorded")
	}
}
