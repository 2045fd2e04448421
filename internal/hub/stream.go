package hub

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stream is one camera's stream: the sink its source writes into, the GOP
// cache and the readers. The hub creates it on the first Attach and passes
// it to the SourceFunc; it implements Sink.
type Stream struct {
	hub *Hub
	id  string

	// media is the Media in force; read without the lock by Reader.Media.
	media atomic.Pointer[Media]
	// active counts the attached readers that are not passive; read
	// without the lock by Watched.
	active atomic.Int32

	// mu guards the fields below. WriteUnit holds it while it fans a unit
	// out, so nothing done under it may block.
	mu sync.Mutex
	// live are the readers that get units; a dropped or closed reader
	// leaves it. attached holds every reader not yet closed.
	live     []*Reader
	attached map[*Reader]struct{}
	// gop holds the units from the last keyframe on while caching is true.
	gop     []*Unit
	caching bool
	// warmUntil is when a stream whose last active reader left stops
	// caching its GOP; zero while active readers are attached or once
	// past.
	warmUntil time.Time
	// cancel stops the current source run; nil once the stream is removed.
	cancel context.CancelFunc
	// grace is the pending grace timer; graceGen invalidates a timer that
	// fires after it was superseded.
	grace    *time.Timer
	graceGen uint64
	running  bool
	online   bool
	units    uint64
	bytes    uint64
	drops    uint64
}

var _ Sink = (*Stream)(nil)

// SetMedia publishes m as the stream's Media and clears the GOP cache.
func (s *Stream) SetMedia(m *Media) {
	s.mu.Lock()
	s.media.Store(m)
	s.clearGOP()
	s.online = true
	s.mu.Unlock()
}

// SetOffline records that the source lost the camera and clears the GOP
// cache; readers stay attached and wait for the source to come back.
func (s *Stream) SetOffline(err error) {
	s.mu.Lock()
	s.clearGOP()
	s.online = false
	s.mu.Unlock()
	s.hub.log.Debug("source offline", "camera", s.id, "err", err)
}

// WriteUnit caches u in the GOP and queues it to every reader without
// blocking: a reader whose queue is full is dropped. u must not be modified
// afterwards.
func (s *Stream) WriteUnit(u *Unit) {
	if u == nil {
		return
	}
	s.hub.met.units.Inc()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.units++
	s.bytes += uint64(u.Size)
	s.online = true
	s.cacheGOP(u)
	if u.Recycle != nil && (len(s.live) != 1 || s.caching) {
		// Shared, or possibly cached: nobody may give its buffers back.
		u.Recycle = nil
	}
	n := 0
	for _, r := range s.live {
		select {
		case r.ch <- u:
			s.live[n] = r
			n++
		default:
			s.drop(r)
		}
	}
	clear(s.live[n:])
	s.live = s.live[:n]
}

// Watched reports whether an active (not passive) reader is attached. A
// source may deliver the units of an unwatched stream in batches.
func (s *Stream) Watched() bool { return s.active.Load() > 0 }

// wantGOP reports whether the stream caches its GOP: always with
// Config.CacheIdleGOP, else while watched and warm. The caller holds mu.
func (s *Stream) wantGOP() bool {
	if s.hub.cfg.CacheIdleGOP || s.active.Load() > 0 {
		return true
	}
	if s.warmUntil.IsZero() {
		return false
	}
	if time.Now().Before(s.warmUntil) {
		return true
	}
	s.warmUntil = time.Time{}
	return false
}

// cacheGOP keeps u if it starts or continues the cached GOP.
func (s *Stream) cacheGOP(u *Unit) {
	if !s.wantGOP() {
		if s.caching {
			s.clearGOP()
		}
		return
	}
	switch {
	case u.Key:
		s.clearGOP()
		s.caching = true
	case !s.caching:
		return
	case len(s.gop) >= s.hub.cfg.MaxGOP:
		s.clearGOP() // too long: wait for the next keyframe
		return
	}
	s.gop = append(s.gop, u)
}

func (s *Stream) clearGOP() {
	clear(s.gop)
	s.gop = s.gop[:0]
	s.caching = false
}

// drop ends r's feed: its queue is closed, so Read returns what it holds and
// then ErrDropped. r stays attached until it is closed. The caller holds mu
// and removes r from live.
func (s *Stream) drop(r *Reader) {
	r.state.Store(stateDropped)
	close(r.ch)
	s.drops++
	s.hub.met.drops.WithLabelValues(r.name).Inc()
	// Once per reader, and rare: logged under the lock.
	s.hub.log.Warn("reader fell behind; dropped", "camera", s.id, "reader", r.name, "queue_len", cap(r.ch))
}

// attach adds a reader, primed with the cached GOP unless opts.SkipGOP. The
// caller holds Hub.mu.
func (s *Stream) attach(opts ReaderOptions) *Reader {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.graceGen++
	var gop []*Unit
	if !opts.SkipGOP {
		gop = s.gop
	}
	r := &Reader{s: s, name: opts.Name, passive: opts.Passive, ch: make(chan *Unit, s.hub.cfg.QueueLen+len(gop))}
	if !r.passive {
		s.active.Add(1)
		s.warmUntil = time.Time{}
	}
	for _, u := range gop {
		r.ch <- u
	}
	s.live = append(s.live, r)
	s.attached[r] = struct{}{}
	s.hub.met.readers.Inc()
	return r
}

// detach closes r: Read returns ErrClosed from now on. The last reader
// leaving starts the grace timer unless the hub is closing.
func (s *Stream) detach(r *Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.attached[r]; !ok {
		return // closed already, or by Hub.Close
	}
	s.end(r)
	if len(s.attached) == 0 && s.cancel != nil {
		s.graceGen++
		gen := s.graceGen
		s.grace = time.AfterFunc(s.hub.cfg.Grace, func() { s.graceExpired(gen) })
	}
}

// end marks r closed and removes it from the stream. The caller holds mu.
func (s *Stream) end(r *Reader) {
	if r.state.Swap(stateClosed) == stateLive {
		close(r.ch)
		if i := slices.Index(s.live, r); i >= 0 {
			s.live = slices.Delete(s.live, i, i+1)
		}
	}
	delete(s.attached, r)
	s.hub.met.readers.Dec()
	if !r.passive && s.active.Add(-1) == 0 {
		s.warmUntil = time.Now().Add(s.hub.cfg.Warm)
	}
}

// graceExpired cancels the source if no reader came back since the timer
// numbered gen was started.
func (s *Stream) graceExpired(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.graceGen || len(s.attached) > 0 || s.cancel == nil {
		return
	}
	s.grace = nil
	s.hub.log.Debug("grace period over; closing source", "camera", s.id)
	s.cancel()
}

// shutdown ends every reader and the source; the caller holds Hub.mu and
// has cancelled the hub's context.
func (s *Stream) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.graceGen++
	for r := range s.attached {
		s.end(r)
	}
}

func (s *Stream) stats() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StreamStats{
		Readers: len(s.attached),
		Units:   s.units,
		Bytes:   s.bytes,
		Drops:   s.drops,
		GOP:     len(s.gop),
		Running: s.running,
		Online:  s.online,
	}
}

// run is the stream's one goroutine: it calls the SourceFunc, restarts it
// with a backoff when it returns on its own, and removes the stream once its
// context is cancelled with no reader left.
func (s *Stream) run(ctx context.Context) {
	defer s.hub.wg.Done()
	log := s.hub.log.With("camera", s.id)
	backoff := restartMin
	for {
		s.setRunning(true)
		start := time.Now()
		err := s.hub.cfg.Source(ctx, s.id, s)
		s.setRunning(false)
		if ctx.Err() == nil {
			if err == nil {
				err = errors.New("source returned")
			}
			if time.Since(start) >= restartMax {
				backoff = restartMin
			}
			wait := backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, restartMax)
			log.Warn("source failed; restarting", "err", err, "retry_in", wait)
			s.SetOffline(err)
			sleep(ctx, wait)
		}
		var ok bool
		if ctx, ok = s.next(ctx); !ok {
			return
		}
	}
}

func (s *Stream) setRunning(v bool) {
	s.mu.Lock()
	s.running = v
	s.mu.Unlock()
}

// next returns the context for the next source run: ctx while it is live, a
// fresh one if the grace timer cancelled it but a reader has attached since.
// Otherwise it removes the stream from the hub and returns false.
func (s *Stream) next(ctx context.Context) (context.Context, bool) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() == nil {
		return ctx, true
	}
	if !h.closed && len(s.attached) > 0 {
		ctx, s.cancel = context.WithCancel(h.ctx)
		return ctx, true
	}
	s.cancel = nil
	s.clearGOP()
	s.online = false
	delete(h.streams, s.id)
	h.met.streams.Dec()
	return nil, false
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
