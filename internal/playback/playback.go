// Package playback serves recorded video: the timeline of a camera's
// recorded ranges and gaps, and HLS VOD of any range, straight from the
// recorded fMP4 segments (docs/playback.md).
//
// Nothing is re-encoded. A playlist lists each segment file of the range
// with its own init (EXT-X-MAP) and cuts it into parts of about
// PartDuration; a part is the segment's fragments that start in its window,
// served with their decode times moved onto the Unix epoch (the segment's
// start plus its own decode time), so that consecutive segments of one
// recording play on as one stream and a gap is a jump in time, marked with
// EXT-X-DISCONTINUITY and EXT-X-PROGRAM-DATE-TIME. The first part of a
// playlist starts at the keyframe at or before the requested instant.
//
// A playlist opens a playback session: the parts and inits it names carry
// the session's id, and are served only to the viewer who opened it, only
// for the camera and range it was opened for, for as long as it is used.
// The session is what the authorisation (and its audit record) of the
// playlist request covers.
package playback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"argus"
	"argus/internal/events"
	"argus/internal/segment"
)

// Defaults of Config.
const (
	DefaultPartDuration = 6 * time.Second
	DefaultSessionTTL   = time.Hour
	DefaultMaxSessions  = 10000
	// MaxRange is the longest range one playlist or timeline covers.
	MaxRange = 31 * 24 * time.Hour
)

// Config configures a Service.
type Config struct {
	// Store holds the recordings.
	Store segment.Store
	// PartDuration is the nominal length of a playlist part. It must be at
	// least twice the recorder's fragment duration, so that every part
	// holds a fragment; 0 means DefaultPartDuration.
	PartDuration time.Duration
	// SessionTTL ends a playback session unused for that long; 0 means
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// MaxSessions bounds the open sessions; the least recently used goes
	// first. 0 means DefaultMaxSessions.
	MaxSessions int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives errors serving files; nil discards them.
	Logger *slog.Logger
	// Events, when set, returns a camera's events in [from, to), oldest
	// first, for the timeline; nil leaves the timeline without events.
	Events func(ctx context.Context, camera string, from, to time.Time) ([]Event, error)
}

// Service answers timeline and playback requests. It is safe for concurrent
// use.
type Service struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
}

// session is what one playlist request authorised.
type session struct {
	id       string
	camera   string
	user     string
	from, to time.Time
	last     time.Time
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("playback: no segment store")
	case cfg.PartDuration < 0, cfg.SessionTTL < 0, cfg.MaxSessions < 0:
		return nil, fmt.Errorf("playback: negative part duration, session TTL or session limit")
	}
	if cfg.PartDuration == 0 {
		cfg.PartDuration = DefaultPartDuration
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: log, sessions: make(map[string]*session)}, nil
}

// Span is a range of time [From, To) as the API shows it.
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Event is a marker on the timeline: one of the camera's events, the
// object the event API shows (docs/events.md).
type Event = events.Event

// MaxTimelineEvents is the most events one timeline holds.
const MaxTimelineEvents = events.MaxRange

// Timeline is a camera's recorded ranges and gaps over a requested range.
type Timeline struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Ranges []Span    `json:"ranges"`
	Gaps   []Span    `json:"gaps"`
	Events []Event   `json:"events"`
}

// CheckRange validates a requested [from, to): both set, from before to,
// at most MaxRange long. Errors are EINVALID naming the field.
func CheckRange(from, to time.Time) error {
	switch {
	case from.IsZero():
		return argus.FieldErrorf("from", "from is required (RFC 3339)")
	case to.IsZero():
		return argus.FieldErrorf("to", "to is required (RFC 3339)")
	case !from.Before(to):
		return argus.FieldErrorf("to", "to must be after from")
	case to.Sub(from) > MaxRange:
		return argus.FieldErrorf("to", "a range covers at most %v", MaxRange)
	}
	return nil
}

// Timeline returns camera's recorded ranges and gaps in [from, to), merged
// from the segment layout (segment.Ranges), and its events over the range,
// oldest first, at most MaxTimelineEvents.
func (s *Service) Timeline(ctx context.Context, camera string, from, to time.Time) (*Timeline, error) {
	if err := CheckRange(from, to); err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	ranges, err := segment.Ranges(ctx, s.cfg.Store, camera, from, to, s.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("timeline of %s: %w", camera, err)
	}
	tl := &Timeline{From: from, To: to, Ranges: spans(ranges), Gaps: spans(segment.Gaps(ranges, from, to)), Events: []Event{}}
	if s.cfg.Events != nil {
		evs, err := s.cfg.Events(ctx, camera, from, to)
		if err != nil {
			return nil, fmt.Errorf("events of %s: %w", camera, err)
		}
		if len(evs) > MaxTimelineEvents {
			evs = evs[:MaxTimelineEvents]
		}
		tl.Events = append(tl.Events, evs...)
	}
	return tl, nil
}

func spans(rs []segment.Range) []Span {
	out := make([]Span, 0, len(rs))
	for _, r := range rs {
		out = append(out, Span{From: r.From.UTC(), To: r.To.UTC()})
	}
	return out
}

// open starts a session for viewer over camera's [from, to).
func (s *Service) open(camera, user string, from, to time.Time) (*session, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("session id: %w", err)
	}
	now := s.cfg.Now()
	ss := &session{id: hex.EncodeToString(b[:]), camera: camera, user: user, from: from, to: to, last: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if len(s.sessions) >= s.cfg.MaxSessions {
		var oldest *session
		for _, o := range s.sessions {
			if oldest == nil || o.last.Before(oldest.last) {
				oldest = o
			}
		}
		delete(s.sessions, oldest.id)
	}
	s.sessions[ss.id] = ss
	return ss, nil
}

// expire drops the sessions unused for SessionTTL. s.mu is held.
func (s *Service) expire(now time.Time) {
	for id, o := range s.sessions {
		if now.Sub(o.last) > s.cfg.SessionTTL {
			delete(s.sessions, id)
		}
	}
}

// use returns the session id of user for camera, noting its use.
func (s *Service) use(id, camera, user string) (*session, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[id]
	if ss != nil && now.Sub(ss.last) > s.cfg.SessionTTL {
		delete(s.sessions, id)
		ss = nil
	}
	if ss == nil || ss.camera != camera || ss.user != user {
		return nil, argus.Errorf(argus.EFORBIDDEN, "no playback session %q of this viewer for camera %q; request the playlist again", id, camera)
	}
	ss.last = now
	return ss, nil
}

// Sessions returns the number of open playback sessions.
func (s *Service) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.cfg.Now())
	return len(s.sessions)
}
