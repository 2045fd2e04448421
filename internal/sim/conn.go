package sim

import (
	"bytes"
	"net"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
)

// frameWriteTimeout bounds one frame's write to a session: a reader that
// takes nothing for this long is closed rather than allowed to hold up the
// camera's other readers.
const frameWriteTimeout = 2 * time.Second

// listener hands gortsplib connections wrapped in tcpConn.
type listener struct {
	net.Listener
}

// Accept implements net.Listener.
func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tcpConn{Conn: c}, nil
}

// tcpConn is an accepted RTSP connection on which a camera writes whole
// frames of interleaved RTP packets itself, one write per frame, between
// the responses gortsplib writes. gortsplib's ServerStream would queue,
// marshal and write every packet on its own (a syscall and an allocation
// per packet); the simulator has to be leaner than the recorder it feeds.
type tcpConn struct {
	net.Conn
	// mu serialises writes, so a frame and a response never interleave.
	mu sync.Mutex
	// played, when set, runs after the next successful response ("RTSP/1.0
	// 200"): the PLAY response, after which the session may get frames.
	played func()
}

var okResponse = []byte("RTSP/1.0 200 ")

// Write implements net.Conn; gortsplib writes responses through it.
func (c *tcpConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	n, err := c.Conn.Write(p)
	var played func()
	if c.played != nil && err == nil && bytes.HasPrefix(p, okResponse) {
		played, c.played = c.played, nil
	}
	c.mu.Unlock()
	if played != nil {
		played()
	}
	return n, err
}

// onPlayed arranges for f to run once the PLAY response being prepared has
// been written.
func (c *tcpConn) onPlayed(f func()) {
	c.mu.Lock()
	c.played = f
	c.mu.Unlock()
}

// writeFrame writes one frame's interleaved packets.
func (c *tcpConn) writeFrame(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Conn.SetWriteDeadline(time.Now().Add(frameWriteTimeout)); err != nil {
		return err
	}
	_, err := c.Conn.Write(b)
	return err
}

// reader is a session playing a camera over TCP.
type reader struct {
	ss      *gortsplib.ServerSession
	conn    *tcpConn
	channel byte // the RTP interleaved channel negotiated in SETUP
}
