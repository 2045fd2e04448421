package storetest

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"argus"
)

func org(id, parent string) *argus.Org {
	return &argus.Org{ID: id, Name: "Org " + id, Kind: argus.OrgPolice, ParentID: parent}
}

func testOrgs(t *testing.T, s argus.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	city := org("city", "")
	must(t, s.CreateOrg(ctx, city))
	if city.CreatedAt.Before(before) || city.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreatedAt = %v, want about now", city.CreatedAt)
	}
	must(t, s.CreateOrg(ctx, org("pd", "city")))
	must(t, s.CreateOrg(ctx, org("pd-14", "pd")))

	got, err := s.Org(ctx, "pd-14")
	must(t, err)
	if got.ID != "pd-14" || got.Name != "Org pd-14" || got.Kind != argus.OrgPolice || got.ParentID != "pd" || got.CreatedAt.IsZero() {
		t.Fatalf("Org = %+v", got)
	}
	all, err := s.Orgs(ctx)
	must(t, err)
	if got, want := orgIDs(all), []string{"city", "pd", "pd-14"}; !slices.Equal(got, want) {
		t.Fatalf("Orgs = %v, want %v", got, want)
	}

	if got.QuotaBytes != 0 {
		t.Fatalf("new Org has quota %d, want 0 (none)", got.QuotaBytes)
	}
	quoted := org("pd-9", "pd")
	quoted.QuotaBytes = 80 << 40
	must(t, s.CreateOrg(ctx, quoted))
	if got, err := s.Org(ctx, "pd-9"); err != nil || got.QuotaBytes != 80<<40 {
		t.Fatalf("Org(pd-9) = %+v, %v; want quota %d", got, err, 80<<40)
	}
	must(t, s.DeleteOrg(ctx, "pd-9"))

	up := &argus.Org{ID: "pd-14", Name: "Precinct 14", Kind: argus.OrgCity, ParentID: "city", QuotaBytes: 1 << 40}
	must(t, s.UpdateOrg(ctx, up))
	got, err = s.Org(ctx, "pd-14")
	must(t, err)
	if got.Name != "Precinct 14" || got.Kind != argus.OrgCity || got.ParentID != "city" || got.QuotaBytes != 1<<40 ||
		!got.CreatedAt.Equal(all[2].CreatedAt) {
		t.Fatalf("after update Org = %+v", got)
	}
	up.ParentID = ""
	must(t, s.UpdateOrg(ctx, up))
	if got, _ := s.Org(ctx, "pd-14"); got.ParentID != "" {
		t.Fatalf("parent not cleared: %+v", got)
	}

	must(t, s.DeleteOrg(ctx, "pd-14"))
	_, err = s.Org(ctx, "pd-14")
	wantError(t, err, argus.ENOTFOUND, "")
	// A parent whose children are gone can go too.
	must(t, s.DeleteOrg(ctx, "pd"))
	must(t, s.DeleteOrg(ctx, "city"))
	all, err = s.Orgs(ctx)
	must(t, err)
	if len(all) != 0 {
		t.Fatalf("Orgs after deleting all = %v", orgIDs(all))
	}
}

func orgIDs(orgs []*argus.Org) []string {
	var out []string
	for _, o := range orgs {
		out = append(out, o.ID)
	}
	return out
}

func testOrgErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	// a <- b <- c, and d owning a camera and e owning a user.
	for _, o := range []*argus.Org{org("a", ""), org("b", "a"), org("c", "b"), org("d", ""), org("e", "")} {
		must(t, s.CreateOrg(ctx, o))
	}
	must(t, s.CreateCamera(ctx, camera("cam-1", "d", 10, 10)))
	must(t, s.CreateUser(ctx, user("u1", "e")))

	tests := []struct {
		name  string
		op    func() error
		code  string
		field string
	}{
		{"create duplicate id", func() error { return s.CreateOrg(ctx, org("a", "")) }, argus.ECONFLICT, ""},
		{"create unknown parent", func() error { return s.CreateOrg(ctx, org("x", "nope")) }, argus.EINVALID, "parent_id"},
		{"create invalid id", func() error { return s.CreateOrg(ctx, org("Bad ID", "")) }, argus.EINVALID, "id"},
		{"create invalid kind", func() error {
			return s.CreateOrg(ctx, &argus.Org{ID: "x", Name: "x", Kind: "army"})
		}, argus.EINVALID, "kind"},
		{"create own parent", func() error { return s.CreateOrg(ctx, org("x", "x")) }, argus.EINVALID, "parent_id"},
		{"get missing", func() error { _, err := s.Org(ctx, "nope"); return err }, argus.ENOTFOUND, ""},
		{"update missing", func() error { return s.UpdateOrg(ctx, org("nope", "")) }, argus.ENOTFOUND, ""},
		{"update unknown parent", func() error { return s.UpdateOrg(ctx, org("b", "nope")) }, argus.EINVALID, "parent_id"},
		{"update cycle through child", func() error { return s.UpdateOrg(ctx, org("a", "b")) }, argus.EINVALID, "parent_id"},
		{"update cycle through grandchild", func() error { return s.UpdateOrg(ctx, org("a", "c")) }, argus.EINVALID, "parent_id"},
		{"update own parent", func() error { return s.UpdateOrg(ctx, org("a", "a")) }, argus.EINVALID, "parent_id"},
		{"create negative quota", func() error {
			return s.CreateOrg(ctx, &argus.Org{ID: "x", Name: "x", Kind: argus.OrgCity, QuotaBytes: -1})
		}, argus.EINVALID, "quota_bytes"},
		{"update quota too large", func() error {
			return s.UpdateOrg(ctx, &argus.Org{ID: "a", Name: "a", Kind: argus.OrgCity, QuotaBytes: argus.MaxQuotaBytes + 1})
		}, argus.EINVALID, "quota_bytes"},
		{"update invalid name", func() error {
			return s.UpdateOrg(ctx, &argus.Org{ID: "a", Name: " ", Kind: argus.OrgCity})
		}, argus.EINVALID, "name"},
		{"delete missing", func() error { return s.DeleteOrg(ctx, "nope") }, argus.ENOTFOUND, ""},
		{"delete with children", func() error { return s.DeleteOrg(ctx, "a") }, argus.ECONFLICT, ""},
		{"delete with cameras", func() error { return s.DeleteOrg(ctx, "d") }, argus.ECONFLICT, ""},
		{"delete with users", func() error { return s.DeleteOrg(ctx, "e") }, argus.ECONFLICT, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			wantError(t, tc.op(), tc.code, tc.field)
			unchanged(t, s, before)
		})
	}
	// Moving a leaf elsewhere is not a cycle.
	must(t, s.UpdateOrg(ctx, org("c", "d")))
}

func user(id, orgID string) *argus.User {
	return &argus.User{ID: id, Username: "name-" + id, DisplayName: "User " + id, OrgID: orgID,
		Role: argus.RoleViewer, PasswordHash: "$argon2id$v=19$" + id}
}

func testUsers(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateOrg(ctx, org("b", "")))
	u1, u2, u3 := user("u1", "a"), user("u2", "b"), user("u0", "a")
	for _, u := range []*argus.User{u1, u2, u3} {
		must(t, s.CreateUser(ctx, u))
		if u.CreatedAt.IsZero() {
			t.Fatal("CreateUser did not set CreatedAt")
		}
	}
	got, err := s.User(ctx, "u1")
	must(t, err)
	if *got != *u1 {
		t.Fatalf("User = %+v, want %+v", got, u1)
	}
	got, err = s.UserByName(ctx, "name-u2")
	must(t, err)
	if *got != *u2 {
		t.Fatalf("UserByName = %+v, want %+v", got, u2)
	}
	for _, tc := range []struct {
		org  string
		want []string
	}{{"", []string{"u0", "u1", "u2"}}, {"a", []string{"u0", "u1"}}, {"b", []string{"u2"}}, {"none", nil}} {
		list, err := s.Users(ctx, tc.org)
		must(t, err)
		var got []string
		for _, u := range list {
			got = append(got, u.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("Users(%q) = %v, want %v", tc.org, got, tc.want)
		}
	}

	up := &argus.User{ID: "u1", Username: "renamed", DisplayName: "R", OrgID: "b", Role: argus.RoleOrgAdmin,
		Disabled: true, Provider: argus.ProviderOIDC, PasswordHash: "new-hash"}
	must(t, s.UpdateUser(ctx, up))
	got, err = s.User(ctx, "u1")
	must(t, err)
	up.CreatedAt = u1.CreatedAt
	if !got.CreatedAt.Equal(u1.CreatedAt) {
		t.Fatalf("UpdateUser changed CreatedAt: %v, want %v", got.CreatedAt, u1.CreatedAt)
	}
	got.CreatedAt = up.CreatedAt
	if *got != *up {
		t.Fatalf("after update User = %+v, want %+v", got, up)
	}
	if _, err := s.UserByName(ctx, "name-u1"); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("old username still resolves: %v", err)
	}

	// DeleteUser removes the user's tokens and no one else's.
	now := stamp(time.Now())
	must(t, s.CreateToken(ctx, token("t1", "u1", "s1", now, now.Add(time.Hour))))
	must(t, s.CreateToken(ctx, token("t2", "u2", "s2", now, now.Add(time.Hour))))
	must(t, s.DeleteUser(ctx, "u1"))
	_, err = s.User(ctx, "u1")
	wantError(t, err, argus.ENOTFOUND, "")
	_, err = s.TokenByHash(ctx, hash("s1"))
	wantError(t, err, argus.ENOTFOUND, "")
	if _, err := s.TokenByHash(ctx, hash("s2")); err != nil {
		t.Fatalf("another user's token went with the deleted user: %v", err)
	}
	// The organisation can go once its users have.
	must(t, s.DeleteUser(ctx, "u0"))
	must(t, s.DeleteOrg(ctx, "a"))
}

func testUserErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateUser(ctx, user("u1", "a")))
	must(t, s.CreateUser(ctx, user("u2", "a")))
	taken := user("u3", "a")
	taken.Username = "name-u1"
	tests := []struct {
		name  string
		op    func() error
		code  string
		field string
	}{
		{"create duplicate id", func() error { return s.CreateUser(ctx, user("u1", "a")) }, argus.ECONFLICT, ""},
		{"create duplicate username", func() error { return s.CreateUser(ctx, taken) }, argus.ECONFLICT, ""},
		{"create unknown org", func() error { return s.CreateUser(ctx, user("u3", "nope")) }, argus.EINVALID, "org_id"},
		{"create invalid role", func() error {
			u := user("u3", "a")
			u.Role = "god"
			return s.CreateUser(ctx, u)
		}, argus.EINVALID, "role"},
		{"create invalid username", func() error {
			u := user("u3", "a")
			u.Username = "Not Valid"
			return s.CreateUser(ctx, u)
		}, argus.EINVALID, "username"},
		{"create unknown provider", func() error {
			u := user("u3", "a")
			u.Provider = "ldap"
			return s.CreateUser(ctx, u)
		}, argus.EINVALID, "provider"},
		{"get missing", func() error { _, err := s.User(ctx, "nope"); return err }, argus.ENOTFOUND, ""},
		{"get missing name", func() error { _, err := s.UserByName(ctx, "nope"); return err }, argus.ENOTFOUND, ""},
		{"update missing", func() error { return s.UpdateUser(ctx, user("nope", "a")) }, argus.ENOTFOUND, ""},
		{"update to taken username", func() error {
			u := user("u2", "a")
			u.Username = "name-u1"
			return s.UpdateUser(ctx, u)
		}, argus.ECONFLICT, ""},
		{"update unknown org", func() error { return s.UpdateUser(ctx, user("u2", "nope")) }, argus.EINVALID, "org_id"},
		{"delete missing", func() error { return s.DeleteUser(ctx, "nope") }, argus.ENOTFOUND, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			wantError(t, tc.op(), tc.code, tc.field)
			unchanged(t, s, before)
		})
	}
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func token(id, userID, secret string, created, expires time.Time) *argus.Token {
	return &argus.Token{ID: id, UserID: userID, Kind: argus.TokenSession, Name: "token " + id, Hash: hash(secret),
		CreatedAt: created, ExpiresAt: expires}
}

func sameToken(a, b *argus.Token) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Kind == b.Kind && a.Name == b.Name && bytes.Equal(a.Hash, b.Hash) &&
		slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.CameraIDs, b.CameraIDs) && slices.Equal(a.Tags, b.Tags) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.LastUsedAt.Equal(b.LastUsedAt)
}

func testTokens(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateUser(ctx, user("u1", "a")))
	must(t, s.CreateUser(ctx, user("u2", "a")))
	now := stamp(time.Now())
	old := token("t-old", "u1", "old", now.Add(-2*time.Hour), now.Add(-time.Hour))
	cur := token("t-cur", "u1", "cur", now.Add(-time.Hour), now.Add(time.Hour))
	api := token("t-api", "u1", "api", now, time.Time{})
	api.Kind = argus.TokenAPI
	api.Scopes = []argus.Action{argus.ActionViewDirectory, argus.ActionLive}
	api.CameraIDs, api.Tags = []string{"cam-1", "cam-2"}, []string{"lobby"}
	other := token("t-other", "u2", "other", now, now.Add(-time.Minute))
	for _, tok := range []*argus.Token{old, cur, api, other} {
		must(t, s.CreateToken(ctx, tok))
	}

	got, err := s.TokenByHash(ctx, hash("cur"))
	must(t, err)
	if !sameToken(got, cur) {
		t.Fatalf("TokenByHash = %+v, want %+v", got, cur)
	}
	// A scoped token keeps its scope; an unscoped one reads as unscoped.
	got, err = s.TokenByHash(ctx, hash("api"))
	must(t, err)
	if !sameToken(got, api) {
		t.Fatalf("TokenByHash(scoped) = %+v, want %+v", got, api)
	}
	// Expired tokens are still found: checking expiry is the caller's job.
	if _, err := s.TokenByHash(ctx, hash("old")); err != nil {
		t.Fatalf("TokenByHash(expired) = %v", err)
	}
	list, err := s.Tokens(ctx, "u1")
	must(t, err)
	var order []string
	for _, tok := range list {
		order = append(order, tok.ID)
	}
	if want := []string{"t-api", "t-cur", "t-old"}; !slices.Equal(order, want) {
		t.Fatalf("Tokens = %v, want newest first %v", order, want)
	}

	used := now.Add(time.Minute)
	must(t, s.TouchToken(ctx, "t-cur", used))
	got, err = s.TokenByHash(ctx, hash("cur"))
	must(t, err)
	if !got.LastUsedAt.Equal(used) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
	}

	// The sweep removes the two tokens that expired before now, keeps the
	// current one and the one that never expires.
	n, err := s.DeleteExpiredTokens(ctx, now)
	must(t, err)
	if n != 2 {
		t.Fatalf("DeleteExpiredTokens = %d, want 2", n)
	}
	for secret, want := range map[string]string{"old": argus.ENOTFOUND, "other": argus.ENOTFOUND, "cur": "", "api": ""} {
		if _, err := s.TokenByHash(ctx, hash(secret)); argus.ErrorCode(err) != want {
			t.Errorf("after sweep TokenByHash(%s) = %v, want code %q", secret, err, want)
		}
	}
	if n, err := s.DeleteExpiredTokens(ctx, now); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0", n, err)
	}

	must(t, s.DeleteToken(ctx, "t-cur"))
	_, err = s.TokenByHash(ctx, hash("cur"))
	wantError(t, err, argus.ENOTFOUND, "")
}

func testTokenErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateUser(ctx, user("u1", "a")))
	now := stamp(time.Now())
	must(t, s.CreateToken(ctx, token("t1", "u1", "s1", now, now.Add(time.Hour))))
	tests := []struct {
		name string
		op   func() error
		code string
	}{
		{"create duplicate id", func() error { return s.CreateToken(ctx, token("t1", "u1", "s2", now, now)) }, argus.ECONFLICT},
		{"create duplicate hash", func() error { return s.CreateToken(ctx, token("t2", "u1", "s1", now, now)) }, argus.ECONFLICT},
		{"create unknown user", func() error { return s.CreateToken(ctx, token("t2", "nope", "s2", now, now)) }, argus.EINVALID},
		{"create unknown scope", func() error {
			tok := token("t2", "u1", "s2", now, now)
			tok.Scopes = []argus.Action{"video.everything"}
			return s.CreateToken(ctx, tok)
		}, argus.EINVALID},
		{"create invalid camera id", func() error {
			tok := token("t2", "u1", "s2", now, now)
			tok.CameraIDs = []string{"Not Valid"}
			return s.CreateToken(ctx, tok)
		}, argus.EINVALID},
		{"create invalid tag", func() error {
			tok := token("t2", "u1", "s2", now, now)
			tok.Tags = []string{"Not Valid"}
			return s.CreateToken(ctx, tok)
		}, argus.EINVALID},
		{"get missing", func() error { _, err := s.TokenByHash(ctx, hash("nope")); return err }, argus.ENOTFOUND},
		{"touch missing", func() error { return s.TouchToken(ctx, "nope", now) }, argus.ENOTFOUND},
		{"delete missing", func() error { return s.DeleteToken(ctx, "nope") }, argus.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			wantError(t, tc.op(), tc.code, "")
			unchanged(t, s, before)
		})
	}
}
