package access_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/secret"
	"argus/internal/sqlite"
)

// openStore opens a real SQLite store in a temporary directory.
func openStore(t testing.TB) *sqlite.DB {
	t.Helper()
	sealer, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "argus.db"), sqlite.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mustOrgs creates organisations given as id → parent, parents first.
func mustOrgs(t testing.TB, s argus.OrgStore, orgs ...[2]string) {
	t.Helper()
	for _, o := range orgs {
		if err := s.CreateOrg(context.Background(), &argus.Org{ID: o[0], Name: o[0], Kind: argus.OrgCity, ParentID: o[1]}); err != nil {
			t.Fatalf("create org %s: %v", o[0], err)
		}
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// decisions is a Recorder that keeps every decision, or fails with fail
// when it is set.
type decisions struct {
	mu   sync.Mutex
	all  []argus.Decision
	fail error
}

func (r *decisions) Record(_ context.Context, d argus.Decision) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.all = append(r.all, d)
	return nil
}

func (r *decisions) list() []argus.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]argus.Decision(nil), r.all...)
}
