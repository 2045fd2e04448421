package hub

import (
	"context"
	"sync/atomic"
)

// Reader states.
const (
	stateLive int32 = iota
	stateDropped
	stateClosed
)

// Reader receives one stream's units through its own bounded queue. Read it
// from one goroutine; Close may be called from any.
type Reader struct {
	s       *Stream
	name    string
	passive bool
	// ch is the queue; the stream closes it when it drops or closes the
	// reader, and is its only sender.
	ch chan *Unit
	// state is written under s.mu and read without it by Read.
	state atomic.Int32
}

// Read returns the next unit. Unless the reader was attached with SkipGOP,
// the first unit is the cached GOP's keyframe (when there is one). A reader
// that fell behind gets the units still queued and then ErrDropped; it
// should Close and attach again. After Close or Hub.Close, Read returns
// ErrClosed at once. Units are shared: do not modify them.
func (r *Reader) Read(ctx context.Context) (*Unit, error) {
	if r.state.Load() == stateClosed {
		return nil, ErrClosed
	}
	select {
	case u, ok := <-r.ch:
		if !ok {
			if r.state.Load() == stateDropped {
				return nil, ErrDropped
			}
			return nil, ErrClosed
		}
		return u, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Queued returns how many units wait in the reader's queue: a reader that
// batches its work (the recorder) finishes a batch when it reaches zero.
func (r *Reader) Queued() int { return len(r.ch) }

// Media returns the stream's current Media, or nil until the source has
// published one.
func (r *Reader) Media() *Media { return r.s.media.Load() }

// Close detaches the reader; the last reader leaving starts the stream's
// grace timer. It is safe to call more than once.
func (r *Reader) Close() { r.s.detach(r) }
