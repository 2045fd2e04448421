package access_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
)

const (
	annPassword = "ann's long password"
	wrongPass   = "not ann's password at all"
)

// throttleEnv is an Auth on a fake clock whose log is kept, with user ann.
type throttleEnv struct {
	a   *access.Auth
	clk *clock
	log *lockedBuffer
}

func newThrottleEnv(t *testing.T) *throttleEnv {
	t.Helper()
	db := openStore(t)
	e := &throttleEnv{clk: newClock(), log: &lockedBuffer{}}
	var err error
	e.a, err = access.NewAuth(access.AuthConfig{
		Store: db, Argon2: fastArgon2(), Now: e.clk.Now,
		Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, e.a, db, "ann", annPassword, argus.RoleViewer, false)
	return e
}

// try signs in as user from client and returns the error; a throttled
// attempt also returns how long to wait.
func (e *throttleEnv) try(t *testing.T, client, user, pw string) (time.Duration, error) {
	t.Helper()
	_, err := e.a.Verify(access.WithClient(t.Context(), client), user, pw)
	var te *access.ThrottledError
	if errors.As(err, &te) {
		if argus.ErrorCode(err) != argus.ERATELIMIT {
			t.Fatalf("throttled error %v has code %q, want %q", err, argus.ErrorCode(err), argus.ERATELIMIT)
		}
		return te.RetryAfter, err
	}
	return 0, err
}

func (e *throttleEnv) mustFail(t *testing.T, client string) {
	t.Helper()
	if _, err := e.try(t, client, "ann", wrongPass); argus.ErrorCode(err) != argus.EUNAUTHORIZED {
		t.Fatalf("wrong password from %s = %v, want EUNAUTHORIZED", client, err)
	}
}

func (e *throttleEnv) mustThrottle(t *testing.T, client string, wait time.Duration) {
	t.Helper()
	// The right password: a throttled attempt is refused before it is
	// checked.
	if got, err := e.try(t, client, "ann", annPassword); argus.ErrorCode(err) != argus.ERATELIMIT || got != wait {
		t.Fatalf("attempt from %s = %v, retry after %v; want ERATELIMIT, retry after %v", client, err, got, wait)
	}
}

func (e *throttleEnv) mustSucceed(t *testing.T, client string) {
	t.Helper()
	if _, err := e.try(t, client, "ann", annPassword); err != nil {
		t.Fatalf("right password from %s = %v, want success", client, err)
	}
}

func TestSignInSlowedPerAccountAndAddress(t *testing.T) {
	e := newThrottleEnv(t)
	for range 5 {
		e.mustFail(t, "192.0.2.1")
	}
	e.mustThrottle(t, "192.0.2.1", 12*time.Second)
	e.mustSucceed(t, "192.0.2.2") // another address
	e.clk.Advance(6 * time.Second)
	e.mustThrottle(t, "192.0.2.1", 6*time.Second)
	e.clk.Advance(6 * time.Second)
	e.mustSucceed(t, "192.0.2.1")
	// A success resets the pair: a full burst again.
	for range 5 {
		e.mustFail(t, "192.0.2.1")
	}
	if _, err := e.try(t, "192.0.2.1", "bob", wrongPass); argus.ErrorCode(err) != argus.EUNAUTHORIZED {
		t.Fatalf("another account from the same address = %v, want EUNAUTHORIZED (not throttled)", err)
	}
	if _, err := e.try(t, "192.0.2.1", " ANN ", annPassword); argus.ErrorCode(err) != argus.ERATELIMIT {
		t.Fatalf("the same account in another case = %v, want ERATELIMIT", err)
	}
}

func TestSignInLockout(t *testing.T) {
	e := newThrottleEnv(t)
	const attacker, owner = "198.51.100.7", "192.0.2.1"
	fail10 := func() {
		t.Helper()
		for range 10 {
			e.mustFail(t, attacker)
			e.clk.Advance(12 * time.Second) // stay within the rate
		}
	}
	fail10()
	e.mustThrottle(t, attacker, 15*time.Minute-12*time.Second)
	e.mustSucceed(t, owner) // the lock-out is per address
	e.clk.Advance(15 * time.Minute)
	// The next lock-out lasts twice as long, then four times.
	fail10()
	e.mustThrottle(t, attacker, 30*time.Minute-12*time.Second)
	e.clk.Advance(30 * time.Minute)
	fail10()
	e.mustThrottle(t, attacker, time.Hour-12*time.Second)
	e.clk.Advance(time.Hour)
	// A success resets the count: nine failures do not lock.
	e.mustSucceed(t, attacker)
	for range 9 {
		e.mustFail(t, attacker)
		e.clk.Advance(12 * time.Second)
	}
	e.mustSucceed(t, attacker)

	logs := e.log.String()
	for _, want := range []string{"sign-in failed", "sign-in locked out after repeated failures", "sign-in refused: too many attempts", "client=" + attacker} {
		if !strings.Contains(logs, want) {
			t.Errorf("log has no %q:\n%s", want, logs)
		}
	}
	for _, pw := range []string{annPassword, wrongPass} {
		if strings.Contains(logs, pw) {
			t.Errorf("log holds a password %q", pw)
		}
	}
}

func TestSignInLockoutCapped(t *testing.T) {
	e := newThrottleEnv(t)
	var last time.Duration
	for range 12 {
		for range 10 {
			e.mustFail(t, "198.51.100.7")
			e.clk.Advance(12 * time.Second)
		}
		last, _ = e.try(t, "198.51.100.7", "ann", annPassword)
		e.clk.Advance(last)
	}
	if want := 24*time.Hour - 12*time.Second; last != want {
		t.Fatalf("lock-out after 12 rounds = %v, want the cap %v", last, want)
	}
}

func TestSignInThrottledPerAccountAcrossAddresses(t *testing.T) {
	e := newThrottleEnv(t)
	for i := range 100 {
		e.mustFail(t, fmt.Sprintf("203.0.113.%d", i))
	}
	// 100 failures from 100 addresses empty the account's bucket: the
	// owner, from an address that never failed, waits too.
	e.mustThrottle(t, "192.0.2.1", 10*time.Second)
	e.clk.Advance(10 * time.Second)
	e.mustSucceed(t, "192.0.2.1")
}

// TestOneAddressCannotLockTheOwnerOut guesses from one address as fast as
// the throttle lets it for a day: the owner, from another address, is
// never refused.
func TestOneAddressCannotLockTheOwnerOut(t *testing.T) {
	e := newThrottleEnv(t)
	end := e.clk.Now().Add(24 * time.Hour)
	guesses := 0
	for e.clk.Now().Before(end) {
		wait, err := e.try(t, "198.51.100.7", "ann", wrongPass)
		if wait > 0 {
			e.mustSucceed(t, "192.0.2.1")
			e.clk.Advance(wait)
			continue
		}
		if argus.ErrorCode(err) != argus.EUNAUTHORIZED {
			t.Fatalf("guess = %v", err)
		}
		guesses++
	}
	// 10 per lock-out, lock-outs of 15 min, 30 min, 1 h, … 16 h: about
	// 70 guesses a day, not 7,200.
	if guesses > 100 {
		t.Fatalf("%d guesses in a day from one address, want at most 100", guesses)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent logging.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
