package node_test

import (
	"net/http"
	"testing"
	"time"

	"argus"
	"argus/internal/node"
	"argus/internal/sim"
)

// liveRoles are the callers of the live entry-point matrix, in the order of
// its expectation letters; all but the admin are police users.
var liveRoles = []struct{ role, user string }{
	{"admin", "admin"},
	{"org_admin", "orgadmin"},
	{"investigator", "investigator"},
	{"operator", "operator"},
	{"viewer", "viewer"},
	{"auditor", "auditor"},
	{"anonymous", ""},
}

const livePassword = "a live matrix password"

// TestLiveEntryPointMatrix is the authorisation matrix of the live entry
// points outside the route table (internal/api's matrix covers the HTTP
// routes): an RTSP re-serve DESCRIBE with Basic credentials and a WHEP
// offer, as every role, on a camera of the caller's organisation (own),
// one of fire shared with police (shared), one not shared (unshared), one
// whose share has ended (expired) and one whose share was revoked
// (revoked). Letters: A allowed (RTSP 200, WHEP 201), D 403, H 404, U 401.
// RTSP answers a camera the caller may see but not watch 404 too.
func TestLiveEntryPointMatrix(t *testing.T) {
	tokens := map[string]string{}
	a := startAccessNode(t, livePassword, nil, func(n *node.Node, s *sim.Server) {
		ctx, st := t.Context(), n.Store()
		for _, o := range []*argus.Org{
			{ID: "police", Name: "Police", Kind: argus.OrgPolice},
			{ID: "fire", Name: "Fire", Kind: argus.OrgFire},
		} {
			if err := st.CreateOrg(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range liveRoles[1 : len(liveRoles)-1] {
			tokens[r.user] = addAccessUser(t, n, r.user, argus.Role(r.role), "police", livePassword)
		}
		admin, err := st.User(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if tokens["admin"], _, err = n.Auth().IssueToken(ctx, admin, argus.TokenAPI, "test", time.Hour); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for _, c := range []struct {
			id, org     string
			from, until time.Time // the share of fire with police; zero for none
			revoke      bool
		}{
			{id: "cam-own", org: "police"},
			{id: "cam-shared", org: "fire", from: now.Add(-time.Hour), until: now.Add(time.Hour)},
			{id: "cam-unshared", org: "fire"},
			{id: "cam-expired", org: "fire", from: now.Add(-2 * time.Hour), until: now.Add(-time.Hour)},
			{id: "cam-revoked", org: "fire", from: now.Add(-time.Hour), until: now.Add(time.Hour), revoke: true},
		} {
			cam := &argus.Camera{ID: c.id, Name: c.id, OrgID: c.org, Lat: 40.7, Lon: -73.9, StreamURL: s.URL(1), RetentionDays: 1}
			if err := st.CreateCamera(ctx, cam); err != nil {
				t.Fatal(err)
			}
			if c.until.IsZero() {
				continue
			}
			sh := &argus.Share{ID: "share-" + c.id, OwnerOrgID: "fire", GranteeOrgID: "police", CameraIDs: []string{c.id},
				Actions: []argus.Action{argus.ActionLive}, ValidFrom: c.from, ValidUntil: c.until, Purpose: "matrix", CreatedBy: "admin"}
			if err := st.CreateShare(ctx, sh); err != nil {
				t.Fatal(err)
			}
			if c.revoke {
				if _, err := st.RevokeShare(ctx, sh.ID, "admin", "matrix"); err != nil {
					t.Fatal(err)
				}
			}
		}
	})

	for _, tc := range []struct {
		camera     string
		rtsp, whep string
	}{
		{"cam-own", "AAAAAHU", "AAAAADU"},
		{"cam-shared", "AAAAAHU", "AAAAADU"},
		{"cam-unshared", "AHHHHHU", "AHHHHHU"},
		{"cam-expired", "AHHHHHU", "AHHHHHU"},
		{"cam-revoked", "AHHHHHU", "AHHHHHU"},
	} {
		for i, r := range liveRoles {
			t.Run("rtsp/"+tc.camera+"/"+r.role, func(t *testing.T) {
				pw := livePassword
				if r.user == "" {
					pw = ""
				}
				if got, want := a.rtspDescribe("/cameras/"+tc.camera, r.user, pw), liveStatus(tc.rtsp[i], 200); got != want {
					t.Errorf("DESCRIBE: %d, want %d (%c)", got, want, tc.rtsp[i])
				}
			})
			t.Run("whep/"+tc.camera+"/"+r.role, func(t *testing.T) {
				code, h, body := a.call("POST", "/api/v1/cameras/"+tc.camera+"/whep", tokens[r.user], "application/sdp", whepOffer(t))
				if want := liveStatus(tc.whep[i], 201); code != want {
					t.Fatalf("offer: %d %s, want %d (%c)", code, body, want, tc.whep[i])
				}
				if code == http.StatusCreated {
					if code, _, body := a.call("DELETE", h.Get("Location"), tokens[r.user], "", ""); code != http.StatusNoContent {
						t.Errorf("end the session: %d %s", code, body)
					}
				}
			})
		}
	}

	t.Run("rtsp/token as password", func(t *testing.T) {
		if got := a.rtspDescribe("/cameras/cam-own", "anyone", tokens["viewer"]); got != 200 {
			t.Errorf("DESCRIBE with the viewer's token: %d, want 200", got)
		}
		if got := a.rtspDescribe("/cameras/cam-own", "anyone", "argus_not-a-token"); got != 401 {
			t.Errorf("DESCRIBE with a bad token: %d, want 401", got)
		}
	})
	// Last, since it throttles the viewer from this address: RTSP password
	// guesses count with the API's sign-in attempts.
	t.Run("rtsp/guesses are throttled", func(t *testing.T) {
		for i := range 5 {
			if got := a.rtspDescribe("/cameras/cam-own", "viewer", "a wrong guess"); got != 401 {
				t.Fatalf("guess %d: %d, want 401", i+1, got)
			}
		}
		if got := a.rtspDescribe("/cameras/cam-own", "viewer", livePassword); got != 503 {
			t.Fatalf("the right password after 5 guesses: %d, want 503 (throttled)", got)
		}
		code, h, body := a.call("POST", "/api/v1/login", "", "", `{"username":"viewer","password":"`+livePassword+`"}`)
		if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Fatalf("sign-in after 5 RTSP guesses: %d %s, want 429 with Retry-After", code, body)
		}
		if len(a.logs.find("sign-in refused: too many attempts", map[string]string{"user": "viewer", "client": "127.0.0.1"})) == 0 {
			t.Error("the throttled attempts were not logged")
		}
	})
}

// liveStatus turns an expectation letter into a status.
func liveStatus(letter byte, allowed int) int {
	switch letter {
	case 'A':
		return allowed
	case 'D':
		return http.StatusForbidden
	case 'H':
		return http.StatusNotFound
	case 'U':
		return http.StatusUnauthorized
	}
	panic("unknown expectation letter " + string(letter))
}
