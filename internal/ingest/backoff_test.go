package ingest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 60 * time.Second}
	tests := []struct {
		name    string
		attempt int
		ceil    time.Duration
	}{
		{"first", 0, time.Second},
		{"second", 1, 2 * time.Second},
		{"fifth", 4, 16 * time.Second},
		{"just under the cap", 5, 32 * time.Second},
		{"capped", 6, 60 * time.Second},
		{"far past the cap", 40, 60 * time.Second},
		{"shift would overflow", 200, 60 * time.Second},
		{"max attempt", maxAttempt, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			const n = 20000
			var sum time.Duration
			var hi time.Duration
			seen := map[time.Duration]bool{}
			for range n {
				d := b.Delay(tt.attempt, r)
				if d < 0 || d > tt.ceil {
					t.Fatalf("Delay(%d) = %v, want within [0, %v]", tt.attempt, d, tt.ceil)
				}
				sum += d
				hi = max(hi, d)
				seen[d] = true
			}
			// Full jitter: uniform over [0, ceil], so the mean is ceil/2
			// and the draws spread over the whole range.
			mean := sum / n
			if lo, up := tt.ceil*45/100, tt.ceil*55/100; mean < lo || mean > up {
				t.Errorf("mean delay %v, want about %v", mean, tt.ceil/2)
			}
			if hi < tt.ceil*95/100 {
				t.Errorf("largest delay %v, want close to %v", hi, tt.ceil)
			}
			if len(seen) < n/2 {
				t.Errorf("only %d distinct delays in %d draws: not jittered", len(seen), n)
			}
		})
	}
	t.Run("seeded draws repeat", func(t *testing.T) {
		r1, r2 := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
		for i := range 10 {
			if d1, d2 := b.Delay(i, r1), b.Delay(i, r2); d1 != d2 {
				t.Fatalf("attempt %d: %v vs %v from equal seeds", i, d1, d2)
			}
		}
	})
}

// fakeSessions replaces the network session of an Ingest: each call waits
// onlineFor (marking the camera online first when positive) and returns
// the next error of errs (the last one repeats). It records when each call
// started.
type fakeSessions struct {
	mu        sync.Mutex
	calls     []time.Time
	errs      []error
	onlineFor []time.Duration
}

func (f *fakeSessions) session(ctx context.Context, c *camera, _ Sink) error {
	f.mu.Lock()
	i := len(f.calls)
	f.calls = append(f.calls, time.Now())
	err := f.errs[min(i, len(f.errs)-1)]
	var online time.Duration
	if i < len(f.onlineFor) {
		online = f.onlineFor[i]
	}
	f.mu.Unlock()
	if online > 0 {
		c.onlineAt = time.Now()
		c.setState(StateOnline, nil)
		if !sleep(ctx, online) {
			return ctx.Err()
		}
	}
	return err
}

func (f *fakeSessions) starts() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

func TestRunBackoff(t *testing.T) {
	offline := errors.New("connection refused")
	refused := liberrors.ErrClientBadStatusCode{Code: base.StatusUnauthorized, Message: "Unauthorized"}
	b := Backoff{Min: time.Second, Max: 60 * time.Second, Stable: 30 * time.Second}

	t.Run("waits grow to the cap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeSessions{errs: []error{offline}}
			h := newHarness(t, staticResolver(Target{}), func(c *Config) { c.Backoff = b })
			h.in.session = f.session
			stop := h.run(t, "cam", &recSink{})
			time.Sleep(30 * time.Minute)
			stop()
			starts := f.starts()
			// Mean wait is half the ceiling: about 0.5+1+2+4+8+16 s, then
			// 30 s each, so 30 minutes hold about 60 attempts.
			if len(starts) < 30 || len(starts) > 200 {
				t.Fatalf("%d attempts in 30 min, want about 60", len(starts))
			}
			for i := 1; i < len(starts); i++ {
				gap := starts[i].Sub(starts[i-1])
				ceil := min(b.Max, b.Min<<min(i-1, 10))
				if gap > ceil {
					t.Errorf("wait before attempt %d: %v, above its ceiling %v", i, gap, ceil)
				}
			}
			if hl, ok := h.in.Health("cam"); ok {
				t.Errorf("Health after Run returned = %+v, want none", hl)
			}
			if got := h.events.count(StateConnecting, StateOffline); got != len(starts) {
				t.Errorf("%d connecting→offline events, want one per attempt (%d)", got, len(starts))
			}
		})
	})

	t.Run("stable session resets the backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Eight quick failures push the ceiling to the cap; from then
			// on every other attempt stays online for Stable, so the wait
			// after it is back under Min (without the reset each would be
			// under Min with a chance of 1 in 60).
			stable := []int{8, 10, 12, 14}
			f := &fakeSessions{errs: []error{offline}, onlineFor: make([]time.Duration, 15)}
			for _, i := range stable {
				f.onlineFor[i] = b.Stable
			}
			h := newHarness(t, staticResolver(Target{}), func(c *Config) { c.Backoff = b })
			h.in.session = f.session
			stop := h.run(t, "cam", &recSink{})
			for len(f.starts()) < 16 {
				time.Sleep(time.Second)
			}
			stop()
			starts := f.starts()
			for _, i := range stable {
				if gap := starts[i+1].Sub(starts[i]) - b.Stable; gap > b.Min {
					t.Errorf("wait after stable session %d: %v, want at most %v", i, gap, b.Min)
				}
			}
		})
	})

	t.Run("refused credentials wait up to the cap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeSessions{errs: []error{refused}}
			sink := &recSink{}
			h := newHarness(t, staticResolver(Target{}), func(c *Config) { c.Backoff = b })
			h.in.session = f.session
			stop := h.run(t, "cam", sink)
			time.Sleep(10 * time.Minute)
			synctest.Wait()
			if got := h.state("cam"); got != StateUnauthorised {
				t.Errorf("state %q, want %q", got, StateUnauthorised)
			}
			stop()
			// Uniform waits in [0, 60 s]: about 20 attempts in 10 min.
			if n := len(f.starts()); n > 60 {
				t.Errorf("%d attempts in 10 min with refused credentials: spinning", n)
			}
			_, _, off := sink.snapshot()
			if len(off) == 0 || stateOf(off[0]) != StateUnauthorised {
				t.Errorf("SetOffline got %v, want the unauthorised error", off)
			}
		})
	})
}
