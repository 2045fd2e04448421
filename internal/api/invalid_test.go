package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"argus"
)

// goodCamera returns a valid camera body; change one field to break it.
func goodCamera(change func(map[string]any)) map[string]any {
	c := map[string]any{
		"id": "cam-new", "name": "New", "org_id": "police", "lat": 40.7, "lon": -74.0,
		"stream_url": "rtsp://10.0.0.9/live",
	}
	if change != nil {
		change(c)
	}
	return c
}

// TestInvalidRequests sends every kind of bad request and checks the
// status, the error code, message and field, and that the store is
// unchanged afterwards.
func TestInvalidRequests(t *testing.T) {
	e := newEnv(t)
	e.addCamera("cam-1", "police", 40.7, -74.0)
	e.addCamera("cam-fire", "fire", 40.7, -74.0)
	expiring := e.addUser("temp", argus.RoleAdmin, "system")
	e.addHold("hold-1", "cam-1")
	e.addHold("hold-fire", "cam-fire")
	e.addHold("hold-done", "cam-1")
	if _, err := e.db.ReleaseHold(t.Context(), "hold-done", "admin", "case closed"); err != nil {
		t.Fatal(err)
	}
	hold := func(change func(map[string]any)) map[string]any {
		h := map[string]any{"camera_id": "cam-1", "from": "2026-03-01T10:00:00Z", "to": "2026-03-01T11:00:00Z", "reason": "case 17"}
		if change != nil {
			change(h)
		}
		return h
	}

	for _, tc := range []struct {
		name         string
		method, path string
		user         string
		body         any
		status       int
		code, field  string
		msg          string
		advance      time.Duration // move the clock first
	}{
		// Bodies.
		{name: "bad JSON", method: "POST", path: "/api/v1/cameras", user: "admin", body: `{"id":"x",`,
			status: 400, code: argus.EINVALID, msg: "request body is not valid JSON: it ends early"},
		{name: "bad JSON syntax", method: "POST", path: "/api/v1/cameras", user: "admin", body: `{id:1}`,
			status: 400, code: argus.EINVALID, msg: "request body is not valid JSON at byte 2: invalid character 'i' looking for beginning of object key string"},
		{name: "empty body", method: "POST", path: "/api/v1/cameras", user: "admin", body: ``,
			status: 400, code: argus.EINVALID, msg: "request body is empty; expected a JSON object"},
		{name: "not an object", method: "POST", path: "/api/v1/cameras", user: "admin", body: `[1,2]`,
			status: 400, code: argus.EINVALID, msg: "request body must be an object, not array"},
		{name: "trailing data", method: "POST", path: "/api/v1/cameras", user: "admin", body: `{"name":"x"} {}`,
			status: 400, code: argus.EINVALID, msg: "request body has data after the JSON value"},
		{name: "unknown field", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["nmae"] = "typo" }),
			status: 400, code: argus.EINVALID, field: "nmae", msg: `unknown field "nmae"`},
		{name: "wrong type", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["lat"] = "north" }),
			status: 400, code: argus.EINVALID, field: "lat", msg: "lat must be a number, not string"},
		{name: "body too large", method: "POST", path: "/api/v1/cameras", user: "admin", body: `{"name":"` + strings.Repeat("x", 1<<20) + `"}`,
			status: 413, code: argus.ETOOLARGE, msg: "request body is larger than 1048576 bytes"},

		// Camera validation, conflicts and ownership.
		{name: "latitude out of range", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["lat"] = 91 }),
			status: 400, code: argus.EINVALID, field: "lat", msg: "latitude 91 is outside -90..90"},
		{name: "longitude out of range", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["lon"] = -181.5 }),
			status: 400, code: argus.EINVALID, field: "lon", msg: "longitude -181.5 is outside -180..180"},
		{name: "unknown org", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["org_id"] = "nowhere" }),
			status: 400, code: argus.EINVALID, field: "org_id", msg: `organisation "nowhere" does not exist`},
		{name: "malformed stream URL", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["stream_url"] = "rtsp://[::1/live" }),
			status: 400, code: argus.EINVALID, field: "stream_url", msg: "stream_url is not a valid URL"},
		{name: "stream URL scheme", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["stream_url"] = "http://10.0.0.9/live" }),
			status: 400, code: argus.EINVALID, field: "stream_url", msg: `stream_url must use rtsp or rtsps, not "http"`},
		{name: "bad id", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["id"] = "Cam 1" }),
			status: 400, code: argus.EINVALID, field: "id", msg: `id "Cam 1" must be 1-64 characters of a-z, 0-9, '.', '_' or '-'`},
		{name: "duplicate id", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["id"] = "cam-1" }),
			status: 409, code: argus.ECONFLICT, field: "id"},
		{name: "forbidden create", method: "POST", path: "/api/v1/cameras", user: "viewer", body: goodCamera(nil),
			status: 403, code: argus.EFORBIDDEN, msg: "camera.manage is not allowed: role does not allow the action"},
		{name: "create in a foreign org", method: "POST", path: "/api/v1/cameras", user: "orgadmin", body: goodCamera(func(c map[string]any) { c["org_id"] = "fire" }),
			status: 403, code: argus.EFORBIDDEN, msg: "camera.manage is not allowed: resource is outside the principal's organisations"},
		{name: "forbidden delete", method: "DELETE", path: "/api/v1/cameras/cam-1", user: "operator",
			status: 403, code: argus.EFORBIDDEN, msg: "camera.manage is not allowed: role does not allow the action"},
		{name: "invisible camera", method: "DELETE", path: "/api/v1/cameras/cam-fire", user: "orgadmin",
			status: 404, code: argus.ENOTFOUND, msg: `camera "cam-fire" not found`},
		{name: "missing camera", method: "GET", path: "/api/v1/cameras/cam-404", user: "admin",
			status: 404, code: argus.ENOTFOUND, msg: `camera "cam-404" not found`},
		{name: "malformed id in URL", method: "GET", path: "/api/v1/cameras/Cam%201", user: "admin",
			status: 400, code: argus.EINVALID, field: "id", msg: `id "Cam 1" in the URL is not a valid id`},
		{name: "id mismatch", method: "PUT", path: "/api/v1/cameras/cam-1", user: "admin", body: goodCamera(func(c map[string]any) { c["id"] = "cam-2" }),
			status: 400, code: argus.EINVALID, field: "id", msg: `id "cam-2" in the body does not match "cam-1" in the URL`},
		{name: "bad transport", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["transport"] = "quic" }),
			status: 400, code: argus.EINVALID, field: "transport", msg: `transport "quic" is not one of tcp, udp, auto`},
		{name: "transport not a string", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["transport"] = 1 }),
			status: 400, code: argus.EINVALID, field: "transport", msg: "transport must be a string, not number"},
		{name: "patch to bad transport", method: "PATCH", path: "/api/v1/cameras/cam-1", user: "admin", body: `{"transport": "udp-multicast"}`,
			status: 400, code: argus.EINVALID, field: "transport", msg: `transport "udp-multicast" is not one of tcp, udp, auto`},
		{name: "put with bad transport", method: "PUT", path: "/api/v1/cameras/cam-1", user: "admin", body: goodCamera(func(c map[string]any) { c["id"], c["transport"] = "cam-1", "rtp" }),
			status: 400, code: argus.EINVALID, field: "transport", msg: `transport "rtp" is not one of tcp, udp, auto`},
		{name: "health of a missing camera", method: "GET", path: "/api/v1/cameras/cam-404/health", user: "admin",
			status: 404, code: argus.ENOTFOUND, msg: `camera "cam-404" not found`},
		{name: "health of an invisible camera", method: "GET", path: "/api/v1/cameras/cam-fire/health", user: "orgadmin",
			status: 404, code: argus.ENOTFOUND, msg: `camera "cam-fire" not found`},
		{name: "health with a malformed id", method: "GET", path: "/api/v1/cameras/Cam%201/health", user: "admin",
			status: 400, code: argus.EINVALID, field: "id", msg: `id "Cam 1" in the URL is not a valid id`},
		{name: "health without auth", method: "GET", path: "/api/v1/cameras/cam-1/health", user: "",
			status: 401, code: argus.EUNAUTHORIZED, msg: "authentication required: send Authorization: Bearer <token>"},
		{name: "health deleted", method: "DELETE", path: "/api/v1/cameras/cam-1/health", user: "admin",
			status: 405, code: "method_not_allowed", msg: "method DELETE is not allowed here; use GET"},
		{name: "patch to bad coordinates", method: "PATCH", path: "/api/v1/cameras/cam-1", user: "admin", body: `{"lat": -90.5}`,
			status: 400, code: argus.EINVALID, field: "lat", msg: "latitude -90.5 is outside -90..90"},

		// Listing parameters.
		{name: "bbox with three numbers", method: "GET", path: "/api/v1/cameras?bbox=1,2,3", user: "admin",
			status: 400, code: argus.EINVALID, field: "bbox", msg: "bbox must be minLon,minLat,maxLon,maxLat, four numbers"},
		{name: "bbox not numbers", method: "GET", path: "/api/v1/cameras?bbox=a,b,c,d", user: "admin",
			status: 400, code: argus.EINVALID, field: "bbox", msg: "bbox must be minLon,minLat,maxLon,maxLat, four numbers"},
		{name: "bbox reversed", method: "GET", path: "/api/v1/cameras?bbox=10,50,5,51", user: "admin",
			status: 400, code: argus.EINVALID, field: "bbox", msg: "min_lon 10 is east of max_lon 5"},
		{name: "bbox off the globe", method: "GET", path: "/api/v1/cameras?bbox=0,0,10,95", user: "admin",
			status: 400, code: argus.EINVALID, field: "bbox", msg: "latitude 95 is outside -90..90"},
		{name: "radius too large", method: "GET", path: "/api/v1/cameras?near=40.7,-74,200000", user: "admin",
			status: 400, code: argus.EINVALID, field: "near", msg: "radius 200000 m is outside (0, 100000]"},
		{name: "radius zero", method: "GET", path: "/api/v1/cameras?near=40.7,-74,0", user: "admin",
			status: 400, code: argus.EINVALID, field: "near", msg: "radius 0 m is outside (0, 100000]"},
		{name: "near malformed", method: "GET", path: "/api/v1/cameras?near=40.7,-74", user: "admin",
			status: 400, code: argus.EINVALID, field: "near", msg: "near must be lat,lon,radius_m, three numbers"},
		{name: "text too short", method: "GET", path: "/api/v1/cameras?q=ab", user: "admin",
			status: 400, code: argus.EINVALID, field: "q", msg: "text query must be at least 3 characters"},
		{name: "bad tag", method: "GET", path: "/api/v1/cameras?tag=Not%20A%20Tag", user: "admin",
			status: 400, code: argus.EINVALID, field: "tag", msg: `tag "Not A Tag" is not a valid tag`},
		{name: "bad org", method: "GET", path: "/api/v1/cameras?org=NOPE", user: "admin",
			status: 400, code: argus.EINVALID, field: "org", msg: `org "NOPE" is not a valid id`},
		{name: "bad recording", method: "GET", path: "/api/v1/cameras?recording=maybe", user: "admin",
			status: 400, code: argus.EINVALID, field: "recording", msg: `recording must be true or false, not "maybe"`},
		{name: "bad cursor", method: "GET", path: "/api/v1/cameras?cursor=!!!", user: "admin",
			status: 400, code: argus.EINVALID, field: "cursor", msg: "the page cursor is not valid"},
		{name: "cursor too long", method: "GET", path: "/api/v1/cameras?cursor=" + strings.Repeat("A", 600), user: "admin",
			status: 400, code: argus.EINVALID, field: "cursor", msg: "cursor is longer than 512 bytes"},
		{name: "limit zero", method: "GET", path: "/api/v1/cameras?limit=0", user: "admin",
			status: 400, code: argus.EINVALID, field: "limit", msg: `limit must be an integer in 1..1000, not "0"`},
		{name: "limit too large", method: "GET", path: "/api/v1/cameras?limit=1001", user: "admin",
			status: 400, code: argus.EINVALID, field: "limit", msg: `limit must be an integer in 1..1000, not "1001"`},
		{name: "limit not a number", method: "GET", path: "/api/v1/cameras?limit=ten", user: "admin",
			status: 400, code: argus.EINVALID, field: "limit", msg: `limit must be an integer in 1..1000, not "ten"`},
		{name: "unknown parameter", method: "GET", path: "/api/v1/cameras?colour=red", user: "admin",
			status: 400, code: argus.EINVALID, field: "colour", msg: `unknown query parameter "colour"`},
		{name: "repeated parameter", method: "GET", path: "/api/v1/cameras?limit=1&limit=2", user: "admin",
			status: 400, code: argus.EINVALID, field: "limit", msg: `query parameter "limit" is given more than once`},
		{name: "grid without bbox", method: "GET", path: "/api/v1/cameras/grid?zoom=3", user: "admin",
			status: 400, code: argus.EINVALID, field: "bbox", msg: "bbox is required"},
		{name: "grid zoom out of range", method: "GET", path: "/api/v1/cameras/grid?bbox=-75,40,-73,41&zoom=23", user: "admin",
			status: 400, code: argus.EINVALID, field: "zoom", msg: `zoom must be an integer in 0..22, not "23"`},
		{name: "grid zoom missing", method: "GET", path: "/api/v1/cameras/grid?bbox=-75,40,-73,41", user: "admin",
			status: 400, code: argus.EINVALID, field: "zoom", msg: `zoom must be an integer in 0..22, not ""`},

		// Routing and authentication.
		{name: "wrong method", method: "PATCH", path: "/api/v1/orgs", user: "admin",
			status: 405, code: "method_not_allowed", msg: "method PATCH is not allowed here; use GET, POST"},
		{name: "wrong method without auth", method: "DELETE", path: "/api/v1/cameras", user: "",
			status: 405, code: "method_not_allowed", msg: "method DELETE is not allowed here; use GET, POST"},
		{name: "unknown endpoint", method: "GET", path: "/api/v1/nothing", user: "admin",
			status: 404, code: argus.ENOTFOUND, msg: "no such endpoint: /api/v1/nothing"},
		{name: "missing auth", method: "POST", path: "/api/v1/cameras", user: "", body: goodCamera(nil),
			status: 401, code: argus.EUNAUTHORIZED, msg: "authentication required: send Authorization: Bearer <token>"},
		{name: "wrong token", method: "POST", path: "/api/v1/cameras", user: "Bearer argus_0000000000000000000000000000000000000000000", body: goodCamera(nil),
			status: 401, code: argus.EUNAUTHORIZED, msg: "invalid or expired token"},

		// Organisations.
		{name: "org with bad kind", method: "POST", path: "/api/v1/orgs", user: "admin", body: `{"id":"parks","name":"Parks","kind":"zoo"}`,
			status: 400, code: argus.EINVALID, field: "kind", msg: `kind "zoo" is not one of police, fire, traffic, city, private, other`},
		{name: "org with unknown parent", method: "POST", path: "/api/v1/orgs", user: "admin", body: `{"id":"parks","name":"Parks","kind":"city","parent_id":"nowhere"}`,
			status: 400, code: argus.EINVALID, field: "parent_id", msg: `parent organisation "nowhere" does not exist`},
		{name: "duplicate org", method: "POST", path: "/api/v1/orgs", user: "admin", body: `{"id":"fire","name":"Fire 2","kind":"fire"}`,
			status: 409, code: argus.ECONFLICT, field: "id"},
		{name: "org admin creates a root org", method: "POST", path: "/api/v1/orgs", user: "orgadmin", body: `{"id":"parks","name":"Parks","kind":"city"}`,
			status: 403, code: argus.EFORBIDDEN, msg: "org.manage is not allowed: resource is outside the principal's organisations"},
		{name: "org admin renames own org", method: "PUT", path: "/api/v1/orgs/police", user: "orgadmin", body: `{"name":"Cops","kind":"police","parent_id":"city"}`,
			status: 403, code: argus.EFORBIDDEN, msg: "org.manage is not allowed: resource is outside the principal's organisations"},
		{name: "org cycle", method: "PUT", path: "/api/v1/orgs/city", user: "admin", body: `{"name":"City","kind":"city","parent_id":"precinct-1"}`,
			status: 400, code: argus.EINVALID, field: "parent_id"},
		{name: "delete org that owns things", method: "DELETE", path: "/api/v1/orgs/police", user: "admin",
			status: 409, code: argus.ECONFLICT},
		{name: "invisible org", method: "GET", path: "/api/v1/orgs/fire", user: "viewer",
			status: 404, code: argus.ENOTFOUND, msg: `organisation "fire" not found`},

		// Users.
		{name: "short password", method: "POST", path: "/api/v1/users", user: "admin", body: `{"username":"newbie","org_id":"police","role":"viewer","password":"short"}`,
			status: 400, code: argus.EINVALID, field: "password", msg: "password must be at least 12 characters"},
		{name: "missing password", method: "POST", path: "/api/v1/users", user: "admin", body: `{"username":"newbie","org_id":"police","role":"viewer"}`,
			status: 400, code: argus.EINVALID, field: "password", msg: "password is required"},
		{name: "bad role", method: "POST", path: "/api/v1/users", user: "admin", body: `{"username":"newbie","org_id":"police","role":"king","password":"long enough password"}`,
			status: 400, code: argus.EINVALID, field: "role", msg: `role "king" is not one of viewer, operator, investigator, auditor, org_admin, admin`},
		{name: "duplicate username", method: "POST", path: "/api/v1/users", user: "admin", body: `{"username":"viewer","org_id":"police","role":"viewer","password":"long enough password"}`,
			status: 409, code: argus.ECONFLICT, field: "username"},
		{name: "org admin mints an admin", method: "POST", path: "/api/v1/users", user: "orgadmin", body: `{"username":"evil","org_id":"police","role":"admin","password":"long enough password"}`,
			status: 403, code: argus.EFORBIDDEN, msg: "system.admin is not allowed: role does not allow the action"},
		{name: "org admin promotes to admin", method: "PUT", path: "/api/v1/users/viewer", user: "orgadmin", body: `{"username":"viewer","org_id":"police","role":"admin"}`,
			status: 403, code: argus.EFORBIDDEN, msg: "system.admin is not allowed: role does not allow the action"},
		{name: "org admin creates a user in a foreign org", method: "POST", path: "/api/v1/users", user: "orgadmin", body: `{"username":"newbie","org_id":"fire","role":"viewer","password":"long enough password"}`,
			status: 403, code: argus.EFORBIDDEN, msg: "user.manage is not allowed: resource is outside the principal's organisations"},
		{name: "viewer lists users", method: "GET", path: "/api/v1/users", user: "viewer",
			status: 403, code: argus.EFORBIDDEN, msg: "user.manage is not allowed: role does not allow the action"},
		{name: "invisible user", method: "GET", path: "/api/v1/users/fireviewer", user: "orgadmin",
			status: 404, code: argus.ENOTFOUND, msg: `user "fireviewer" not found`},
		{name: "delete yourself", method: "DELETE", path: "/api/v1/users/admin", user: "admin",
			status: 409, code: argus.ECONFLICT, msg: "you cannot delete yourself"},

		// Tokens.
		{name: "token lifetime too long", method: "POST", path: "/api/v1/tokens", user: "viewer", body: `{"name":"x","expires_in_days":1000}`,
			status: 400, code: argus.EINVALID, field: "expires_in_days", msg: "expires_in_days 1000 is outside 1..366"},
		{name: "token without name", method: "POST", path: "/api/v1/tokens", user: "viewer", body: `{}`,
			status: 400, code: argus.EINVALID, field: "name", msg: "name is required"},

		// Quotas.
		{name: "negative camera byte quota", method: "POST", path: "/api/v1/cameras", user: "admin", body: goodCamera(func(c map[string]any) { c["retention_bytes"] = -1 }),
			status: 400, code: argus.EINVALID, field: "retention_bytes", msg: "retention_bytes -1 is outside 0..1152921504606846976"},
		{name: "negative org quota", method: "PUT", path: "/api/v1/orgs/precinct-1", user: "admin", body: `{"name":"P1","kind":"police","parent_id":"police","quota_bytes":-5}`,
			status: 400, code: argus.EINVALID, field: "quota_bytes", msg: "quota_bytes -5 is outside 0..1152921504606846976"},

		// Evidence holds.
		{name: "hold with a reversed range", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["to"] = "2026-03-01T09:00:00Z" }),
			status: 400, code: argus.EINVALID, field: "to", msg: "to 2026-03-01T09:00:00Z is not after from 2026-03-01T10:00:00Z"},
		{name: "hold with an empty range", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["to"] = h["from"] }),
			status: 400, code: argus.EINVALID, field: "to", msg: "to 2026-03-01T10:00:00Z is not after from 2026-03-01T10:00:00Z"},
		{name: "hold without from", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { delete(h, "from") }),
			status: 400, code: argus.EINVALID, field: "from", msg: "from is required"},
		{name: "hold over ten years", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["from"] = "2000-01-01T00:00:00Z" }),
			status: 400, code: argus.EINVALID, field: "to", msg: "a hold covers at most 3650 days"},
		{name: "hold before 1970", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["from"] = "1969-07-20T20:17:00Z" }),
			status: 400, code: argus.EINVALID, field: "from", msg: "from 1969-07-20T20:17:00Z is outside 1970..9999"},
		{name: "hold with a bad time", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["from"] = 1740823200 }),
			status: 400, code: argus.EINVALID, field: "from", msg: "from must be a string, not number"},
		{name: "hold with a malformed time", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["to"] = "2026-03-01 11:00" }),
			status: 400, code: argus.EINVALID, field: "to", msg: `to must be an RFC 3339 time such as 2026-03-01T10:00:00Z, not "2026-03-01 11:00"`},
		{name: "hold without reason", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["reason"] = "   " }),
			status: 400, code: argus.EINVALID, field: "reason", msg: "reason is required"},
		{name: "hold reason too long", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["reason"] = strings.Repeat("r", 1001) }),
			status: 400, code: argus.EINVALID, field: "reason", msg: "reason is longer than 1000 characters"},
		{name: "hold on an unknown camera", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["camera_id"] = "cam-404" }),
			status: 400, code: argus.EINVALID, field: "camera_id", msg: `camera "cam-404" does not exist`},
		{name: "hold on an invisible camera", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["camera_id"] = "cam-fire" }),
			status: 400, code: argus.EINVALID, field: "camera_id", msg: `camera "cam-fire" does not exist`},
		{name: "hold with a malformed camera id", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["camera_id"] = "Cam 1" }),
			status: 400, code: argus.EINVALID, field: "camera_id", msg: `camera_id "Cam 1" is not a valid id`},
		{name: "hold with an unknown field", method: "POST", path: "/api/v1/holds", user: "investigator", body: hold(func(h map[string]any) { h["until"] = "x" }),
			status: 400, code: argus.EINVALID, field: "until", msg: `unknown field "until"`},
		{name: "hold placed by an operator", method: "POST", path: "/api/v1/holds", user: "operator", body: hold(nil),
			status: 403, code: argus.EFORBIDDEN, msg: "hold.place is not allowed: role does not allow the action"},
		{name: "hold placed by an auditor", method: "POST", path: "/api/v1/holds", user: "auditor", body: hold(nil),
			status: 403, code: argus.EFORBIDDEN, msg: "hold.place is not allowed: role does not allow the action"},
		{name: "hold without auth", method: "POST", path: "/api/v1/holds", user: "", body: hold(nil),
			status: 401, code: argus.EUNAUTHORIZED, msg: "authentication required: send Authorization: Bearer <token>"},
		{name: "holds listed without auth", method: "GET", path: "/api/v1/holds", user: "",
			status: 401, code: argus.EUNAUTHORIZED, msg: "authentication required: send Authorization: Bearer <token>"},
		{name: "holds listed by a viewer", method: "GET", path: "/api/v1/holds", user: "viewer",
			status: 403, code: argus.EFORBIDDEN, msg: "hold.view is not allowed: role does not allow the action"},
		{name: "holds listed with a bad active", method: "GET", path: "/api/v1/holds?active=yes-ish", user: "auditor",
			status: 400, code: argus.EINVALID, field: "active", msg: `active must be true or false, not "yes-ish"`},
		{name: "holds listed with a bad camera", method: "GET", path: "/api/v1/holds?camera_id=CAM", user: "auditor",
			status: 400, code: argus.EINVALID, field: "camera_id", msg: `camera_id "CAM" is not a valid id`},
		{name: "holds listed with a bad time", method: "GET", path: "/api/v1/holds?from=yesterday", user: "auditor",
			status: 400, code: argus.EINVALID, field: "from", msg: `from must be an RFC 3339 time such as 2026-03-01T10:00:00Z, not "yesterday"`},
		{name: "holds listed with a reversed range", method: "GET", path: "/api/v1/holds?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", user: "auditor",
			status: 400, code: argus.EINVALID, field: "to", msg: "to must be after from"},
		{name: "hold read by a viewer", method: "GET", path: "/api/v1/holds/hold-1", user: "viewer",
			status: 403, code: argus.EFORBIDDEN, msg: "hold.view is not allowed: role does not allow the action"},
		{name: "invisible hold", method: "GET", path: "/api/v1/holds/hold-fire", user: "orgadmin",
			status: 404, code: argus.ENOTFOUND, msg: `hold "hold-fire" not found`},
		{name: "missing hold", method: "GET", path: "/api/v1/holds/hold-404", user: "admin",
			status: 404, code: argus.ENOTFOUND, msg: `hold "hold-404" not found`},
		{name: "release without reason", method: "POST", path: "/api/v1/holds/hold-1/release", user: "orgadmin", body: `{}`,
			status: 400, code: argus.EINVALID, field: "reason", msg: "reason is required"},
		{name: "release by an investigator", method: "POST", path: "/api/v1/holds/hold-1/release", user: "investigator", body: `{"reason":"done"}`,
			status: 403, code: argus.EFORBIDDEN, msg: "hold.release is not allowed: role does not allow the action"},
		{name: "release by an auditor", method: "POST", path: "/api/v1/holds/hold-1/release", user: "auditor", body: `{"reason":"done"}`,
			status: 403, code: argus.EFORBIDDEN, msg: "hold.release is not allowed: role does not allow the action"},
		{name: "release of an invisible hold", method: "POST", path: "/api/v1/holds/hold-fire/release", user: "orgadmin", body: `{"reason":"done"}`,
			status: 404, code: argus.ENOTFOUND, msg: `hold "hold-fire" not found`},
		{name: "release twice", method: "POST", path: "/api/v1/holds/hold-done/release", user: "orgadmin", body: `{"reason":"again"}`,
			status: 409, code: argus.ECONFLICT},
		{name: "release without auth", method: "POST", path: "/api/v1/holds/hold-1/release", user: "", body: `{"reason":"done"}`,
			status: 401, code: argus.EUNAUTHORIZED, msg: "authentication required: send Authorization: Bearer <token>"},
		{name: "hold deleted", method: "DELETE", path: "/api/v1/holds/hold-1", user: "admin",
			status: 405, code: "method_not_allowed", msg: "method DELETE is not allowed here; use GET"},

		// Last: the clock moves past the temp user's token lifetime.
		{name: "expired token", method: "POST", path: "/api/v1/cameras", user: "Bearer " + expiring, body: goodCamera(nil), advance: 25 * time.Hour,
			status: 401, code: argus.EUNAUTHORIZED, msg: "invalid or expired token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Advance(tc.advance)
			before := e.snapshot()
			r := e.call(tc.method, tc.path, tc.user, tc.body)
			code, msg, field, rid := r.apiError(t)
			if r.status != tc.status || code != tc.code || field != tc.field || (tc.msg != "" && msg != tc.msg) {
				t.Fatalf("got %d %s\nwant %d code=%s field=%q msg=%q", r.status, r.body, tc.status, tc.code, tc.field, tc.msg)
			}
			if rid == "" || rid != r.header.Get("X-Request-ID") {
				t.Errorf("request_id %q, header %q", rid, r.header.Get("X-Request-ID"))
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}
