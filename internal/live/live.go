// Package live holds what the live-video protocols share: the record of a
// viewing session, so that every live view (WHEP, LL-HLS, RTSP re-serve) is
// attributable — who watched which camera, from where, from when to when —
// and the Sessions registry that records them and can end them.
//
// The protocols live in the sub-packages whep, llhls and rtspserver. Each
// one authorises a viewer through the one access gate before it attaches a
// hub reader, and registers the session here for its whole life.
//
// Browsers decode H.264 but not H.265: BrowserStream picks the hub stream
// a browser of a camera is served (the camera's own, its sub-stream, or an
// H.264 transcode that a Transcoder makes with ffmpeg), for WHEP and
// LL-HLS alike.
package live

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Protocol names a live-video protocol.
type Protocol string

// The live protocols.
const (
	ProtoWHEP Protocol = "whep"
	ProtoHLS  Protocol = "llhls"
	ProtoRTSP Protocol = "rtsp"
)

// Session is one viewer watching one camera live.
type Session struct {
	// ID identifies the session (the WHEP resource id, the HLS viewer
	// token, the RTSP session id).
	ID string `json:"id"`
	// Protocol is how the viewer watches.
	Protocol Protocol `json:"protocol"`
	// CameraID is the camera watched.
	CameraID string `json:"camera_id"`
	// UserID and OrgID say who watches (from the authenticated principal).
	UserID string `json:"user_id"`
	OrgID  string `json:"org_id"`
	// Client is the viewer's network address.
	Client string `json:"client"`
	// Start and End bound the session; End is zero while it runs.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Reason says why it ended ("closed by viewer", "idle", "revoked",
	// "shutdown", an error).
	Reason string `json:"reason,omitempty"`
}

// Recorder receives session starts and ends; the audit log implements it
// later. Calls must not block for long.
type Recorder interface {
	SessionStarted(s Session)
	SessionEnded(s Session)
}

// SlogRecorder writes sessions to a logger until the audit log exists.
type SlogRecorder struct{ log *slog.Logger }

// NewSlogRecorder returns a Recorder that logs to l (nil discards).
func NewSlogRecorder(l *slog.Logger) *SlogRecorder {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &SlogRecorder{log: l}
}

// SessionStarted logs the start of s.
func (r *SlogRecorder) SessionStarted(s Session) {
	r.log.Info("live session started", "session", s.ID, "protocol", s.Protocol, "camera", s.CameraID,
		"user", s.UserID, "org", s.OrgID, "client", s.Client)
}

// SessionEnded logs the end of s.
func (r *SlogRecorder) SessionEnded(s Session) {
	r.log.Info("live session ended", "session", s.ID, "protocol", s.Protocol, "camera", s.CameraID,
		"user", s.UserID, "org", s.OrgID, "client", s.Client, "duration", s.End.Sub(s.Start).Round(time.Millisecond),
		"reason", s.Reason)
}

// Sessions is the registry of open live sessions. Protocols Open a session
// when a viewer starts and call the returned end function when it stops;
// Close (revocation, shutdown) cancels the session's context so the
// protocol tears it down. It is safe for concurrent use.
type Sessions struct {
	rec Recorder
	now func() time.Time

	mu   sync.Mutex
	open map[string]*entry
}

type entry struct {
	s      Session
	cancel context.CancelCauseFunc
}

// NewSessions returns a registry reporting to rec (nil: a discarding
// SlogRecorder) with the clock now (nil: time.Now).
func NewSessions(rec Recorder, now func() time.Time) *Sessions {
	if rec == nil {
		rec = NewSlogRecorder(nil)
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{rec: rec, now: now, open: map[string]*entry{}}
}

// Open records the start of s (setting Start) and returns a context that is
// cancelled when the session is closed from outside, and the function the
// protocol calls once when the session ends, with the reason.
func (r *Sessions) Open(ctx context.Context, s Session) (context.Context, func(reason string)) {
	ctx, cancel := context.WithCancelCause(ctx)
	s.Start = r.now()
	r.mu.Lock()
	r.open[s.ID] = &entry{s: s, cancel: cancel}
	r.mu.Unlock()
	r.rec.SessionStarted(s)
	var once sync.Once
	return ctx, func(reason string) {
		once.Do(func() {
			r.mu.Lock()
			delete(r.open, s.ID)
			r.mu.Unlock()
			cancel(nil)
			s.End, s.Reason = r.now(), reason
			r.rec.SessionEnded(s)
		})
	}
}

// List returns the open sessions, for the API and for revocation.
func (r *Sessions) List() []Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Session, 0, len(r.open))
	for _, e := range r.open {
		out = append(out, e.s)
	}
	return out
}

// Close ends the open sessions that match (e.g. every session of a camera
// whose share was revoked) by cancelling their contexts with cause; the
// protocols then end them. It returns how many it closed.
func (r *Sessions) Close(match func(Session) bool, cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.open {
		if match(e.s) {
			e.cancel(cause)
			n++
		}
	}
	return n
}

// Recheck asks allowed about every open session, outside the registry's
// lock, and closes those it no longer allows, as Close does, with cause
// (for a share that was revoked or has expired). It returns how many it
// closed. A session opened while it runs is not asked: it passed the gate
// as it opened.
func (r *Sessions) Recheck(ctx context.Context, allowed func(ctx context.Context, s Session) bool, cause error) int {
	denied := map[string]bool{}
	for _, s := range r.List() {
		if ctx.Err() != nil {
			break
		}
		if !allowed(ctx, s) {
			denied[s.ID] = true
		}
	}
	if len(denied) == 0 {
		return 0
	}
	return r.Close(func(s Session) bool { return denied[s.ID] }, cause)
}
