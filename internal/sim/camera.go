package sim

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"

	"argus/internal/seiclock"
)

// RTP over RTSP interleaved framing (RFC 2326 §10.12, RFC 3550 §5.1).
const (
	interleavedLen = 4  // '$', channel, 16-bit length
	rtpHeaderLen   = 12 // version 2, no CSRC, no extension
)

// camera is one simulated camera. Its frames are a pure function of time:
// frame k (counted from Server.Start) is clip frame (k+offset) mod len, is
// due at k/fps + phase, and has RTP timestamp tsBase + k·90000/fps. The run
// goroutine only sends while at least one session plays, so an idle camera
// costs nothing, yet a viewer always joins a stream that has been "running"
// since Start, mid-GOP like a real camera.
type camera struct {
	s        *Server
	n        int
	log      *slog.Logger
	failures []Failure
	offset   int64         // clip frames skipped at k = 0
	phase    time.Duration // frame-time offset, spreads wake-ups and IDRs
	stream   *gortsplib.ServerStream
	medi     *description.Media
	ssrc     uint32 // the stream's, announced in SETUP
	kick     chan struct{}
	nreaders atomic.Int32 // len(readers), read by run without the lock

	// mu guards readers: the sessions playing this camera.
	mu      sync.Mutex
	readers map[*gortsplib.ServerSession]*reader

	// Owned by the run goroutine (or a benchmark).
	frame   []byte // the frame being sent: interleaved RTP packets, channel 0
	packets []int  // offsets of frame's packets
	seq     uint16
	// RTP packets and payload octets sent, for the sender reports.
	sentPackets, sentOctets uint32
	tsBase                  uint32
	rng                     *rand.Rand
	sei                     []byte
	junk                    []byte
	junkN                   int
	modes                   failSet // fail modes active at the last frame, for logging
}

// failSet is a set of fail modes.
type failSet uint8

const (
	setDrop failSet = 1 << iota
	setStall
	setGarbage
)

func newCamera(s *Server, n int) *camera {
	m := s.media
	gop, frames := int64(m.clip.GOP), int64(len(m.frames))
	// Low-discrepancy spread (golden ratio, √2): camera n shows another part
	// of the clip, and its IDRs and frame wake-ups fall between those of
	// the cameras before it.
	idrShift := int64(frac(float64(n-1)*0.6180339887498949) * float64(gop))
	c := &camera{
		s:       s,
		n:       n,
		log:     s.log.With("camera", n),
		offset:  ((int64(n-1)*gop+idrShift)%frames + s.seekFrames) % frames,
		phase:   time.Duration(frac(float64(n-1)*0.4142135623730951) * float64(time.Second) / float64(s.fps)),
		kick:    make(chan struct{}, 1),
		readers: make(map[*gortsplib.ServerSession]*reader),
		rng:     rand.New(rand.NewPCG(uint64(n), 0x61726775735f7369)),
		sei:     make([]byte, 0, seiclock.MaxLen),
		junk:    make([]byte, 0, maxPayload),
	}
	for _, f := range s.cfg.Failures {
		if f.Camera == n {
			c.failures = append(c.failures, f)
		}
	}
	c.seq = uint16(c.rng.Uint32())
	c.tsBase = c.rng.Uint32()
	return c
}

func frac(x float64) float64 { return x - math.Floor(x) }

// activeModes returns the fail modes active at elapsed time since Start.
func (c *camera) activeModes(elapsed time.Duration) failSet {
	var set failSet
	for _, f := range c.failures {
		if !f.activeAt(elapsed) {
			continue
		}
		switch f.Mode {
		case FailDrop:
			set |= setDrop
		case FailStall:
			set |= setStall
		case FailGarbage:
			set |= setGarbage
		}
	}
	return set
}

// addReader registers a session that starts playing.
func (c *camera) addReader(r *reader) {
	c.mu.Lock()
	c.readers[r.ss] = r
	c.nreaders.Store(int32(len(c.readers)))
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// removeReader forgets a closed session.
func (c *camera) removeReader(ss *gortsplib.ServerSession) {
	c.mu.Lock()
	delete(c.readers, ss)
	c.nreaders.Store(int32(len(c.readers)))
	c.mu.Unlock()
}

// closeReaders closes every session playing the camera (drop mode).
func (c *camera) closeReaders() {
	c.mu.Lock()
	sessions := make([]*gortsplib.ServerSession, 0, len(c.readers))
	for ss := range c.readers {
		sessions = append(sessions, ss)
	}
	clear(c.readers)
	c.nreaders.Store(0)
	c.mu.Unlock()
	for _, ss := range sessions {
		ss.Close()
	}
}

// run sends frames on time while the camera has readers, and sleeps on
// kick otherwise, until ctx ends.
func (c *camera) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := int64(-1)
	for {
		if c.nreaders.Load() == 0 {
			next = -1
			select {
			case <-ctx.Done():
				return
			case <-c.kick:
			}
			continue
		}
		now := time.Now()
		next = c.step(now, next)
		timer.Reset(c.s.frameTime(next) + c.phase - now.Sub(c.s.epoch))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.kick:
		}
	}
}

// step sends the frames due at now, starting at next (-1 when the camera
// was idle), applies the fail modes, and returns the number of the next
// frame to send.
func (c *camera) step(now time.Time, next int64) int64 {
	elapsed := now.Sub(c.s.epoch)
	due := c.s.frameAt(elapsed - c.phase)
	switch {
	case next < 0:
		// Waking up for a new reader: start at the next frame boundary,
		// which also leaves gortsplib time to activate the session, so
		// it receives whole frames.
		next = due + 1
	case due-next > int64(c.s.fps):
		// More than a second behind (an overloaded host): skip ahead.
		c.log.Warn("host too slow, camera skipped frames", "skipped", due-next, "frame", due)
		next = due
	}
	modes := c.activeModes(elapsed)
	if modes != c.modes {
		c.log.Info("camera fail modes changed", "from", c.modes.String(), "to", modes.String(), "frame", due)
		c.modes = modes
	}
	switch {
	case modes&setDrop != 0:
		c.closeReaders()
		return due + 1
	case modes&setStall != 0:
		return due + 1
	}
	for ; next <= due; next++ {
		c.sendFrame(next, now, modes&setGarbage != 0)
	}
	return next
}

// sendFrame sends frame k to every reader, one write each.
func (c *camera) sendFrame(k int64, now time.Time, garbage bool) {
	c.buildFrame(k, now, garbage)
	var failed []*reader
	c.mu.Lock()
	for _, r := range c.readers {
		if err := c.writeTo(r); err != nil {
			c.log.Debug("closing a session that does not keep up", "error", err)
			failed = append(failed, r)
		}
	}
	c.mu.Unlock()
	for _, r := range failed {
		c.removeReader(r.ss)
		r.ss.Close()
	}
}

// writeTo writes the frame to r, on r's interleaved channel.
func (c *camera) writeTo(r *reader) error {
	if r.channel != 0 { // frame holds channel 0 (RTP) and 1 (RTCP)
		for _, off := range c.packets {
			c.frame[off+1] += r.channel
		}
		defer func() {
			for _, off := range c.packets {
				c.frame[off+1] -= r.channel
			}
		}()
	}
	return r.conn.writeFrame(c.frame)
}

// buildFrame lays out frame k's RTP packets in c.frame: garbage first when
// asked (every other frame), SPS and PPS before an IDR, the SEI wall-clock
// stamp, the slices, and the filler padding. It does not allocate.
func (c *camera) buildFrame(k int64, now time.Time, garbage bool) {
	c.frame, c.packets = c.frame[:0], c.packets[:0]
	m := c.s.media
	f := &m.frames[(k+c.offset)%int64(len(m.frames))]
	ts := c.tsBase + uint32(k*clockRate/int64(c.s.fps))
	if garbage && k%2 == 0 {
		c.writeGarbage(f, ts, now)
	}
	if f.idr {
		c.write(m.sps, ts, false, now)
		c.write(m.pps, ts, false, now)
	}
	c.sei = seiclock.Append(c.sei[:0], now)
	c.write(c.sei, ts, false, now)
	filler := c.s.filler
	for i, p := range f.payloads {
		c.write(p, ts, len(filler) == 0 && i == len(f.payloads)-1, now)
	}
	for i, p := range filler {
		c.write(p, ts, i == len(filler)-1, now)
	}
	if k%int64(c.s.fps) == 0 {
		c.writeSenderReport(ts, now)
	}
}

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// writeSenderReport appends an RTCP sender report (RFC 3550 §6.4.1) that
// maps RTP timestamp ts to wall clock now, on channel 1.
func (c *camera) writeSenderReport(ts uint32, now time.Time) {
	const n = 28
	sec := uint32(now.Unix() + ntpEpochOffset)
	frac := uint32(uint64(now.Nanosecond()) << 32 / 1e9)
	c.packets = append(c.packets, len(c.frame))
	c.frame = append(c.frame, '$', 1, 0, n, 0x80, 200, 0, n/4-1)
	for _, v := range [...]uint32{c.ssrc, sec, frac, ts, c.sentPackets, c.sentOctets} {
		c.frame = append(c.frame, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// write appends one RTP packet to the frame.
func (c *camera) write(payload []byte, ts uint32, marker bool, _ time.Time) {
	n := rtpHeaderLen + len(payload)
	m := byte(payloadType)
	if marker {
		m |= 0x80
	}
	c.packets = append(c.packets, len(c.frame))
	c.frame = append(c.frame, '$', 0, byte(n>>8), byte(n),
		0x80, m, byte(c.seq>>8), byte(c.seq),
		byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts),
		byte(c.ssrc>>24), byte(c.ssrc>>16), byte(c.ssrc>>8), byte(c.ssrc))
	c.frame = append(c.frame, payload...)
	c.seq++
	c.sentPackets++
	c.sentOctets += uint32(len(payload))
}

// writeGarbage writes one malformed payload, cycling through four kinds.
// Random bytes are never zero, so they cannot form an Annex-B start code
// (which would switch gortsplib's depacketizer to Annex-B mode for good).
func (c *camera) writeGarbage(f *frame, ts uint32, now time.Time) {
	b := c.junk[:0]
	switch c.junkN % 4 {
	case 0: // random bytes with the forbidden_zero_bit set
		b = c.appendRandom(b, 32+c.rng.IntN(200))
		b[0] |= 0x80
	case 1: // the start of an FU-A fragmented IDR that never ends
		b = append(b, 0x60|naluFUA, 0x80|naluIDR)
		b = c.appendRandom(b, 64+c.rng.IntN(400))
	case 2: // reserved and unspecified NAL unit types
		b = append(b, [...]byte{0, 30, 31}[(c.junkN/4)%3])
		b = c.appendRandom(b, 16+c.rng.IntN(100))
	case 3: // a real slice cut short
		v := f.vcl[0]
		b = append(b, v[:min(len(v)/2, maxPayload)]...)
	}
	c.junkN++
	c.junk = b
	c.write(b, ts, false, now)
}

func (c *camera) appendRandom(b []byte, n int) []byte {
	for range n {
		x := byte(c.rng.Uint32())
		if x == 0 {
			x = 0x5a
		}
		b = append(b, x)
	}
	return b
}

// String lists the modes, e.g. "drop+garbage", or "none".
func (s failSet) String() string {
	if s == 0 {
		return "none"
	}
	out := ""
	for _, m := range []struct {
		bit  failSet
		name FailMode
	}{{setDrop, FailDrop}, {setStall, FailStall}, {setGarbage, FailGarbage}} {
		if s&m.bit != 0 {
			if out != "" {
				out += "+"
			}
			out += string(m.name)
		}
	}
	return out
}
