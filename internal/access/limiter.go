package access

import (
	"sync"
	"time"

	"argus"
)

// Password guessing is slowed and locked out on two keys (docs/api.md,
// "Brute force"):
//
//   - per account and client address: a burst of 5 attempts, then one every
//     12 s; after 10 consecutive failures the pair is locked out for 15
//     minutes, doubled at each further lock-out up to 24 hours. A success
//     resets the pair.
//   - per account, from any address: failures drain a bucket of 100,
//     refilled one every 10 s; while it is empty every attempt on the
//     account is refused. It slows a guesser spread over many
//     addresses without letting one address lock the account's owner out:
//     from one address the pair lock-out keeps an attacker far below the
//     account's rate.
const (
	pairBurst      = 5
	pairRefill     = 12 * time.Second
	lockoutAfter   = 10
	lockout        = 15 * time.Minute
	maxLockout     = 24 * time.Hour
	accountBurst   = 100
	accountRefill  = 10 * time.Second
	forgetLockouts = 24 * time.Hour // a pair without failures or lock-outs this long starts afresh
)

// maxThrottleKeys bounds the throttle's memory; beyond it, keys that hold
// nothing worth remembering (a full bucket, no failures) are forgotten.
const maxThrottleKeys = 10000

// ThrottledError is the ERATELIMIT failure of a sign-in the throttle
// refused before checking the password. RetryAfter says when the next
// attempt may be made.
type ThrottledError struct {
	RetryAfter time.Duration
	err        *argus.Error
}

// Error implements the error interface.
func (e *ThrottledError) Error() string { return e.err.Error() }

// Unwrap returns the ERATELIMIT *argus.Error, for argus.ErrorCode.
func (e *ThrottledError) Unwrap() error { return e.err }

func throttled(wait time.Duration, format string, args ...any) *ThrottledError {
	return &ThrottledError{RetryAfter: wait, err: argus.Errorf(argus.ERATELIMIT, format, args...)}
}

// bucket is a token bucket: tokens refill continuously up to the burst.
type bucket struct {
	tokens float64
	last   time.Time
}

// fill brings b up to now and reports its tokens.
func (b *bucket) fill(now time.Time, burst float64, refill time.Duration) float64 {
	b.tokens = min(burst, b.tokens+float64(now.Sub(b.last))/float64(refill))
	b.last = now
	return b.tokens
}

// pairState is one account's attempts from one client address.
type pairState struct {
	bucket
	failures    int // consecutive, since the last success or lock-out
	lockouts    int // since the last success
	lockedUntil time.Time
	lastFailure time.Time
}

// quiet reports whether the pair has neither failed nor been locked out
// for forgetLockouts, so that its failures and lock-outs may be forgotten.
func (p *pairState) quiet(now time.Time) bool {
	return !p.lastFailure.IsZero() && now.Sub(p.lastFailure) >= forgetLockouts && now.Sub(p.lockedUntil) >= forgetLockouts
}

// throttle counts sign-in attempts; it is owned by one Auth.
type throttle struct {
	now func() time.Time

	// mu guards pairs and accounts.
	mu       sync.Mutex
	pairs    map[string]*pairState // account "\x00" client
	accounts map[string]*bucket    // account → failures bucket
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, pairs: map[string]*pairState{}, accounts: map[string]*bucket{}}
}

// admit takes one attempt for account from client, or refuses it with a
// *ThrottledError; it is called before the password is checked.
func (t *throttle) admit(account, client string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	p := t.pair(account, client, now)
	if now.Before(p.lockedUntil) {
		return throttled(p.lockedUntil.Sub(now),
			"too many failed sign-in attempts: this account is locked out from your address for a while")
	}
	if a := t.accounts[account]; a != nil && a.fill(now, accountBurst, accountRefill) < 1 {
		return throttled(time.Duration((1-a.tokens)*float64(accountRefill)),
			"too many failed sign-in attempts on this account; try again later")
	}
	if p.fill(now, pairBurst, pairRefill) < 1 {
		return throttled(time.Duration((1-p.tokens)*float64(pairRefill)), "too many sign-in attempts; try again later")
	}
	p.tokens--
	return nil
}

// pair returns the state of account from client, creating it with a full
// bucket; t.mu is held. A quiet pair starts afresh.
func (t *throttle) pair(account, client string, now time.Time) *pairState {
	key := account + "\x00" + client
	p, ok := t.pairs[key]
	if ok && p.quiet(now) {
		ok = false
	}
	if !ok {
		if len(t.pairs) >= maxThrottleKeys {
			t.prune(now)
		}
		p = &pairState{bucket: bucket{tokens: pairBurst, last: now}}
		t.pairs[key] = p
	}
	return p
}

// failed records a failed attempt and returns how long the pair is now
// locked out, 0 when it is not.
func (t *throttle) failed(account, client string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	a := t.accounts[account]
	if a == nil {
		if len(t.accounts) >= maxThrottleKeys {
			t.prune(now)
		}
		a = &bucket{tokens: accountBurst, last: now}
		t.accounts[account] = a
	}
	a.fill(now, accountBurst, accountRefill)
	a.tokens = max(0, a.tokens-1)
	return t.failPair(account, client, now)
}

// failedPair is failed without the account-wide bucket: for attempts whose
// account is not known before they succeed (OIDC callbacks), throttled per
// client address alone.
func (t *throttle) failedPair(account, client string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failPair(account, client, t.now())
}

// failPair counts a failure of account from client and returns how long
// the pair is now locked out, 0 when it is not; t.mu is held.
func (t *throttle) failPair(account, client string, now time.Time) time.Duration {
	p := t.pair(account, client, now)
	p.lastFailure = now
	if p.failures++; p.failures < lockoutAfter {
		return 0
	}
	d := min(lockout<<min(p.lockouts, 10), maxLockout)
	p.failures, p.lockouts, p.lockedUntil = 0, p.lockouts+1, now.Add(d)
	return d
}

// succeeded forgets account's failures from client; the account-wide
// bucket refills on its own.
func (t *throttle) succeeded(account, client string) {
	t.mu.Lock()
	delete(t.pairs, account+"\x00"+client)
	t.mu.Unlock()
}

// prune drops the pairs and accounts that hold nothing worth keeping; t.mu
// is held.
func (t *throttle) prune(now time.Time) {
	for k, p := range t.pairs {
		if p.fill(now, pairBurst, pairRefill) >= pairBurst && (p.lastFailure.IsZero() || p.quiet(now)) {
			delete(t.pairs, k)
		}
	}
	for k, a := range t.accounts {
		if a.fill(now, accountBurst, accountRefill) >= accountBurst {
			delete(t.accounts, k)
		}
	}
}
