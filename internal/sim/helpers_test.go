package sim

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"
)

// startSim starts a simulator on a free loopback port and closes it when the
// test ends.
func startSim(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	cfg.Listen = "127.0.0.1:0"
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond every 5 ms until it holds or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// packetRecord is one received RTP packet.
type packetRecord struct {
	at      time.Time
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
}

// auRecord is one received access unit.
type auRecord struct {
	at  time.Time
	ts  uint32
	au  [][]byte
	idr bool
}

// player is a gortsplib client playing one camera over TCP and recording
// what it receives.
type player struct {
	c     *gortsplib.Client
	forma *format.H264
	done  chan error // receives the client's Wait error

	mu         sync.Mutex
	pkts       []packetRecord
	aus        []auRecord
	decodeErrs int
}

// dial plays url; it returns the DESCRIBE/SETUP/PLAY error instead of
// failing, for tests that expect refusals.
func dial(tb testing.TB, url string) (*player, error) {
	tb.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	tcp := gortsplib.ProtocolTCP
	p := &player{
		c:    &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp},
		done: make(chan error, 1),
	}
	if err := p.c.Start(); err != nil {
		return nil, err
	}
	desc, _, err := p.c.Describe(u)
	if err != nil {
		p.c.Close()
		return nil, err
	}
	medi := desc.FindFormat(&p.forma)
	if medi == nil {
		p.c.Close()
		tb.Fatal("no H.264 format in the SDP")
	}
	dec, err := p.forma.CreateDecoder()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := p.c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		p.c.Close()
		return nil, err
	}
	p.c.OnPacketRTP(medi, p.forma, func(pkt *rtp.Packet) {
		now := time.Now()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.pkts = append(p.pkts, packetRecord{
			at: now, seq: pkt.SequenceNumber, ts: pkt.Timestamp, marker: pkt.Marker,
			payload: append([]byte(nil), pkt.Payload...),
		})
		au, err := dec.Decode(pkt)
		switch {
		case err == nil:
			idr := false
			for _, n := range au {
				if len(n) > 0 && n[0]&0x1f == naluIDR {
					idr = true
				}
			}
			p.aus = append(p.aus, auRecord{at: now, ts: pkt.Timestamp, au: au, idr: idr})
		case errors.Is(err, rtph264.ErrMorePacketsNeeded), errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious):
		default:
			p.decodeErrs++
		}
	})
	if _, err := p.c.Play(nil); err != nil {
		p.c.Close()
		return nil, err
	}
	go func() { p.done <- p.c.Wait() }()
	tb.Cleanup(p.close)
	return p, nil
}

// play is dial for tests that expect success.
func play(tb testing.TB, url string) *player {
	tb.Helper()
	p, err := dial(tb, url)
	if err != nil {
		tb.Fatalf("play %s: %v", url, err)
	}
	return p
}

func (p *player) close() {
	p.c.Close()
}

func (p *player) numAUs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.aus)
}

func (p *player) snapshot() ([]packetRecord, []auRecord, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]packetRecord(nil), p.pkts...), append([]auRecord(nil), p.aus...), p.decodeErrs
}

// statusCode returns the RTSP status of a refused request, or 0.
func statusCode(err error) base.StatusCode {
	if e, ok := errors.AsType[liberrors.ErrClientBadStatusCode](err); ok {
		return e.Code
	}
	return 0
}

func numGoroutines() int { return runtime.NumGoroutine() }

// waitGoroutines fails the test unless the number of goroutines drops back
// to before within a few seconds (a bounded poll, for goroutines that are
// still unwinding).
func waitGoroutines(tb testing.TB, before int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			tb.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// addDrainedReader adds a reader to c over a loopback TCP connection whose
// far end is read and discarded; the counter it returns is the bytes read.
func addDrainedReader(tb testing.TB, c *camera) *atomic.Int64 {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close(); server.Close() })
	var n atomic.Int64
	go func() {
		buf := make([]byte, 64<<10)
		for {
			m, err := client.Read(buf)
			n.Add(int64(m))
			if err != nil {
				return
			}
		}
	}()
	c.addReader(&reader{conn: &tcpConn{Conn: server}})
	return &n
}
