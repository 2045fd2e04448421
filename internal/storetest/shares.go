package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"argus"
)

// shareT0 is the start of the suite's share validity ranges.
var shareT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func share(id, owner, grantee string, from, until time.Duration) *argus.Share {
	return &argus.Share{ID: id, OwnerOrgID: owner, GranteeOrgID: grantee, CameraIDs: []string{"cam-1"},
		Actions: []argus.Action{argus.ActionLive}, ValidFrom: shareT0.Add(from), ValidUntil: shareT0.Add(until),
		Purpose: "operation " + id, CreatedBy: "u-orgadmin"}
}

func shareIDs(shares []*argus.Share) []string {
	out := []string{}
	for _, s := range shares {
		out = append(out, s.ID)
	}
	return out
}

// sameShare reports how a and b differ ("" if they do not), comparing
// times by instant.
func sameShare(a, b *argus.Share) string {
	norm := func(s *argus.Share) string {
		cp := *s
		cp.ValidFrom, cp.ValidUntil, cp.CreatedAt, cp.RevokedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		area := "<nil>"
		if cp.Area != nil {
			area = fmt.Sprintf("%+v", *cp.Area)
		}
		cp.Area = nil
		return fmt.Sprintf("%+v area %s", cp, area)
	}
	if norm(a) != norm(b) {
		return fmt.Sprintf("\n got %s\nwant %s", norm(a), norm(b))
	}
	if !a.ValidFrom.Equal(b.ValidFrom) || !a.ValidUntil.Equal(b.ValidUntil) || !a.CreatedAt.Equal(b.CreatedAt) ||
		!a.RevokedAt.Equal(b.RevokedAt) {
		return fmt.Sprintf("times %v..%v created %v revoked %v, want %v..%v created %v revoked %v",
			a.ValidFrom, a.ValidUntil, a.CreatedAt, a.RevokedAt, b.ValidFrom, b.ValidUntil, b.CreatedAt, b.RevokedAt)
	}
	return ""
}

func testShares(t *testing.T, s argus.Store) {
	ctx := t.Context()
	for _, o := range []string{"a", "b", "c"} {
		must(t, s.CreateOrg(ctx, org(o, "")))
	}
	// Created c, b, a: newest first is also id order, so ties in
	// CreatedAt cannot change the expected order.
	before := time.Now().Add(-time.Second)
	sc := share("share-c", "a", "b", 0, 24*time.Hour)
	sc.ValidFrom = sc.ValidFrom.Add(1500 * time.Nanosecond)
	sc.CameraIDs = []string{"cam-2", " cam-1", "cam-2"}
	sc.Tags = []string{"Traffic", "school"}
	sc.Area = &argus.Area{BBox: []float64{-74.1, 40.6, -73.9, 40.8}, Polygon: [][]float64{{-74, 40.7}, {-73.95, 40.75}, {-74, 40.75}}}
	sc.Actions = []argus.Action{argus.ActionPlayback, argus.ActionLive, argus.ActionLive}
	sc.Purpose = "  joint operation, agreement 2026-14  "
	must(t, s.CreateShare(ctx, sc))
	if !sc.ValidFrom.Equal(shareT0.Add(time.Microsecond)) || sc.CreatedAt.Before(before) ||
		sc.CreatedAt.After(time.Now().Add(time.Second)) || sc.Revoked() {
		t.Fatalf("CreateShare set %+v; want valid_from truncated to the microsecond, CreatedAt about now, not revoked", *sc)
	}
	if !slices.Equal(sc.CameraIDs, []string{"cam-1", "cam-2"}) || !slices.Equal(sc.Tags, []string{"school", "traffic"}) ||
		!slices.Equal(sc.Actions, []argus.Action{argus.ActionLive, argus.ActionPlayback}) || sc.Purpose != "joint operation, agreement 2026-14" {
		t.Fatalf("CreateShare kept %+v; want camera ids, tags and actions sorted and unique, the purpose trimmed", *sc)
	}
	got, err := s.Share(ctx, "share-c")
	must(t, err)
	if d := sameShare(got, sc); d != "" {
		t.Fatalf("Share differs: %s", d)
	}
	must(t, s.CreateShare(ctx, share("share-b", "b", "c", time.Hour, 2*time.Hour)))
	must(t, s.CreateShare(ctx, share("share-a", "c", "a", -2*time.Hour, -time.Hour)))

	list := func(t *testing.T, f argus.ShareFilter) []string {
		t.Helper()
		shares, err := s.Shares(ctx, f)
		must(t, err)
		return shareIDs(shares)
	}
	for _, tc := range []struct {
		name string
		f    argus.ShareFilter
		want []string
	}{
		{"all, newest first", argus.ShareFilter{}, []string{"share-a", "share-b", "share-c"}},
		{"granted or received by a", argus.ShareFilter{OrgIDs: []string{"a"}}, []string{"share-a", "share-c"}},
		{"granted or received by b or c", argus.ShareFilter{OrgIDs: []string{"c", "b"}}, []string{"share-a", "share-b", "share-c"}},
		{"granted by b", argus.ShareFilter{OwnerOrgID: "b"}, []string{"share-b"}},
		{"received by b", argus.ShareFilter{GranteeOrgID: "b"}, []string{"share-c"}},
		{"owner and grantee", argus.ShareFilter{OwnerOrgID: "a", GranteeOrgID: "c"}, []string{}},
		{"current, including not yet begun", argus.ShareFilter{CurrentAt: shareT0}, []string{"share-b", "share-c"}},
		{"current ends exclusive", argus.ShareFilter{CurrentAt: shareT0.Add(2 * time.Hour)}, []string{"share-c"}},
		{"current just before the end", argus.ShareFilter{CurrentAt: shareT0.Add(2*time.Hour - time.Microsecond)}, []string{"share-b", "share-c"}},
		{"current and received", argus.ShareFilter{CurrentAt: shareT0, GranteeOrgID: "c"}, []string{"share-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(t, tc.f); !slices.Equal(got, tc.want) {
				t.Fatalf("Shares(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}

	// Revoking keeps the row, with who, when and why.
	revoked, err := s.RevokeShare(ctx, "share-c", "u-orgadmin", "  operation over ")
	must(t, err)
	if !revoked.Revoked() || revoked.RevokedBy != "u-orgadmin" || revoked.RevokeReason != "operation over" ||
		revoked.RevokedAt.Before(sc.CreatedAt) {
		t.Fatalf("RevokeShare = %+v", *revoked)
	}
	want := *sc
	want.RevokedAt, want.RevokedBy, want.RevokeReason = revoked.RevokedAt, "u-orgadmin", "operation over"
	if d := sameShare(revoked, &want); d != "" {
		t.Fatalf("RevokeShare returned a different share: %s", d)
	}
	got, err = s.Share(ctx, "share-c")
	must(t, err)
	if d := sameShare(got, &want); d != "" {
		t.Fatalf("revoked Share differs: %s", d)
	}
	if got := list(t, argus.ShareFilter{CurrentAt: shareT0}); !slices.Equal(got, []string{"share-b"}) {
		t.Fatalf("current shares after a revocation = %v, want share-b", got)
	}
	if got := list(t, argus.ShareFilter{}); !slices.Equal(got, []string{"share-a", "share-b", "share-c"}) {
		t.Fatalf("shares after a revocation = %v, want all three kept", got)
	}
}

func testShareErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateOrg(ctx, org("b", "")))
	must(t, s.CreateShare(ctx, share("share-1", "a", "b", 0, time.Hour)))
	must(t, s.CreateShare(ctx, share("share-2", "a", "b", 0, time.Hour)))
	_, err := s.RevokeShare(ctx, "share-2", "u-orgadmin", "done")
	must(t, err)
	with := func(f func(sh *argus.Share)) func() error {
		return func() error {
			sh := share("share-new", "a", "b", 0, time.Hour)
			f(sh)
			return s.CreateShare(ctx, sh)
		}
	}
	revoke := func(id, by, reason string) func() error {
		return func() error { _, err := s.RevokeShare(ctx, id, by, reason); return err }
	}
	tests := []struct {
		name  string
		op    func() error
		code  string
		field string
	}{
		{"duplicate id", with(func(sh *argus.Share) { sh.ID = "share-1" }), argus.ECONFLICT, ""},
		{"unknown owner", with(func(sh *argus.Share) { sh.OwnerOrgID = "z" }), argus.EINVALID, "owner_org_id"},
		{"unknown grantee", with(func(sh *argus.Share) { sh.GranteeOrgID = "z" }), argus.EINVALID, "grantee_org_id"},
		{"to itself", with(func(sh *argus.Share) { sh.GranteeOrgID = "a" }), argus.EINVALID, "grantee_org_id"},
		{"bad id", with(func(sh *argus.Share) { sh.ID = "Share 1" }), argus.EINVALID, "id"},
		{"covers nothing", with(func(sh *argus.Share) { sh.CameraIDs = nil }), argus.EINVALID, "camera_ids"},
		{"bad camera id", with(func(sh *argus.Share) { sh.CameraIDs = []string{"Cam 1"} }), argus.EINVALID, "camera_ids"},
		{"bad tag", with(func(sh *argus.Share) { sh.Tags = []string{"a tag"} }), argus.EINVALID, "tags"},
		{"bad area", with(func(sh *argus.Share) { sh.Area = &argus.Area{BBox: []float64{1, 2, 3}} }), argus.EINVALID, "area"},
		{"no action", with(func(sh *argus.Share) { sh.Actions = nil }), argus.EINVALID, "actions"},
		{"unshareable action", with(func(sh *argus.Share) { sh.Actions = []argus.Action{argus.ActionManageCamera} }), argus.EINVALID, "actions"},
		{"no valid_from", with(func(sh *argus.Share) { sh.ValidFrom = time.Time{} }), argus.EINVALID, "valid_from"},
		{"no valid_until", with(func(sh *argus.Share) { sh.ValidUntil = time.Time{} }), argus.EINVALID, "valid_until"},
		{"until before from", with(func(sh *argus.Share) { sh.ValidFrom, sh.ValidUntil = sh.ValidUntil, sh.ValidFrom }), argus.EINVALID, "valid_until"},
		{"longer than a year", with(func(sh *argus.Share) { sh.ValidUntil = sh.ValidFrom.Add(argus.MaxShareSpan + time.Second) }), argus.EINVALID, "valid_until"},
		{"no purpose", with(func(sh *argus.Share) { sh.Purpose = " " }), argus.EINVALID, "purpose"},
		{"no creator", with(func(sh *argus.Share) { sh.CreatedBy = "" }), argus.EINVALID, "created_by"},
		{"get missing", func() error { _, err := s.Share(ctx, "share-9"); return err }, argus.ENOTFOUND, ""},
		{"revoke missing", revoke("share-9", "u-orgadmin", "done"), argus.ENOTFOUND, ""},
		{"revoke without reason", revoke("share-1", "u-orgadmin", " "), argus.EINVALID, "reason"},
		{"revoke by nobody", revoke("share-1", "", "done"), argus.EINVALID, "revoked_by"},
		{"revoke twice", revoke("share-2", "u-orgadmin", "again"), argus.ECONFLICT, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			wantError(t, tc.op(), tc.code, tc.field)
			unchanged(t, s, before)
		})
	}
}
