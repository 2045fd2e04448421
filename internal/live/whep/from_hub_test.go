package whep

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"argus/internal/hub"
)

// TestTimeline checks the session clock across attaches: the cached
// frames before the live edge are squeezed catchUpStep apart, live frames
// keep their spacing, audio before the live edge is skipped, and a
// re-attach continues from the session's present, never going back.
func TestTimeline(t *testing.T) {
	const rate = 90000
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	frame := int64(40 * time.Millisecond)
	var tl timeline

	// Attach 1: the cached keyframe is 1 s old (25 frames), at media time
	// 10 s.
	key := &hub.Unit{PTS: 10 * rate, Wall: t0.Add(-time.Second), Key: true}
	tl.rebase(key, rate, t0)
	var got []int64
	for i := range 28 { // 25 cached frames, then 3 live
		got = append(got, tl.video(key.PTS+int64(i)*3600, rate, t0))
	}
	for i := 1; i < 25; i++ {
		if d := got[i] - got[i-1]; d != catchUpStep {
			t.Fatalf("cached frame %d follows the previous by %v, want %v", i, time.Duration(d), time.Duration(catchUpStep))
		}
	}
	if got[0] != 0 {
		t.Errorf("first frame at session time %v, want 0", time.Duration(got[0]))
	}
	// The first live frames make up for the squeezed ones, then keep
	// their spacing.
	if d := got[27] - got[26]; d != frame {
		t.Errorf("live frames %v apart, want %v", time.Duration(d), time.Duration(frame))
	}
	// Audio (48 kHz) from before the live edge is skipped, after it kept.
	if _, ok := tl.audio(10*48000+24000, 48000); ok {
		t.Error("audio from the cached GOP was not skipped")
	}
	a1, ok := tl.audio(11*48000, 48000)
	if !ok {
		t.Fatal("live audio skipped")
	}
	if _, ok := tl.audio(11*48000, 48000); ok {
		t.Error("an audio frame at the time of the last was not skipped")
	}

	// Attach 2, 500 ms later (a PLI): the cached keyframe is the same one,
	// now 1.5 s old. Time goes on from the session's present.
	last := got[len(got)-1]
	t1 := t0.Add(500 * time.Millisecond)
	tl.rebase(key, rate, t1)
	v := tl.video(key.PTS, rate, t1)
	if v <= last {
		t.Errorf("the re-sent keyframe at %v is not after the last frame at %v", time.Duration(v), time.Duration(last))
	}
	live := tl.video(key.PTS+rate*3/2, rate, t1)
	if want := last + int64(500*time.Millisecond); live < want-frame || live > want+2*frame {
		t.Errorf("live frame after the re-attach at %v, want about %v", time.Duration(live), time.Duration(want))
	}
	if a, ok := tl.audio(11*48000+4800, 48000); ok && a <= a1 {
		t.Errorf("audio went back from %v to %v", time.Duration(a1), time.Duration(a))
	}
}

// rtpLog collects the packets a track writes.
type rtpLog struct{ pkts []rtp.Packet }

func (l *rtpLog) WriteRTP(p *rtp.Packet) error {
	c := *p
	c.Payload = append([]byte(nil), p.Payload...)
	l.pkts = append(l.pkts, c)
	return nil
}

// TestVideoSender packetizes a keyframe without parameter sets and a large
// frame: SPS and PPS go first (as a STAP-A with the SEI), filler data is
// dropped, a NAL unit larger than the MTU is fragmented (FU-A), every
// packet of a frame has its timestamp, the marker is on the last, and
// sequence numbers run on.
func TestVideoSender(t *testing.T) {
	tr := &hub.Track{Codec: hub.CodecH264, ClockRate: 90000, SPS: []byte{0x67, 0x42, 0xc0, 0x1e}, PPS: []byte{0x68, 0xce}}
	big := make([]byte, 3000)
	big[0] = 0x41
	key := &hub.Unit{Key: true, NALUs: [][]byte{{0x06, 0x05, 0x01}, {0x65, 0x88}, {0x0c, 0xff, 0xff}}}
	inter := &hub.Unit{NALUs: [][]byte{big}}
	log := &rtpLog{}
	v := &videoSender{rtpTrack: newRTPTrack(log, 90000)}
	if err := v.send(key, tr, 0); err != nil {
		t.Fatal(err)
	}
	nKey := len(log.pkts)
	if err := v.send(inter, tr, int64(40*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	types := []byte{}
	for _, p := range log.pkts {
		types = append(types, p.Payload[0]&0x1f)
	}
	// SPS and PPS in a STAP-A, the SEI, the IDR slice (the filler
	// dropped), then the large slice in three FU-A packets.
	want := []byte{24, 6, 5, 28, 28, 28}
	if string(types) != string(want) {
		t.Fatalf("packet types %v, want %v", types, want)
	}
	for i, p := range log.pkts {
		wantMarker := i == nKey-1 || i == len(log.pkts)-1
		if p.Marker != wantMarker {
			t.Errorf("packet %d: marker %v, want %v", i, p.Marker, wantMarker)
		}
		if i > 0 && p.SequenceNumber != log.pkts[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence number %d after %d", i, p.SequenceNumber, log.pkts[i-1].SequenceNumber)
		}
		wantTS := log.pkts[0].Timestamp
		if i >= nKey {
			wantTS += 3600
		}
		if p.Timestamp != wantTS {
			t.Errorf("packet %d: timestamp %d, want %d", i, p.Timestamp, wantTS)
		}
		if len(p.Payload) > rtpPayloadMTU {
			t.Errorf("packet %d: payload of %d bytes, more than %d", i, len(p.Payload), rtpPayloadMTU)
		}
	}
}
