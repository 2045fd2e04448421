package whep

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"argus/internal/hub"
)

// rtpPayloadMTU is the largest RTP payload sent: a 1200-byte packet, as
// browsers send, less the 12-byte RTP header.
const rtpPayloadMTU = 1200 - 12

// catchUpStep is the session time between the frames a session sends to
// reach the live edge after an attach (the cached GOP): 1 ms, so that the
// viewer decodes them at once and shows the newest, instead of playing the
// GOP back at its own pace a GOP behind live.
const catchUpStep = int64(time.Millisecond)

// timeline maps the hub's media time (Unit.PTS) onto the session's own
// clock, from which the RTP timestamps of every track are derived. A
// session's RTP time must never go back, yet every attach (the first, one
// after a PLI, one after the reader was dropped) starts again at the
// cached keyframe, which is up to a GOP old. So at each attach the timeline
// is rebased: the live edge lands at the session's present, the cached
// frames before it are squeezed catchUpStep apart, and the audio before it
// is skipped. Audio and video share the shift, so they stay in sync.
type timeline struct {
	started bool
	shift   int64     // session time = media time + shift, in ns
	floor   int64     // session time of the live edge at the last rebase
	lastV   int64     // session time of the last video frame sent
	lastA   int64     // session time of the last audio frame sent
	lastAt  time.Time // when the last video frame was sent
}

// rebase anchors the timeline on u, the first video keyframe of an
// attach, at time now. The live edge is u's media time plus the time since
// the hub received u (Unit.Wall; a unit without one counts as live).
func (t *timeline) rebase(u *hub.Unit, clockRate int, now time.Time) {
	age := now.Sub(u.Wall)
	if u.Wall.IsZero() || age < 0 {
		age = 0
	}
	var present int64
	if t.started {
		present = t.lastV + int64(now.Sub(t.lastAt))
	} else {
		t.started = true
		t.lastV, t.lastA = -catchUpStep, math.MinInt64
	}
	t.shift = present - (ticksToNS(u.PTS, clockRate) + int64(age))
	t.floor = present
}

// video returns the session time of a video frame sent now: its mapped
// time, but at least catchUpStep after the previous frame.
func (t *timeline) video(pts int64, clockRate int, now time.Time) int64 {
	ns := max(ticksToNS(pts, clockRate)+t.shift, t.lastV+catchUpStep)
	t.lastV, t.lastAt = ns, now
	return ns
}

// audio returns the session time of an audio frame, and false for a frame
// to skip: one from before the live edge, or one not after the last sent.
func (t *timeline) audio(pts int64, clockRate int) (int64, bool) {
	ns := ticksToNS(pts, clockRate) + t.shift
	if !t.started || ns < t.floor || ns <= t.lastA {
		return 0, false
	}
	t.lastA = ns
	return ns, true
}

// ticksToNS converts ticks of clockRate into nanoseconds without
// overflowing.
func ticksToNS(ticks int64, clockRate int) int64 {
	r := int64(clockRate)
	return ticks/r*1e9 + ticks%r*1e9/r
}

// nsToTicks converts nanoseconds into ticks of clockRate without
// overflowing.
func nsToTicks(ns int64, clockRate int) int64 {
	r := int64(clockRate)
	return ns/1e9*r + ns%1e9*r/1e9
}

// rtpWriter is where a track's packets go (*webrtc.TrackLocalStaticRTP).
type rtpWriter interface {
	WriteRTP(p *rtp.Packet) error
}

// rtpTrack numbers and stamps one outgoing track's packets: a random first
// sequence number and timestamp (RFC 3550), then continuous across
// re-attaches.
type rtpTrack struct {
	w         rtpWriter
	clockRate int
	seq       uint16
	base      uint32
	pkt       rtp.Packet
}

func newRTPTrack(w rtpWriter, clockRate int) *rtpTrack {
	return &rtpTrack{w: w, clockRate: clockRate, seq: uint16(rand.Uint32()), base: rand.Uint32()}
}

// write sends one packet of payload at session time ns.
func (t *rtpTrack) write(payload []byte, ns int64, marker bool) error {
	t.pkt.Header = rtp.Header{
		Version:        2,
		Marker:         marker,
		SequenceNumber: t.seq,
		Timestamp:      t.base + uint32(nsToTicks(ns, t.clockRate)),
	}
	t.pkt.Payload = payload
	t.seq++
	return t.w.WriteRTP(&t.pkt)
}

// videoSender turns H.264 units into RTP packets with pion's payloader:
// SPS and PPS go in a STAP-A in front of the keyframe, SEI (the argus
// wall-clock stamp) is kept, filler data and access unit delimiters are
// dropped.
type videoSender struct {
	*rtpTrack
	payloader codecs.H264Payloader
	payloads  [][]byte
}

// send packetizes u (a unit of track tr) at session time ns.
func (v *videoSender) send(u *hub.Unit, tr *hub.Track, ns int64) error {
	v.payloads = v.payloads[:0]
	if u.Key {
		hasSPS, hasPPS := false, false
		for _, n := range u.NALUs {
			if len(n) > 0 {
				hasSPS = hasSPS || n[0]&0x1f == 7
				hasPPS = hasPPS || n[0]&0x1f == 8
			}
		}
		if !hasSPS && len(tr.SPS) > 0 {
			v.payloads = append(v.payloads, v.payloader.Payload(rtpPayloadMTU, tr.SPS)...)
		}
		if !hasPPS && len(tr.PPS) > 0 {
			v.payloads = append(v.payloads, v.payloader.Payload(rtpPayloadMTU, tr.PPS)...)
		}
	}
	for _, n := range u.NALUs {
		// A NAL unit holds no start code (emulation prevention), so the
		// payloader takes each whole.
		v.payloads = append(v.payloads, v.payloader.Payload(rtpPayloadMTU, n)...)
	}
	for i, p := range v.payloads {
		if err := v.write(p, ns, i == len(v.payloads)-1); err != nil {
			return err
		}
	}
	return nil
}
