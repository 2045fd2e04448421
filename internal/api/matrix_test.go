package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/api"
	"argus/internal/audit"
	"argus/internal/events"
	"argus/internal/evidence"
	"argus/internal/export"
	"argus/internal/live"
	"argus/internal/playback"
	"argus/internal/record"
	"argus/internal/record/synth"
	"argus/internal/segment/fsstore"
)

// The authorisation matrix: every route of the OpenAPI document the server
// serves × every role (and no one) × the camera situations, each with the
// answer written out below. A route in the document without an entry in
// matrixRoutes fails TestAuthorisationMatrix: add one.
//
// An expectation is one letter per caller, in the order of matrixRoles:
// admin, org_admin, investigator, operator, viewer, auditor, anonymous.
//
//	A  allowed: the route's success status (2xx or a redirect, from the document)
//	D  denied: 403
//	H  hidden: 404, as if the thing did not exist
//	N  refused as bad input: 400 (a body naming a camera the caller may not see, an import's rows)
//	C  conflict: 409
//	U  unauthenticated: 401
//
// The callers are police users (police lies under city; precinct-1 under
// police), the admin is in "system". A camera route is tried on five
// cameras, its situations:
//
//	own       a camera of police
//	shared    a camera of fire shared with police for live, playback, export and PTZ
//	unshared  a camera of fire not shared with police
//	expired   a camera of fire whose share with police has ended
//	revoked   a camera of fire whose share with police was revoked
//
// Routes about shares take the situations of a share instead: own is a
// share police granted to fire, shared one fire granted to police,
// unshared one fire granted to parks, expired and revoked ones fire
// granted to police.
var matrixRoles = []struct{ role, user string }{
	{"admin", "admin"},
	{"org_admin", "orgadmin"},
	{"investigator", "investigator"},
	{"operator", "operator"},
	{"viewer", "viewer"},
	{"auditor", "auditor"},
	{"anonymous", ""},
}

// situation is the case a camera route is tried on.
type situation int

const (
	sitOwn situation = iota
	sitShared
	sitUnshared
	sitExpired
	sitRevoked
	sitNone // a route that is not about a camera
)

var situationNames = [...]string{"own", "shared", "unshared", "expired", "revoked", "-"}

// matrixRoute is one route's entry: the request to send for a caller in a
// situation, and the answers. want is for routes not about a camera; the
// five situation fields for camera (and share) routes.
type matrixRoute struct {
	route                                   string // "METHOD /path" as in the OpenAPI document
	want                                    string
	own, shared, unshared, expired, revoked string
	build                                   func(m *mx) mreq
}

// mreq is the request a case sends.
type mreq struct {
	target string // path and query
	body   string
	ctype  string // Content-Type; application/json when body is set and ctype is empty
	token  string // the bearer token, instead of the caller's own
	cookie string // a Cookie header to send
	stream bool   // an endless response (SSE): its status is the answer
}

func matrixRoutes() []matrixRoute {
	const (
		allowedToAll = "AAAAAAA"
		anyUser      = "AAAAAAU"
		manage       = "AADDDDU"
		notOwnCamera = "AHHHHHU"
	)
	get := func(target string) func(*mx) mreq { return func(*mx) mreq { return mreq{target: target} } }
	pathCam := func(suffix string) func(*mx) mreq {
		return func(m *mx) mreq { return mreq{target: "/api/v1/cameras/" + m.cam().ID + suffix} }
	}
	return []matrixRoute{
		{route: "GET /healthz", want: allowedToAll, build: get("/healthz")},
		{route: "GET /readyz", want: allowedToAll, build: get("/readyz")},
		{route: "GET /metrics", want: anyUser, build: get("/metrics")},
		{route: "GET /api/v1/openapi.json", want: allowedToAll, build: get("/api/v1/openapi.json")},
		{route: "GET /api/v1/keys", want: allowedToAll, build: get("/api/v1/keys")},

		{route: "POST /api/v1/login", want: allowedToAll, build: func(m *mx) mreq {
			user := cmpOr(m.user, "viewer")
			return mreq{target: "/api/v1/login", body: fmt.Sprintf(`{"username":%q,"password":%q}`, user, testPassword)}
		}},
		{route: "GET /api/v1/auth/providers", want: allowedToAll, build: get("/api/v1/auth/providers")},
		// OIDC sign-in is public: a redirect to the identity provider, and
		// its redirect back signs in whoever brought it (the bearer token
		// of a caller plays no part).
		{route: "GET /api/v1/oidc/login", want: allowedToAll, build: get("/api/v1/oidc/login")},
		{route: "GET /api/v1/oidc/callback", want: allowedToAll, build: func(m *mx) mreq { return m.oidcCallback() }},
		{route: "POST /api/v1/logout", want: anyUser, build: func(m *mx) mreq {
			return mreq{target: "/api/v1/logout", token: m.freshToken()}
		}},
		{route: "GET /api/v1/me", want: anyUser, build: get("/api/v1/me")},
		{route: "POST /api/v1/tokens", want: anyUser, build: func(*mx) mreq {
			return mreq{target: "/api/v1/tokens", body: `{"name":"matrix"}`}
		}},
		{route: "GET /api/v1/tokens", want: anyUser, build: get("/api/v1/tokens")},
		{route: "DELETE /api/v1/tokens/{id}", want: anyUser, build: func(m *mx) mreq {
			m.freshToken()
			return mreq{target: "/api/v1/tokens/" + m.lastTokenID}
		}},

		{route: "GET /api/v1/orgs", want: anyUser, build: get("/api/v1/orgs")},
		{route: "POST /api/v1/orgs", want: manage, build: func(m *mx) mreq {
			return mreq{target: "/api/v1/orgs", body: fmt.Sprintf(`{"id":"mx-org-%d","name":"Unit","kind":"police","parent_id":"police"}`, m.n)}
		}},
		{route: "GET /api/v1/orgs/{id}", want: anyUser, build: get("/api/v1/orgs/precinct-1")},
		{route: "PUT /api/v1/orgs/{id}", want: manage, build: func(m *mx) mreq {
			id := m.freshOrg()
			return mreq{target: "/api/v1/orgs/" + id, body: `{"name":"Renamed","kind":"police","parent_id":"police"}`}
		}},
		{route: "DELETE /api/v1/orgs/{id}", want: manage, build: func(m *mx) mreq {
			return mreq{target: "/api/v1/orgs/" + m.freshOrg()}
		}},

		{route: "GET /api/v1/cameras", want: anyUser, build: get("/api/v1/cameras")},
		{route: "GET /api/v1/cameras/grid", want: anyUser, build: get("/api/v1/cameras/grid?bbox=-75,40,-73,41&zoom=12")},
		// Names and outlines are for any signed-in user; counts are scoped
		// (TestDistrictCounts).
		{route: "GET /api/v1/districts", want: anyUser, build: get("/api/v1/districts")},
		{route: "POST /api/v1/cameras", own: manage, shared: "ADDDDDU", unshared: "ADDDDDU", expired: "ADDDDDU", revoked: "ADDDDDU",
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/cameras", body: fmt.Sprintf(
					`{"id":"mx-new-%d","name":"New","org_id":%q,"lat":40.7,"lon":-74,"stream_url":"rtsp://10.0.0.9/x","tags":[%q]}`,
					m.n, m.owner(), m.tag())}
			}},
		// An import reports the rows the caller may not import as bad rows
		// (400) once it may import at all.
		{route: "POST /api/v1/cameras/import", own: manage, shared: "ANDDDDU", unshared: "ANDDDDU", expired: "ANDDDDU", revoked: "ANDDDDU",
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/cameras/import", ctype: "text/csv",
					body: csvFile(importHeader, csvRow(fmt.Sprintf("mx-imp-%d", m.n), m.owner()))}
			}},
		{route: "GET /api/v1/cameras/{id}", own: anyUser, shared: anyUser, unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: pathCam("")},
		{route: "GET /api/v1/cameras/{id}/health", own: anyUser, shared: anyUser, unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: pathCam("/health")},
		{route: "GET /api/v1/cameras/{id}/live/{file}", own: "AAAAADU", shared: "AAAAADU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: pathCam("/live/index.m3u8")},
		{route: "GET /api/v1/cameras/{id}/timeline", own: "AAADDDU", shared: "AAADDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq { return mreq{target: "/api/v1/cameras/" + m.cam().ID + "/timeline?" + m.recRange()} }},
		{route: "GET /api/v1/cameras/{id}/playback/index.m3u8", own: "AAADDDU", shared: "AAADDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/cameras/" + m.cam().ID + "/playback/index.m3u8?" + m.recRange() + "&reason=case+17"}
			}},
		// A playback file is served only within the caller's own playback
		// session: a caller whose playlist was refused tries an admin's,
		// and is refused (403, whatever the camera, so nothing leaks).
		{route: "GET /api/v1/cameras/{id}/playback/seg/{start}/{file}", own: "AAADDDU", shared: "AAADDDU", unshared: "ADDDDDU", expired: "ADDDDDU", revoked: "ADDDDDU",
			build: func(m *mx) mreq { return mreq{target: m.playbackFile()} }},
		{route: "PUT /api/v1/cameras/{id}", own: manage, shared: "ADDDDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq {
				c := m.freshCam()
				return mreq{target: "/api/v1/cameras/" + c.ID, body: fmt.Sprintf(
					`{"name":"Renamed","org_id":%q,"lat":40.7,"lon":-74,"stream_url":"rtsp://10.0.0.9/x","tags":[%q]}`, c.OrgID, m.tag())}
			}},
		{route: "PATCH /api/v1/cameras/{id}", own: manage, shared: "ADDDDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/cameras/" + m.freshCam().ID, body: `{"name":"Patched"}`}
			}},
		{route: "DELETE /api/v1/cameras/{id}", own: manage, shared: "ADDDDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq { return mreq{target: "/api/v1/cameras/" + m.freshCam().ID} }},
		{route: "POST /api/v1/cameras/{id}/whep", own: "AAAAADU", shared: "AAAAADU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/cameras/" + m.cam().ID + "/whep", ctype: "application/sdp", body: "v=0\r\n"}
			}},
		// WHEP sessions answer only their own viewer: each caller acts on
		// a session of its own.
		{route: "PATCH /api/v1/whep/{session}", want: anyUser, build: func(m *mx) mreq {
			return mreq{target: "/api/v1/whep/" + m.fix.whep.open(m.actor()), ctype: "application/trickle-ice-sdpfrag", body: "a=ice-ufrag:x\r\n"}
		}},
		{route: "DELETE /api/v1/whep/{session}", want: anyUser, build: func(m *mx) mreq {
			return mreq{target: "/api/v1/whep/" + m.fix.whep.open(m.actor())}
		}},

		{route: "POST /api/v1/holds", own: "AAADDDU", shared: "ADDDDDU", unshared: "ANNNNNU", expired: "ANNNNNU", revoked: "ANNNNNU",
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/holds", body: fmt.Sprintf(
					`{"camera_id":%q,"from":"2026-03-01T10:00:00Z","to":"2026-03-01T11:00:00Z","reason":"case 17"}`, m.cam().ID)}
			}},
		{route: "GET /api/v1/holds", want: "AAADDAU", build: get("/api/v1/holds")},
		// Holds are never shared.
		{route: "GET /api/v1/holds/{id}", own: "AAADDAU", shared: notOwnCamera, unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq { return mreq{target: "/api/v1/holds/" + m.fix.holds[m.sit]} }},
		{route: "POST /api/v1/holds/{id}/release", own: "AADDDDU", shared: notOwnCamera, unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/holds/" + m.freshHold() + "/release", body: `{"reason":"case closed"}`}
			}},

		{route: "POST /api/v1/shares", own: manage, shared: "ADDDDDU", unshared: "ADDDDDU", expired: "ADDDDDU", revoked: "ADDDDDU",
			build: func(m *mx) mreq {
				grantee := map[bool]string{true: "fire", false: "parks"}[m.sit == sitOwn]
				return mreq{target: "/api/v1/shares", body: fmt.Sprintf(
					`{"owner_org_id":%q,"grantee_org_id":%q,"camera_ids":[%q],"actions":["video.live"],"valid_until":%q,"purpose":"matrix"}`,
					m.owner(), grantee, m.cam().ID, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))}
			}},
		{route: "GET /api/v1/shares", want: anyUser, build: get("/api/v1/shares")},
		{route: "GET /api/v1/shares/{id}", own: "AAHHHHU", shared: anyUser, unshared: notOwnCamera, expired: anyUser, revoked: anyUser,
			build: func(m *mx) mreq { return mreq{target: "/api/v1/shares/" + m.fix.shares[m.sit]} }},
		{route: "POST /api/v1/shares/{id}/revoke", own: "AAHHHHU", shared: "ADDDDDU", unshared: notOwnCamera, expired: "ADDDDDU", revoked: "CDDDDDU",
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/shares/" + m.freshShare() + "/revoke", body: `{"reason":"matrix"}`}
			}},
		// Emergency access opens a camera no other rule opens (409 where
		// one does), for roles that may move cameras; each case opens a
		// camera of its own, so that no grant carries over to another.
		{route: "POST /api/v1/cameras/{id}/emergency", own: "CCCCCDU", shared: "CCCCCDU", unshared: "CAAAHHU", expired: "CAAAHHU", revoked: "CAAAHHU",
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/cameras/" + m.freshCam().ID + "/emergency", body: `{"reason":"a fire at the market","minutes":10}`}
			}},
		{route: "GET /api/v1/emergencies", want: "AADDDAU", build: get("/api/v1/emergencies")},
		{route: "GET /api/v1/cameras/{id}/access", own: manage, shared: "ADDDDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: pathCam("/access")},

		{route: "POST /api/v1/exports", own: "AAADDDU", shared: "AAADDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/exports", body: fmt.Sprintf(`{"camera_ids":[%q],"from":%q,"to":%q,"reason":"case 17"}`,
					m.cam().ID, rec0.Format(time.RFC3339), rec0.Add(10*time.Second).Format(time.RFC3339))}
			}},
		{route: "GET /api/v1/exports", want: anyUser, build: get("/api/v1/exports")},
		// An export answers only the user who started it (and admins).
		{route: "GET /api/v1/exports/{id}", want: anyUser, build: func(m *mx) mreq {
			return mreq{target: "/api/v1/exports/" + m.exportOf(sitOwn)}
		}},
		// Downloading passes the gate again: the caller's own export of the
		// situation's camera, made when it could.
		{route: "GET /api/v1/exports/{id}/bundle", own: "AAADDDU", shared: "AAADDDU", unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq { return mreq{target: "/api/v1/exports/" + m.exportOf(m.sit) + "/bundle"} }},

		{route: "GET /api/v1/audit", want: "AADDDAU", build: get("/api/v1/audit")},
		{route: "GET /api/v1/audit/export", want: "AADDDAU", build: get("/api/v1/audit/export")},
		{route: "GET /api/v1/audit/report", want: "AADDDAU", build: get("/api/v1/audit/report")},
		{route: "GET /api/v1/audit/verify", want: "AADDDAU", build: get("/api/v1/audit/verify")},

		// Events: a camera's are for whoever sees the camera in the
		// directory; acknowledging one passes the same test.
		{route: "GET /api/v1/events", want: anyUser, build: get("/api/v1/events")},
		{route: "GET /api/v1/events/stream", want: anyUser, build: func(*mx) mreq {
			return mreq{target: "/api/v1/events/stream", stream: true}
		}},
		{route: "POST /api/v1/events/{id}/ack", own: anyUser, shared: anyUser, unshared: notOwnCamera, expired: notOwnCamera, revoked: notOwnCamera,
			build: func(m *mx) mreq {
				return mreq{target: "/api/v1/events/" + m.freshEvent() + "/ack", body: `{"note":"seen"}`}
			}},

		{route: "GET /api/v1/users", want: manage, build: get("/api/v1/users")},
		{route: "POST /api/v1/users", want: manage, build: func(m *mx) mreq {
			return mreq{target: "/api/v1/users", body: fmt.Sprintf(
				`{"id":"mx-usr-%d","username":"mx-usr-%d","org_id":"police","role":"viewer","password":%q}`, m.n, m.n, testPassword)}
		}},
		{route: "GET /api/v1/users/{id}", want: "AAHHHHU", build: get("/api/v1/users/viewer")},
		{route: "PUT /api/v1/users/{id}", want: "AAHHHHU", build: func(m *mx) mreq {
			id := m.freshUser()
			return mreq{target: "/api/v1/users/" + id, body: fmt.Sprintf(`{"username":%q,"org_id":"police","role":"operator"}`, id)}
		}},
		{route: "DELETE /api/v1/users/{id}", want: "AAHHHHU", build: func(m *mx) mreq {
			return mreq{target: "/api/v1/users/" + m.freshUser()}
		}},
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestAuthorisationMatrix sends every route of the served OpenAPI
// document as every role, in every situation, and checks each answer's
// status against matrixRoutes.
func TestAuthorisationMatrix(t *testing.T) {
	fix := newMatrixFixture(t)
	e := fix.e

	// The contract: the routes of the document the server serves.
	r := e.call("GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	r.decode(t, &doc)
	success := map[string]int{} // route → success status
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for code := range op.Responses {
				var n int
				if _, err := fmt.Sscanf(code, "%d", &n); err == nil && n >= 200 && n < 400 {
					success[strings.ToUpper(method)+" "+path] = n
				}
			}
		}
	}
	if len(success) == 0 {
		t.Fatalf("no routes in the OpenAPI document: %s", r.body)
	}
	entries := map[string]matrixRoute{}
	for _, mr := range matrixRoutes() {
		entries[mr.route] = mr
	}
	var missing, stale []string
	for route := range success {
		if _, ok := entries[route]; !ok {
			missing = append(missing, route)
		}
	}
	for route := range entries {
		if _, ok := success[route]; !ok {
			stale = append(stale, route)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	for _, route := range missing {
		t.Errorf("route %s is in the OpenAPI document but not in the authorisation matrix: "+
			"add an entry for it to matrixRoutes in internal/api/matrix_test.go (who may call it, in which camera situations)", route)
	}
	for _, route := range stale {
		t.Errorf("matrix entry %s names no route of the OpenAPI document: remove or rename it", route)
	}

	cases := 0
	for _, mr := range matrixRoutes() {
		status, ok := success[mr.route]
		if !ok {
			continue
		}
		sits := map[situation]string{sitNone: mr.want}
		if mr.want == "" {
			sits = map[situation]string{sitOwn: mr.own, sitShared: mr.shared, sitUnshared: mr.unshared, sitExpired: mr.expired, sitRevoked: mr.revoked}
		}
		for sit := sitOwn; sit <= sitNone; sit++ {
			want, ok := sits[sit]
			if !ok {
				continue
			}
			if len(want) != len(matrixRoles) {
				t.Fatalf("%s (%s): expectation %q has %d letters, want one per role (%d)", mr.route, situationNames[sit], want, len(want), len(matrixRoles))
			}
			for i, role := range matrixRoles {
				cases++
				name := mr.route + "/" + situationNames[sit] + "/" + role.role
				m := &mx{fix: fix, user: role.user, sit: sit, n: cases}
				req := mr.build(m)
				got := fix.send(t, strings.Fields(mr.route)[0], req, role.user)
				if exp := expectedStatus(want[i], status); got.status != exp {
					t.Errorf("%s: %d, want %d (%c) — %.200s", name, got.status, exp, want[i], got.body)
				}
			}
		}
	}
	t.Logf("%d routes, %d roles, %d cases", len(success), len(matrixRoles), cases)
}

// expectedStatus turns an expectation letter into a status.
func expectedStatus(letter byte, success int) int {
	switch letter {
	case 'A':
		return success
	case 'D':
		return http.StatusForbidden
	case 'H':
		return http.StatusNotFound
	case 'N':
		return http.StatusBadRequest
	case 'C':
		return http.StatusConflict
	case 'U':
		return http.StatusUnauthorized
	}
	panic(fmt.Sprintf("unknown expectation letter %q", letter))
}

// matrixFixture is the one server and the things the cases act on, built
// once.
type matrixFixture struct {
	e      *env
	cams   [5]*argus.Camera // by situation
	shares [5]string        // share ids by situation
	holds  [5]string        // a hold on each situation's camera
	whep   *fakeWHEP
	idp    *testIdP
	pb     *playback.Service
	ex     *export.Manager
	bus    *events.Bus

	// exports are the callers' finished exports: user → situation → id.
	mu      sync.Mutex
	exports map[string]map[situation]string
}

// situationTags are the tags by which fire's shares select each
// situation's cameras.
var situationTags = [5]string{"mx-own", "mx-shared", "mx-unshared", "mx-expired", "mx-revoked"}

func newMatrixFixture(t *testing.T) *matrixFixture {
	t.Helper()
	segs, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := synth.Load("360p-gop2")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playback.New(playback.Config{Store: segs})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, err := evidence.LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	auditLog, err := audit.Open(t.Context(), filepath.Join(dir, audit.FileName), audit.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auditLog.Close() })
	fix := &matrixFixture{whep: &fakeWHEP{sessions: map[string]string{}}, pb: pb, exports: map[string]map[situation]string{}}
	fix.idp = newTestIdP(t)
	fix.idp.set(map[string]any{"sub": "matrix", "argus_org": "police", "argus_role": "viewer"}, nil)
	fix.e = newEnv(t, withOIDC(fix.idp, nil), func(c *api.Config) {
		ex, err := export.New(export.Config{Store: segs, Holds: c.Store, Dir: filepath.Join(dir, "exports"), Key: key, NodeID: "node-1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ex.Close)
		fix.ex = ex
		c.Playback, c.Exports, c.Audit = pb, ex, auditLog
		fix.bus = openEventBus(t)
		c.Events = fix.bus
		c.WHEP, c.HLS = fix.whep, fakeHLS{}
		c.Health = func(string) (api.CameraHealth, bool) { return api.CameraHealth{}, false }
	})
	e := fix.e
	fix.idp.argus = e.srv.URL
	ctx := t.Context()
	if err := e.db.CreateOrg(ctx, &argus.Org{ID: "parks", Name: "Parks", Kind: argus.OrgOther}); err != nil {
		t.Fatal(err)
	}
	for sit := sitOwn; sit <= sitRevoked; sit++ {
		org := "fire"
		if sit == sitOwn {
			org = "police"
		}
		c := e.addCamera("mx-"+situationNames[sit], org, 40.7, -74, situationTags[sit])
		fix.cams[sit] = c
		if _, err := synth.Record(ctx, segs, c.ID, clip, rec0, 10*time.Second, record.Options{SegmentDuration: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		fix.holds[sit] = e.addHold("mx-hold-"+situationNames[sit], c.ID).ID
	}
	now := time.Now()
	for sit, sh := range map[situation]*argus.Share{
		sitOwn:      {OwnerOrgID: "police", GranteeOrgID: "fire", Tags: []string{"mx-own"}, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(30 * 24 * time.Hour)},
		sitShared:   {OwnerOrgID: "fire", GranteeOrgID: "police", Tags: []string{"mx-shared"}, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(30 * 24 * time.Hour)},
		sitUnshared: {OwnerOrgID: "fire", GranteeOrgID: "parks", Tags: []string{"mx-unshared"}, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(30 * 24 * time.Hour)},
		sitExpired:  {OwnerOrgID: "fire", GranteeOrgID: "police", Tags: []string{"mx-expired"}, ValidFrom: now.Add(-48 * time.Hour), ValidUntil: now.Add(-24 * time.Hour)},
		sitRevoked:  {OwnerOrgID: "fire", GranteeOrgID: "police", Tags: []string{"mx-revoked"}, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(30 * 24 * time.Hour)},
	} {
		fix.shares[sit] = fix.addShare(t, sit, sh)
	}
	// Every caller's own finished export of each camera, made while the
	// shares were in effect (before revocation and expiry matter, the
	// export service does not ask the gate).
	for _, role := range matrixRoles {
		m := &mx{fix: fix, user: role.user}
		for sit := sitOwn; sit <= sitRevoked; sit++ {
			fix.startExport(t, m.actor(), sit)
		}
	}
	fix.waitExports(t)
	return fix
}

// addShare stores sh as a share of situation sit (revoking it for
// sitRevoked) and makes the gate see it.
func (f *matrixFixture) addShare(t *testing.T, sit situation, sh *argus.Share) string {
	t.Helper()
	ctx := t.Context()
	sh.ID = argus.NewID("share")
	sh.Actions = []argus.Action{argus.ActionLive, argus.ActionPlayback, argus.ActionExport, argus.ActionPTZ}
	sh.Purpose, sh.CreatedBy = "matrix", "admin"
	if err := f.e.db.CreateShare(ctx, sh); err != nil {
		t.Fatalf("share %s: %v", situationNames[sit], err)
	}
	if sit == sitRevoked {
		if _, err := f.e.db.RevokeShare(ctx, sh.ID, "admin", "matrix"); err != nil {
			t.Fatal(err)
		}
	}
	f.e.gate.InvalidateShares()
	return sh.ID
}

func (f *matrixFixture) startExport(t *testing.T, p argus.Principal, sit situation) {
	t.Helper()
	j, err := f.ex.Start(t.Context(), p, []*argus.Camera{f.cams[sit]},
		export.Request{CameraIDs: []string{f.cams[sit].ID}, From: rec0, To: rec0.Add(10 * time.Second), Reason: "case 17"})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.exports[p.UserID] == nil {
		f.exports[p.UserID] = map[situation]string{}
	}
	f.exports[p.UserID][sit] = j.ID
}

// waitExports waits for every export to finish.
func (f *matrixFixture) waitExports(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, j := range f.ex.List() {
		for {
			got, err := f.ex.Get(j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == export.StateDone {
				break
			}
			if got.State == export.StateFailed || time.Now().After(deadline) {
				t.Fatalf("export %s: %s %s", j.ID, got.State, got.Error)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// send sends one case's request as user ("" for no one) and returns the
// answer.
func (f *matrixFixture) send(t *testing.T, method string, req mreq, user string) response {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequestWithContext(t.Context(), method, f.e.srv.URL+req.target, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.body != "" {
		r.Header.Set("Content-Type", cmpOr(req.ctype, "application/json"))
	}
	if user != "" {
		r.Header.Set("Authorization", "Bearer "+cmpOr(req.token, f.e.token[user]))
	}
	if req.cookie != "" {
		r.Header.Set("Cookie", req.cookie)
	}
	// A redirect is the answer, not followed.
	c := *f.e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if req.stream {
		return response{status: resp.StatusCode, header: resp.Header}
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// mx is one case: a caller, a situation, and a number unique to the case
// for the names of what it creates.
type mx struct {
	fix         *matrixFixture
	user        string // "" for no one
	sit         situation
	n           int
	lastTokenID string
}

func (m *mx) t() *testing.T { return m.fix.e.t }

// cam is the situation's camera.
func (m *mx) cam() *argus.Camera { return m.fix.cams[min(m.sit, sitRevoked)] }

// owner is the organisation owning the situation's cameras.
func (m *mx) owner() string {
	if m.sit == sitOwn || m.sit == sitNone {
		return "police"
	}
	return "fire"
}

// tag is the tag that puts a camera in the situation.
func (m *mx) tag() string { return situationTags[min(m.sit, sitRevoked)] }

// actor is the caller as a principal; no one acts as the viewer where
// something must be made for them (and is refused before it is used).
func (m *mx) actor() argus.Principal {
	u, err := m.fix.e.db.User(context.Background(), cmpOr(m.user, "viewer"))
	if err != nil {
		m.t().Fatal(err)
	}
	return argus.Principal{UserID: u.ID, Username: u.Username, OrgID: u.OrgID, Role: u.Role}
}

// recRange is the query range of the recorded video.
func (m *mx) recRange() string { return rangeQuery(rec0.Add(-time.Minute), rec0.Add(time.Minute)) }

// freshCam adds a camera in the situation (for routes that change or
// remove it).
func (m *mx) freshCam() *argus.Camera {
	return m.fix.e.addCamera(fmt.Sprintf("mx-cam-%d", m.n), m.owner(), 40.7, -74, m.tag())
}

// freshToken issues a new API token for the caller (the viewer, for no
// one) and returns its secret.
func (m *mx) freshToken() string {
	u, err := m.fix.e.db.User(context.Background(), cmpOr(m.user, "viewer"))
	if err != nil {
		m.t().Fatal(err)
	}
	secret, tok, err := m.fix.e.auth.IssueToken(context.Background(), u, argus.TokenAPI, "matrix", time.Hour)
	if err != nil {
		m.t().Fatal(err)
	}
	m.lastTokenID = tok.ID
	return secret
}

// oidcCallback starts an OIDC sign-in and has the identity provider
// answer it: the request is the provider's redirect back, with the
// sign-in's cookie.
func (m *mx) oidcCallback() mreq {
	t := m.t()
	toIdP := m.fix.send(t, "GET", mreq{target: "/api/v1/oidc/login"}, "")
	var cookie string
	for _, c := range (&http.Response{Header: toIdP.header}).Cookies() {
		if c.Name == "argus_oidc" {
			cookie = c.Name + "=" + c.Value
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), "GET", toIdP.header.Get("Location"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cookie == "" {
		t.Fatalf("OIDC sign-in did not start: %d %s, cookie %q", toIdP.status, toIdP.body, cookie)
	}
	return mreq{target: back.RequestURI(), cookie: cookie}
}

// freshEvent publishes an event of the situation's camera.
func (m *mx) freshEvent() string {
	e, err := m.fix.bus.Publish(context.Background(), events.Event{
		Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: m.cam().ID, OrgID: m.owner(), Message: "offline",
	})
	if err != nil {
		m.t().Fatal(err)
	}
	return e.ID
}

// freshOrg adds an organisation below police.
func (m *mx) freshOrg() string {
	id := fmt.Sprintf("mx-org-%d", m.n)
	if err := m.fix.e.db.CreateOrg(context.Background(), &argus.Org{ID: id, Name: "Unit", Kind: argus.OrgPolice, ParentID: "police"}); err != nil {
		m.t().Fatal(err)
	}
	m.fix.e.gate.InvalidateOrgs()
	return id
}

// freshUser adds a viewer in police.
func (m *mx) freshUser() string {
	id := fmt.Sprintf("mx-usr-%d", m.n)
	m.fix.e.addUser(id, argus.RoleViewer, "police")
	return id
}

// freshHold places a hold on the situation's camera.
func (m *mx) freshHold() string {
	return m.fix.e.addHold(fmt.Sprintf("mx-hold-%d", m.n), m.cam().ID).ID
}

// freshShare adds a share of the situation's kind (on a camera of no
// other case).
func (m *mx) freshShare() string {
	now := time.Now()
	sh := &argus.Share{OwnerOrgID: "fire", GranteeOrgID: "police", CameraIDs: []string{fmt.Sprintf("mx-nothing-%d", m.n)},
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}
	switch m.sit {
	case sitOwn:
		sh.OwnerOrgID, sh.GranteeOrgID = "police", "fire"
	case sitUnshared:
		sh.GranteeOrgID = "parks"
	case sitExpired:
		sh.ValidFrom, sh.ValidUntil = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	}
	return m.fix.addShare(m.t(), m.sit, sh)
}

// exportOf is the id of the caller's finished export of the situation's
// camera.
func (m *mx) exportOf(sit situation) string {
	m.fix.mu.Lock()
	defer m.fix.mu.Unlock()
	return m.fix.exports[m.actor().UserID][sit]
}

// playbackFile opens a playback of the situation's camera as the caller
// (or, when the caller may not, as the admin) and returns the URL of its
// first file.
func (m *mx) playbackFile() string {
	base := "/api/v1/cameras/" + m.cam().ID + "/playback/"
	target := base + "index.m3u8?" + m.recRange() + "&reason=case+17"
	r := m.fix.send(m.t(), "GET", mreq{target: target}, m.user)
	if r.status != http.StatusOK {
		r = m.fix.send(m.t(), "GET", mreq{target: target}, "admin")
	}
	for line := range strings.SplitSeq(string(r.body), "\n") {
		if strings.HasPrefix(line, "seg/") {
			return base + line
		}
		if _, rest, ok := strings.Cut(line, `URI="`); ok {
			if uri, _, ok := strings.Cut(rest, `"`); ok && strings.HasPrefix(uri, "seg/") {
				return base + uri
			}
		}
	}
	m.t().Fatalf("playlist without a file: %d %s", r.status, r.body)
	return ""
}

// fakeHLS answers every authorised live request with an empty playlist.
type fakeHLS struct{}

func (fakeHLS) Serve(w http.ResponseWriter, _ *http.Request, _ *argus.Camera, _ argus.Principal, _ string) error {
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	_, _ = io.WriteString(w, "#EXTM3U\n")
	return nil
}

// Watching reports no session: every request passes the gate.
func (fakeHLS) Watching(string, string) bool { return false }

// fakeWHEP keeps WHEP sessions by viewer, as the real service does, and
// answers every offer the API passes on.
type fakeWHEP struct {
	mu       sync.Mutex
	n        int
	sessions map[string]string // session id → viewer's user id
}

// open starts a session of p and returns its id.
func (f *fakeWHEP) open(p argus.Principal) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("whep-%d", f.n)
	f.sessions[id] = p.UserID
	return id
}

func (f *fakeWHEP) Offer(_ context.Context, _ *argus.Camera, viewer argus.Principal, _, _ string) (string, string, error) {
	return "v=0\r\n", f.open(viewer), nil
}

func (f *fakeWHEP) own(id string, viewer argus.Principal) error {
	if f.sessions[id] != viewer.UserID {
		return argus.Errorf(argus.ENOTFOUND, "no WHEP session %s", url.PathEscape(id))
	}
	return nil
}

func (f *fakeWHEP) Patch(_ context.Context, id string, viewer argus.Principal, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.own(id, viewer)
}

func (f *fakeWHEP) Delete(_ context.Context, id string, viewer argus.Principal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.own(id, viewer); err != nil {
		return err
	}
	delete(f.sessions, id)
	return nil
}

func (f *fakeWHEP) Source(string) live.Source { return live.SourceMain }
