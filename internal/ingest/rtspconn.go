package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/bluenviron/gortsplib/v5/pkg/sdpunmarshaler"
)

// This file holds argus's own RTSP client for sessions over TCP, with RTP
// interleaved in the RTSP connection (RFC 2326 §10.12): the default
// transport and the one nearly every camera is pulled with. gortsplib's
// message types, authentication and SDP parser do the handshake; the play
// loop is argus's own: it reads interleaved packets in place from one
// buffer and hands them to the session without a copy or an allocation per
// packet. UDP, automatic fallback and rtsps:// sessions stay on gortsplib's
// client.

// maxRedirects is how many DESCRIBE redirects a session follows.
const maxRedirects = 3

const (
	// batchEvery is how often the play loop reads an unwatched camera.
	batchEvery = 250 * time.Millisecond
	// batchBufferSize is the pooled buffer of a batched read: 250 ms of a
	// stream of up to ~8 Mbit/s in one read.
	batchBufferSize = 256 << 10
	// handshakeBufferSize buffers the handshake's reads.
	handshakeBufferSize = 4 << 10
	// napLowat is the SO_RCVLOWAT of a socket during a nap: more than a
	// batch of any camera. (Linux also clamps the receive window to it,
	// so it must not be smaller than a nap's worth of the fastest
	// camera: 2 MiB in 250 ms is 64 Mbit/s.)
	napLowat = 2 << 20
	// batchProbe is how long a batched read waits for data before it
	// gives the pooled buffer back and waits in waitBufferSize.
	batchProbe = 5 * time.Millisecond
	// waitBufferSize is the buffer of an unwatched camera waiting for
	// data after a nap that brought none.
	waitBufferSize = 4 << 10
	// maxMessage bounds an RTSP message in the play loop.
	maxMessage = 64 << 10
)

// userAgent names argus to cameras.
const userAgent = "argus"

// defaultSessionTimeout applies when a camera's Session header names
// none (RFC 2326 §12.37).
const defaultSessionTimeout = 60 * time.Second

// redirectError is a DESCRIBE answered with a redirect to url.
type redirectError struct{ url *base.URL }

func (e *redirectError) Error() string {
	return "redirected to " + e.url.CloneWithoutCredentials().String()
}

// rtspConn is one RTSP connection to a camera. Requests are written by the
// handshake and then by the keep-alive timer, so writes are serialised;
// reads belong to one goroutine at a time.
type rtspConn struct {
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration
	user    string
	pass    string
	sender  *auth.Sender

	wmu     sync.Mutex // guards the fields below and writes to nc
	cseq    int
	session string
	closed  bool
	ka      *time.Timer
	// playURL is what PLAY and the keep-alives name, and TEARDOWN.
	playURL *base.URL

	// getParameter: the camera lists GET_PARAMETER in its OPTIONS answer,
	// so keep-alives use it.
	getParameter bool
	// sessionTimeout is the session's timeout from its Session header.
	sessionTimeout time.Duration

	// The play loop's state (read's goroutine alone). rd is what it reads
	// (nc but in tests); pool lends batched reads their buffer (nil: no
	// batching); own is the buffer of reads while watched; carry holds
	// the bytes of a packet cut by the end of the last read.
	rd       io.Reader
	pool     *lender
	own      []byte
	carry    []byte
	napTimer *time.Timer
	// done is closed by close, to end a nap.
	done chan struct{}
	// raw is nc's socket when it has one (nil in tests), for nap's
	// SO_RCVLOWAT.
	raw syscall.RawConn
}

// dialRTSP connects to u's host (port 554 if u names none).
func dialRTSP(ctx context.Context, u *base.URL, user, pass string, timeout time.Duration) (*rtspConn, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "554")
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	c := &rtspConn{
		nc: nc, br: bufio.NewReaderSize(nc, handshakeBufferSize), timeout: timeout,
		user: user, pass: pass, sessionTimeout: defaultSessionTimeout,
		rd: nc, done: make(chan struct{}),
	}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	return c, nil
}

// close ends the session: a TEARDOWN if one was set up, then the
// connection. It may be called more than once and from any goroutine.
func (c *rtspConn) close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	close(c.done)
	if c.ka != nil {
		c.ka.Stop()
	}
	if c.session != "" && c.playURL != nil {
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.writeLocked(&base.Request{Method: base.Teardown, URL: c.playURL, Header: base.Header{}})
	}
	_ = c.nc.Close()
}

// writeLocked writes req with CSeq, Session, User-Agent and
// Authorization. c.wmu must be held.
func (c *rtspConn) writeLocked(req *base.Request) error {
	c.cseq++
	req.Header["CSeq"] = base.HeaderValue{strconv.Itoa(c.cseq)}
	req.Header["User-Agent"] = base.HeaderValue{userAgent}
	if c.session != "" {
		req.Header["Session"] = base.HeaderValue{c.session}
	}
	if c.sender != nil {
		c.sender.AddAuthorization(req)
	}
	b, err := req.Marshal()
	if err != nil {
		return err
	}
	_, err = c.nc.Write(b)
	return err
}

// do sends req and reads its response, authenticating when the camera asks
// to. A status other than 2xx is an error (liberrors.ErrClientBadStatusCode)
// except redirects, which are returned.
func (c *rtspConn) do(req *base.Request) (*base.Response, error) {
	for attempt := 0; ; attempt++ {
		if req.Header == nil {
			req.Header = base.Header{}
		}
		c.wmu.Lock()
		if c.closed {
			c.wmu.Unlock()
			return nil, net.ErrClosed
		}
		_ = c.nc.SetDeadline(time.Now().Add(c.timeout))
		err := c.writeLocked(req)
		cseq := strconv.Itoa(c.cseq)
		c.wmu.Unlock()
		if err != nil {
			return nil, err
		}
		res, err := c.readResponse(cseq)
		if err != nil {
			return nil, err
		}
		if res.StatusCode == base.StatusUnauthorized && c.sender == nil && c.user != "" && attempt == 0 {
			s := &auth.Sender{WWWAuth: res.Header["WWW-Authenticate"], User: c.user, Pass: c.pass}
			if err := s.Initialize(); err != nil {
				return nil, liberrors.ErrClientAuthSetup{Err: err}
			}
			c.sender = s
			continue
		}
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			return res, nil
		}
		if res.StatusCode < 200 || res.StatusCode >= 300 {
			return nil, liberrors.ErrClientBadStatusCode{Code: res.StatusCode, Message: res.StatusMessage}
		}
		return res, nil
	}
}

// readResponse reads until the response with CSeq cseq, skipping
// interleaved packets (a camera may start sending before it answers PLAY)
// and answers to earlier requests.
func (c *rtspConn) readResponse(cseq string) (*base.Response, error) {
	for {
		b, err := c.br.Peek(1)
		if err != nil {
			return nil, err
		}
		if b[0] == base.InterleavedFrameMagicByte {
			if err := c.skipPacket(); err != nil {
				return nil, err
			}
			continue
		}
		var res base.Response
		if err := res.Unmarshal(c.br); err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		if v := res.Header["CSeq"]; len(v) == 1 && v[0] != cseq {
			continue
		}
		return &res, nil
	}
}

// skipPacket discards one interleaved packet.
func (c *rtspConn) skipPacket() error {
	h, err := c.br.Peek(4)
	if err != nil {
		return err
	}
	n := int(h[2])<<8 | int(h[3])
	_, err = c.br.Discard(4 + n)
	return err
}

// describe asks for the stream's description (after an OPTIONS that tells
// whether the camera takes GET_PARAMETER). A redirect is returned as a
// *redirectError.
func (c *rtspConn) describe(u *base.URL) (*description.Session, error) {
	if res, err := c.do(&base.Request{Method: base.Options, URL: u}); err == nil {
		c.getParameter = supportsGetParameter(res.Header)
	} else if e, ok := errors.AsType[liberrors.ErrClientBadStatusCode](err); !ok || e.Code == base.StatusUnauthorized {
		// Cameras that do not implement OPTIONS answer 404 or 501:
		// those are fine; a failed connection or sign-in is not.
		return nil, fmt.Errorf("options: %w", err)
	}
	res, err := c.do(&base.Request{Method: base.Describe, URL: u, Header: base.Header{"Accept": base.HeaderValue{"application/sdp"}}})
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		loc := res.Header["Location"]
		if len(loc) != 1 {
			return nil, liberrors.ErrClientBadStatusCode{Code: res.StatusCode, Message: res.StatusMessage}
		}
		ru, err := base.ParseURL(loc[0])
		if err != nil {
			return nil, fmt.Errorf("invalid redirect location: %w", err)
		}
		return nil, &redirectError{url: ru}
	}
	if ct := res.Header["Content-Type"]; len(ct) != 1 || strings.TrimSpace(strings.Split(ct[0], ";")[0]) != "application/sdp" {
		return nil, fmt.Errorf("describe: content type %v is not application/sdp", ct)
	}
	ssd, err := sdpunmarshaler.Unmarshal(res.Body)
	if err != nil {
		return nil, fmt.Errorf("invalid SDP: %w", err)
	}
	var desc description.Session
	if err := desc.Unmarshal2(ssd); err != nil {
		return nil, fmt.Errorf("invalid SDP: %w", err)
	}
	desc.BaseURL = u
	if ctl, ok := ssd.Attribute("control"); ok && ctl != "*" && strings.Contains(ctl, "://") {
		if desc.BaseURL, err = base.ParseURL(ctl); err != nil {
			return nil, fmt.Errorf("invalid SDP control attribute %q", ctl)
		}
	} else if cb := res.Header["Content-Base"]; len(cb) == 1 {
		s := cb[0]
		if strings.HasPrefix(s, "/") {
			s = u.Scheme + "://" + u.Host + s
		}
		if desc.BaseURL, err = base.ParseURL(s); err != nil {
			return nil, fmt.Errorf("invalid Content-Base %q", cb[0])
		}
	}
	return &desc, nil
}

// supportsGetParameter reports whether an OPTIONS answer lists
// GET_PARAMETER.
func supportsGetParameter(h base.Header) bool {
	for _, v := range h["Public"] {
		for m := range strings.SplitSeq(v, ",") {
			if base.Method(strings.TrimSpace(m)) == base.GetParameter {
				return true
			}
		}
	}
	return false
}

// setup sets up each planned track on its own pair of interleaved
// channels and returns the track of each RTP channel.
func (c *rtspConn) setup(desc *description.Session, plans []*trackPlan) (*[256]*trackPlan, error) {
	var byChannel [256]*trackPlan
	for i, p := range plans {
		u, err := p.media.URL(desc.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("setup %s: %w", p.track.Codec, err)
		}
		delivery := headers.TransportDeliveryUnicast
		th := headers.Transport{
			Profile: headers.TransportProfileAVP, Protocol: headers.TransportProtocolTCP,
			Delivery: &delivery, InterleavedIDs: &[2]int{2 * i, 2*i + 1},
		}
		res, err := c.do(&base.Request{Method: base.Setup, URL: u, Header: base.Header{"Transport": th.Marshal()}})
		if err == nil && res.StatusCode >= 300 {
			err = liberrors.ErrClientBadStatusCode{Code: res.StatusCode, Message: res.StatusMessage}
		}
		if err != nil {
			return nil, fmt.Errorf("setup %s: %w", p.track.Codec, err)
		}
		var got headers.Transport
		if err := got.Unmarshal(res.Header["Transport"]); err != nil {
			return nil, fmt.Errorf("setup %s: transport header: %w", p.track.Codec, err)
		}
		if got.Protocol != headers.TransportProtocolTCP {
			return nil, fmt.Errorf("setup %s: the camera answered a transport other than TCP", p.track.Codec)
		}
		ch := 2 * i
		if got.InterleavedIDs != nil {
			ch = got.InterleavedIDs[0]
		}
		if ch < 0 || ch > 254 || byChannel[ch] != nil {
			return nil, fmt.Errorf("setup %s: the camera answered unusable interleaved channels %d", p.track.Codec, ch)
		}
		byChannel[ch] = p
		if c.session == "" {
			var sh headers.Session
			if err := sh.Unmarshal(res.Header["Session"]); err != nil {
				return nil, fmt.Errorf("setup %s: session header: %w", p.track.Codec, err)
			}
			c.wmu.Lock()
			c.session = sh.Session
			c.wmu.Unlock()
			if sh.Timeout != nil && *sh.Timeout > 0 {
				c.sessionTimeout = time.Duration(*sh.Timeout) * time.Second
			}
		}
	}
	return &byChannel, nil
}

// play starts the stream and then keeps the session alive at half its
// timeout (GET_PARAMETER where the camera takes it, else OPTIONS), without
// waiting for the answers, which the play loop reads and drops. The
// connection's deadlines are lifted: from here the session's stall check
// decides when a silent camera is gone.
func (c *rtspConn) play(u *base.URL) error {
	c.wmu.Lock()
	c.playURL = u
	c.wmu.Unlock()
	res, err := c.do(&base.Request{Method: base.Play, URL: u, Header: base.Header{"Range": base.HeaderValue{"npt=0.000-"}}})
	if err == nil && res.StatusCode >= 300 {
		err = liberrors.ErrClientBadStatusCode{Code: res.StatusCode, Message: res.StatusMessage}
	}
	if err != nil {
		return fmt.Errorf("play: %w", err)
	}
	_ = c.nc.SetDeadline(time.Time{})
	method := base.Options
	if c.getParameter {
		method = base.GetParameter
	}
	every := max(c.sessionTimeout/2, time.Second)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var keepAlive func()
	keepAlive = func() {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if c.closed {
			return
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
		if err := c.writeLocked(&base.Request{Method: method, URL: u, Header: base.Header{}}); err != nil {
			_ = c.nc.Close() // the play loop reports the failure
			return
		}
		_ = c.nc.SetWriteDeadline(time.Time{})
		c.ka.Reset(every)
	}
	c.ka = time.AfterFunc(every, keepAlive)
	return nil
}

// read runs the play loop until the connection fails or is closed: each
// interleaved packet goes to onPacket with its channel, in place (pkt is
// valid only during the call). Answers to keep-alives are dropped; a
// request from the camera is answered 200 OK; bytes that are neither are
// skipped to resynchronise.
//
// While idle reports true (nobody watches the camera live), the loop naps
// batchEvery between reads and reads whatever the kernel holds into a
// buffer borrowed from the pool: one wake-up and one read per batch of
// frames instead of per frame, and no buffer of its own. Otherwise it
// reads at once into a buffer of its own. Bytes of a packet cut by the end
// of a read are carried to the next.
func (c *rtspConn) read(onPacket func(ch byte, pkt []byte), idle func() bool) error {
	if c.br != nil {
		// The handshake's reader may hold packets sent with the PLAY
		// answer.
		if n := c.br.Buffered(); n > 0 {
			b, _ := c.br.Peek(n)
			c.carry = append(c.carry[:0], b...)
		}
		c.br = nil
	}
	full := false
	for {
		batch := idle != nil && c.pool != nil && idle()
		if batch && !full && !c.nap() {
			return net.ErrClosed
		}
		var pooled *[]byte
		var buf []byte
		switch {
		case len(c.carry) > readBufferSize/2:
			// A packet larger than the buffers (up to 64 KiB) is being
			// received.
			buf = make([]byte, len(c.carry)+readBufferSize)
		case batch:
			pooled = c.pool.get()
			buf, c.own = *pooled, nil
		default:
			if len(c.own) < readBufferSize {
				c.own = make([]byte, readBufferSize)
			}
			buf = c.own
		}
		n := copy(buf, c.carry)
		m, rerr := c.readInto(buf[n:], pooled != nil)
		if pooled != nil && m == 0 && rerr == nil {
			// Nothing arrived during the nap: wait for the camera
			// without holding the pooled buffer.
			c.pool.put(pooled)
			pooled = nil
			if len(c.own) < len(c.carry)+waitBufferSize {
				c.own = make([]byte, len(c.carry)+waitBufferSize)
			}
			buf = c.own
			n = copy(buf, c.carry)
			m, rerr = c.rd.Read(buf[n:])
		}
		data := buf[:n+m]
		used, perr := c.parse(data, onPacket)
		if rest := data[used:]; cap(c.carry) > readBufferSize && len(rest) <= readBufferSize/2 {
			c.carry = append([]byte(nil), rest...)
		} else {
			c.carry = append(c.carry[:0], rest...)
		}
		full = n+m == len(buf)
		if pooled != nil {
			c.pool.put(pooled)
		}
		if perr != nil {
			return perr
		}
		if rerr != nil {
			return rerr
		}
	}
}

// lender lends the read buffers of batched reads; it counts the loans and
// the buffers out.
type lender struct {
	p          sync.Pool
	loans, out atomic.Int64
}

func newLender(size int) *lender {
	l := &lender{}
	l.p.New = func() any {
		b := make([]byte, size)
		return &b
	}
	return l
}

func (l *lender) get() *[]byte {
	l.loans.Add(1)
	l.out.Add(1)
	return l.p.Get().(*[]byte)
}

func (l *lender) put(b *[]byte) {
	l.out.Add(-1)
	l.p.Put(b)
}

// readInto reads into b. A batched read (probe) waits at most batchProbe
// for data, so that a camera gone quiet does not keep a pooled buffer: it
// returns 0 and no error when nothing came.
func (c *rtspConn) readInto(b []byte, probe bool) (int, error) {
	if !probe || c.nc == nil {
		return c.rd.Read(b)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(batchProbe))
	m, err := c.rd.Read(b)
	_ = c.nc.SetReadDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return m, nil
	}
	return m, err
}

// nap waits until the next multiple of batchEvery on the clock, or until
// the connection is closed (false). Every unwatched camera wakes at the
// same instants, so the node works through them in one burst and then
// sleeps, instead of waking (and the scheduler spinning) thousands of
// times a second at random.
//
// While it naps, the socket's SO_RCVLOWAT is raised to napLowat: the
// kernel then does not signal the camera's packets as they arrive (Go's
// poller would wake for each, a few per frame, to find nobody waiting),
// only the read after the nap takes them.
func (c *rtspConn) nap() bool {
	c.setLowat(napLowat)
	defer c.setLowat(1)
	d := batchEvery - time.Duration(time.Now().UnixNano()%int64(batchEvery))
	if c.napTimer == nil {
		c.napTimer = time.NewTimer(d)
	} else {
		c.napTimer.Reset(d)
	}
	select {
	case <-c.napTimer.C:
		return true
	case <-c.done:
		c.napTimer.Stop()
		return false
	}
}

// setLowat sets the socket's SO_RCVLOWAT, when it has a socket; a failure
// only costs wake-ups.
func (c *rtspConn) setLowat(n int) {
	if c.raw == nil {
		return
	}
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	})
}

// parse handles the whole packets and messages at the start of data and
// returns how many bytes they took; the rest is an incomplete one.
func (c *rtspConn) parse(data []byte, onPacket func(ch byte, pkt []byte)) (int, error) {
	i := 0
	for i < len(data) {
		b := data[i:]
		if b[0] == base.InterleavedFrameMagicByte {
			if len(b) < 4 {
				break
			}
			n := int(b[2])<<8 | int(b[3])
			if len(b) < 4+n {
				break
			}
			onPacket(b[1], b[4:4+n])
			i += 4 + n
			continue
		}
		k, err := c.message(b)
		if err != nil {
			return i, err
		}
		if k == 0 {
			break
		}
		i += k
	}
	return i, nil
}

// message handles the RTSP message at the start of b and returns its
// length, or 0 if b holds only part of it: a response is dropped, a
// request answered 200 OK. A byte that starts neither is skipped (1).
func (c *rtspConn) message(b []byte) (int, error) {
	if len(b) < 5 {
		return 0, nil
	}
	response := string(b[:5]) == "RTSP/"
	if !response && !(b[0] >= 'A' && b[0] <= 'Z' && b[1] >= 'A' && b[1] <= 'Z') {
		return 1, nil
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > maxMessage {
			return 0, errors.New("RTSP message header too long")
		}
		return 0, nil
	}
	total := end + 4 + contentLength(b[:end])
	if total > maxMessage {
		return 0, errors.New("RTSP message too long")
	}
	if len(b) < total {
		return 0, nil
	}
	br := bufio.NewReader(bytes.NewReader(b[:total]))
	if response {
		var res base.Response
		if err := res.Unmarshal(br); err != nil {
			return 0, fmt.Errorf("read response: %w", err)
		}
		return total, nil
	}
	var req base.Request
	if err := req.Unmarshal(br); err != nil {
		return 0, fmt.Errorf("read request: %w", err)
	}
	res := base.Response{StatusCode: base.StatusOK, StatusMessage: "OK", Header: base.Header{"CSeq": req.Header["CSeq"]}}
	out, err := res.Marshal()
	if err != nil {
		return 0, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.nc == nil {
		return total, nil
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err = c.nc.Write(out)
	_ = c.nc.SetWriteDeadline(time.Time{})
	return total, err
}

// contentLength returns the Content-Length of a message's header block
// (0 if absent or unreadable).
func contentLength(hdr []byte) int {
	for line := range bytes.SplitSeq(hdr, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	return 0
}
