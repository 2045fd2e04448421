package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type memRecorder struct {
	mu           sync.Mutex
	started, end []Session
}

func (m *memRecorder) SessionStarted(s Session) {
	m.mu.Lock()
	m.started = append(m.started, s)
	m.mu.Unlock()
}
func (m *memRecorder) SessionEnded(s Session) { m.mu.Lock(); m.end = append(m.end, s); m.mu.Unlock() }

func TestSessionsRecordStartAndEndOnce(t *testing.T) {
	rec := &memRecorder{}
	clock := time.Date(2026, 11, 27, 14, 3, 0, 0, time.UTC)
	r := NewSessions(rec, func() time.Time { clock = clock.Add(time.Second); return clock })
	_, end := r.Open(t.Context(), Session{ID: "s1", Protocol: ProtoWHEP, CameraID: "cam-1", UserID: "u1", OrgID: "pd"})
	if got := r.List(); len(got) != 1 || got[0].ID != "s1" {
		t.Fatalf("List = %v, want the open session", got)
	}
	end("closed by viewer")
	end("twice")
	if len(r.List()) != 0 {
		t.Fatal("ended session still listed")
	}
	if len(rec.started) != 1 || len(rec.end) != 1 {
		t.Fatalf("recorded %d starts and %d ends, want 1 and 1", len(rec.started), len(rec.end))
	}
	e := rec.end[0]
	if e.Reason != "closed by viewer" || e.End.Sub(e.Start) != time.Second || e.UserID != "u1" || e.CameraID != "cam-1" {
		t.Fatalf("ended session = %+v", e)
	}
}

func TestSessionsCloseCancelsMatching(t *testing.T) {
	r := NewSessions(nil, nil)
	ctx1, end1 := r.Open(t.Context(), Session{ID: "a", CameraID: "cam-1"})
	ctx2, end2 := r.Open(t.Context(), Session{ID: "b", CameraID: "cam-2"})
	defer end1("test")
	defer end2("test")
	revoked := errors.New("share revoked")
	if n := r.Close(func(s Session) bool { return s.CameraID == "cam-1" }, revoked); n != 1 {
		t.Fatalf("closed %d sessions, want 1", n)
	}
	if !errors.Is(context.Cause(ctx1), revoked) {
		t.Fatalf("cause = %v, want the revocation", context.Cause(ctx1))
	}
	if ctx2.Err() != nil {
		t.Fatal("a session of another camera was cancelled")
	}
}

func TestSessionsRecheckClosesTheDenied(t *testing.T) {
	r := NewSessions(nil, nil)
	ctxA, endA := r.Open(t.Context(), Session{ID: "a", CameraID: "cam-1", UserID: "u1", OrgID: "police"})
	ctxB, endB := r.Open(t.Context(), Session{ID: "b", CameraID: "cam-1", UserID: "u2", OrgID: "fire"})
	defer endA("test")
	defer endB("test")
	revoked := errors.New("share revoked")
	var asked []string
	n := r.Recheck(t.Context(), func(_ context.Context, s Session) bool {
		asked = append(asked, s.ID)
		// Re-entering the registry must not deadlock: allowed runs
		// outside its lock.
		_ = r.List()
		return s.OrgID == "fire"
	}, revoked)
	if n != 1 || len(asked) != 2 {
		t.Fatalf("Recheck closed %d after asking about %v, want 1 after asking about both", n, asked)
	}
	if !errors.Is(context.Cause(ctxA), revoked) {
		t.Fatalf("denied session's cause = %v, want the revocation", context.Cause(ctxA))
	}
	if ctxB.Err() != nil {
		t.Fatal("an allowed session was cancelled")
	}
	if n := r.Recheck(t.Context(), func(context.Context, Session) bool { return true }, revoked); n != 0 {
		t.Fatalf("Recheck allowing everything closed %d", n)
	}
}
