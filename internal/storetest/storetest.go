// Package storetest is the conformance suite for argus.Store: every metadata
// backend (the embedded SQLite store, PostgreSQL) runs the same cases, so
// the rest of argus can rely on the contract in store.go rather than on one
// implementation.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"argus"
)

// Opener returns a new, empty store for one test and closes it when the test
// ends (with t.Cleanup).
type Opener func(t *testing.T) argus.Store

// Run runs the whole suite, each case on a fresh store from open.
func Run(t *testing.T, open Opener) {
	t.Run("orgs", func(t *testing.T) { testOrgs(t, open(t)) })
	t.Run("org errors", func(t *testing.T) { testOrgErrors(t, open(t)) })
	t.Run("users", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("user errors", func(t *testing.T) { testUserErrors(t, open(t)) })
	t.Run("tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("token errors", func(t *testing.T) { testTokenErrors(t, open(t)) })
	t.Run("cameras", func(t *testing.T) { testCameras(t, open(t)) })
	t.Run("camera errors", func(t *testing.T) { testCameraErrors(t, open(t)) })
	t.Run("camera update reindexes", func(t *testing.T) { testCameraUpdateReindexes(t, open(t)) })
	RunDirectory(t, open)
	t.Run("bulk", func(t *testing.T) { testBulk(t, open(t)) })
	t.Run("bulk rollback", func(t *testing.T) { testBulkRollback(t, open(t)) })
	t.Run("holds", func(t *testing.T) { testHolds(t, open(t)) })
	t.Run("hold errors", func(t *testing.T) { testHoldErrors(t, open(t)) })
	t.Run("shares", func(t *testing.T) { testShares(t, open(t)) })
	t.Run("share errors", func(t *testing.T) { testShareErrors(t, open(t)) })
	t.Run("emergency grants", func(t *testing.T) { testEmergencyGrants(t, open(t)) })
	t.Run("emergency grant errors", func(t *testing.T) { testEmergencyGrantErrors(t, open(t)) })
	t.Run("ping", func(t *testing.T) {
		if err := open(t).Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// RunDirectory runs the directory cases alone (listings, counts and grids
// checked against brute force), for a backend that repeats them under
// another configuration. Run includes them.
func RunDirectory(t *testing.T, open Opener) {
	t.Run("directory", func(t *testing.T) { testDirectory(t, open(t)) })
	t.Run("directory errors", func(t *testing.T) { testDirectoryErrors(t, open(t)) })
}

// wantError fails unless err carries code and, when field is not empty,
// names field.
func wantError(t *testing.T, err error, code, field string) {
	t.Helper()
	if got := argus.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
	var e *argus.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *argus.Error", err)
	}
	if field != "" && e.Field != field {
		t.Fatalf("error %v names field %q, want %q", err, e.Field, field)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot renders everything a store holds, credentials and hashes
// included, so a failed operation can be shown to have changed nothing.
func snapshot(t *testing.T, s argus.Store) []string {
	t.Helper()
	ctx := t.Context()
	var out []string
	orgs, err := s.Orgs(ctx)
	must(t, err)
	for _, o := range orgs {
		out = append(out, fmt.Sprintf("org %+v", *o))
	}
	users, err := s.Users(ctx, "")
	must(t, err)
	for _, u := range users {
		out = append(out, fmt.Sprintf("user %+v", *u))
		tokens, err := s.Tokens(ctx, u.ID)
		must(t, err)
		for _, tok := range tokens {
			out = append(out, fmt.Sprintf("token %+v", *tok))
		}
	}
	for _, c := range walk(t, s, argus.CameraFilter{}, argus.MaxPageSize) {
		full, err := s.Camera(ctx, c.ID)
		must(t, err)
		out = append(out, fmt.Sprintf("camera %+v", *full))
	}
	n, err := s.CountCameras(ctx, argus.CameraFilter{})
	must(t, err)
	out = append(out, fmt.Sprintf("count %d", n))
	holds, err := s.Holds(ctx, argus.HoldFilter{})
	must(t, err)
	for _, h := range holds {
		out = append(out, fmt.Sprintf("hold %+v", *h))
	}
	shares, err := s.Shares(ctx, argus.ShareFilter{})
	must(t, err)
	for _, sh := range shares {
		out = append(out, fmt.Sprintf("share %+v area %v", *sh, sh.Area))
	}
	return out
}

func unchanged(t *testing.T, s argus.Store, before []string) {
	t.Helper()
	if after := snapshot(t, s); !slices.Equal(before, after) {
		t.Fatalf("store changed:\nbefore %q\nafter  %q", before, after)
	}
}

// walk lists every camera matching f, page by page, checking the pages.
func walk(t *testing.T, s argus.Store, f argus.CameraFilter, limit int) []*argus.Camera {
	t.Helper()
	var all []*argus.Camera
	q := argus.CameraQuery{CameraFilter: f, Limit: limit}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		page, err := s.FindCameras(t.Context(), q)
		must(t, err)
		if len(page.Items) > argus.PageLimit(limit) {
			t.Fatalf("page holds %d items, limit %d", len(page.Items), limit)
		}
		if page.Next != "" && len(page.Items) < argus.PageLimit(limit) {
			t.Fatalf("short page (%d of %d) has a next cursor", len(page.Items), limit)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		q.After = page.Next
	}
}

func ids(cams []*argus.Camera) []string {
	out := make([]string, len(cams))
	for i, c := range cams {
		out[i] = c.ID
	}
	return out
}

// sameCamera reports how a and b differ ("" if they do not), comparing
// times by instant and nil and empty tags and labels alike.
func sameCamera(a, b *argus.Camera) string {
	norm := func(c *argus.Camera) argus.Camera {
		cp := *c
		if len(cp.Tags) == 0 {
			cp.Tags = nil
		}
		if len(cp.Labels) == 0 {
			cp.Labels = nil
		}
		cp.CreatedAt, cp.UpdatedAt = time.Time{}, time.Time{}
		return cp
	}
	na, nb := norm(a), norm(b)
	if fmt.Sprintf("%+v", na) != fmt.Sprintf("%+v", nb) {
		return fmt.Sprintf("\n got %+v\nwant %+v", na, nb)
	}
	if !a.CreatedAt.Equal(b.CreatedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) {
		return fmt.Sprintf("times %v/%v, want %v/%v", a.CreatedAt, a.UpdatedAt, b.CreatedAt, b.UpdatedAt)
	}
	return ""
}

// stamp is a time as stores keep it: UTC, to the microsecond.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
