package api

import (
	"net/http"
	"reflect"

	"argus"
	"argus/internal/audit"
	"argus/internal/camimport"
	"argus/internal/events"
	"argus/internal/export"
	"argus/internal/playback"
)

// authMode says what a route asks of the caller.
type authMode int

const (
	authToken   authMode = iota // a bearer token or the session cookie
	authNone                    // nothing: health, sign-in, the API document
	authMetrics                 // a token unless Config.MetricsPublic
)

// param documents one query parameter.
type param struct {
	name     string
	typ      string // JSON Schema type of one value: "string", "integer", "number", "boolean"
	repeated bool   // may be given more than once
	desc     string
}

// route is one entry of the API: the mux and the OpenAPI document are both
// built from routeTable.
type route struct {
	method, path string
	id           string // OpenAPI operationId
	tag          string // OpenAPI tag (section)
	summary      string
	auth         authMode
	query        []param
	request      reflect.Type // JSON request body; nil for none
	bodyType     string       // media type of a request body that is not JSON (request is nil)
	response     reflect.Type // JSON response body; nil for none
	failure      reflect.Type // error body when it is more than errorResponse; nil for errorResponse
	status       int          // success status
	contentType  string       // response media type when not JSON
	maxBody      int64        // body limit; 0 means Config.MaxBodyBytes
	largeBody    bool         // the body limit is Config.MaxImportBytes instead
	looseQuery   bool         // query parameters besides query are ignored (an identity provider's redirect adds its own)
	handle       func(s *Server, w http.ResponseWriter, r *http.Request) error
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// cameraFilterParams returns the query parameters shared by the camera
// listing and the grid.
func cameraFilterParams() []param {
	return []param{
		{name: "bbox", typ: "string", desc: "bounding box minLon,minLat,maxLon,maxLat (WGS84 degrees)"},
		{name: "near", typ: "string", desc: "circle lat,lon,radius_m; radius at most 100000 m"},
		{name: "q", typ: "string", desc: "text in id, name or address, at least 3 characters"},
		{name: "tag", typ: "string", repeated: true, desc: "keep cameras carrying every given tag"},
		{name: "org", typ: "string", repeated: true, desc: "keep cameras owned by one of these organisations"},
		{name: "district", typ: "string", desc: "keep cameras in exactly this district"},
		{name: "recording", typ: "boolean", desc: "keep cameras whose recording flag equals this"},
	}
}

// routeTable lists every route the server serves.
func routeTable() []route {
	return []route{
		{method: "GET", path: "/healthz", id: "healthz", tag: "system", summary: "Liveness: 200 while the process serves.",
			auth: authNone, response: typeOf[healthResponse](), status: 200, handle: (*Server).healthz},
		{method: "GET", path: "/readyz", id: "readyz", tag: "system", summary: "Readiness: 200 when the store and the node are ready, else 503 with the reason.",
			auth: authNone, response: typeOf[healthResponse](), status: 200, handle: (*Server).readyz},
		{method: "GET", path: "/metrics", id: "metrics", tag: "system", summary: "Prometheus metrics (text exposition format).",
			auth: authMetrics, status: 200, contentType: "text/plain", handle: (*Server).metrics},
		{method: "GET", path: "/api/v1/openapi.json", id: "openapi", tag: "system", summary: "This API's OpenAPI 3.1 document.",
			auth: authNone, status: 200, contentType: "application/json", handle: (*Server).openapi},

		{method: "POST", path: "/api/v1/login", id: "login", tag: "auth", summary: "Sign in; returns a session token and sets the argus_session cookie.",
			auth: authNone, request: typeOf[loginRequest](), response: typeOf[loginResponse](), status: 200, handle: (*Server).login},
		{method: "GET", path: "/api/v1/auth/providers", id: "authProviders", tag: "auth", summary: "How users may sign in: password, and whether OIDC is on with its button label.",
			auth: authNone, response: typeOf[providersResponse](), status: 200, handle: (*Server).authProviders},
		{method: "GET", path: "/api/v1/oidc/login", id: "oidcLogin", tag: "auth", summary: "Start an OIDC sign-in: redirects to the identity provider (404 when OIDC is off).",
			auth: authNone, status: 302, handle: (*Server).oidcLogin},
		{method: "GET", path: "/api/v1/oidc/callback", id: "oidcCallback", tag: "auth", summary: "The identity provider's redirect back: verifies the sign-in, creates or updates the user, sets the argus_session cookie and redirects to /.",
			auth: authNone, query: []param{
				{name: "state", typ: "string", desc: "the state the sign-in started with"},
				{name: "code", typ: "string", desc: "the authorisation code"},
				{name: "error", typ: "string", desc: "the identity provider's refusal"},
				{name: "error_description", typ: "string", desc: "its explanation"},
			},
			looseQuery: true, status: 302, handle: (*Server).oidcCallback},
		{method: "POST", path: "/api/v1/logout", id: "logout", tag: "auth", summary: "Revoke the token or session used for this request and clear the cookie.",
			status: 204, handle: (*Server).logout},
		{method: "GET", path: "/api/v1/me", id: "me", tag: "auth", summary: "The signed-in user.",
			response: typeOf[meResponse](), status: 200, handle: (*Server).me},
		{method: "POST", path: "/api/v1/tokens", id: "createToken", tag: "auth", summary: "Create an API token for the caller; the secret is shown only in this response.",
			request: typeOf[tokenRequest](), response: typeOf[tokenCreated](), status: 201, handle: (*Server).createToken},
		{method: "GET", path: "/api/v1/tokens", id: "listTokens", tag: "auth", summary: "The caller's tokens and sessions, newest first (no secrets).",
			response: typeOf[tokenList](), status: 200, handle: (*Server).listTokens},
		{method: "DELETE", path: "/api/v1/tokens/{id}", id: "deleteToken", tag: "auth", summary: "Revoke one of the caller's tokens.",
			status: 204, handle: (*Server).deleteToken},

		{method: "GET", path: "/api/v1/orgs", id: "listOrgs", tag: "organisations", summary: "Organisations the caller may see, ordered by id.",
			response: typeOf[orgList](), status: 200, handle: (*Server).listOrgs},
		{method: "POST", path: "/api/v1/orgs", id: "createOrg", tag: "organisations", summary: "Create an organisation (the id is generated when omitted).",
			request: typeOf[argus.Org](), response: typeOf[argus.Org](), status: 201, handle: (*Server).createOrg},
		{method: "GET", path: "/api/v1/orgs/{id}", id: "getOrg", tag: "organisations", summary: "One organisation.",
			response: typeOf[argus.Org](), status: 200, handle: (*Server).getOrg},
		{method: "PUT", path: "/api/v1/orgs/{id}", id: "updateOrg", tag: "organisations", summary: "Replace an organisation's name, kind and parent.",
			request: typeOf[argus.Org](), response: typeOf[argus.Org](), status: 200, handle: (*Server).updateOrg},
		{method: "DELETE", path: "/api/v1/orgs/{id}", id: "deleteOrg", tag: "organisations", summary: "Delete an organisation that owns no cameras, users or organisations.",
			status: 204, handle: (*Server).deleteOrg},

		{method: "GET", path: "/api/v1/cameras", id: "listCameras", tag: "cameras", summary: "One page of the cameras the caller may see, ordered by id.",
			query: append(cameraFilterParams(),
				param{name: "limit", typ: "integer", desc: "page size, 1..1000 (default 100)"},
				param{name: "cursor", typ: "string", desc: "the next value of the previous page"}),
			response: typeOf[cameraList](), status: 200, handle: (*Server).listCameras},
		{method: "GET", path: "/api/v1/cameras/grid", id: "cameraGrid", tag: "cameras", summary: "Camera counts per map cell inside bbox, for city-zoom maps.",
			query:    append([]param{{name: "zoom", typ: "integer", desc: "web-map zoom level 0..22 (required)"}}, cameraFilterParams()...),
			response: typeOf[gridResponse](), status: 200, handle: (*Server).cameraGrid},
		{method: "GET", path: "/api/v1/districts", id: "listDistricts", tag: "cameras", summary: "The directory's districts in name order: name, outline and centre for any signed-in user, and the count of the caller's visible cameras in each.",
			response: typeOf[districtList](), status: 200, handle: (*Server).listDistricts},
		{method: "POST", path: "/api/v1/cameras", id: "createCamera", tag: "cameras", summary: "Add a camera (the id is generated when omitted).",
			request: typeOf[argus.Camera](), response: typeOf[argus.Camera](), status: 201, handle: (*Server).createCamera},
		{method: "POST", path: "/api/v1/cameras/import", id: "importCameras", tag: "cameras", summary: "Add cameras in bulk from a CSV file (docs/import.md); all or nothing unless mode=skip-bad.",
			query: []param{
				{name: "mode", typ: "string", desc: "all-or-nothing (default): any bad row and nothing is imported; skip-bad: import the good rows"},
				{name: "ignore_unknown_columns", typ: "boolean", desc: "skip columns the importer does not know instead of failing (default false)"},
			},
			bodyType: "text/csv", response: typeOf[camimport.Report](), failure: typeOf[importFailure](), status: 200,
			largeBody: true, handle: (*Server).importCameras},
		{method: "GET", path: "/api/v1/cameras/{id}", id: "getCamera", tag: "cameras", summary: "One camera (never its password).",
			response: typeOf[argus.Camera](), status: 200, handle: (*Server).getCamera},
		{method: "GET", path: "/api/v1/cameras/{id}/health", id: "cameraHealth", tag: "cameras", summary: "A camera's media health on this node: ingest state, frame rate, bitrate, reconnects, readers; state idle while nobody watches or records it.",
			response: typeOf[CameraHealth](), status: 200, handle: (*Server).cameraHealth},
		{method: "GET", path: "/api/v1/cameras/{id}/live/{file}", id: "liveHLS", tag: "live", summary: "Live video as LL-HLS (fMP4 parts): index.m3u8, then the playlists, init files, segments and parts it names.",
			query: hlsParams(), status: 200, contentType: "application/vnd.apple.mpegurl", handle: (*Server).liveHLS},
		{method: "GET", path: "/api/v1/cameras/{id}/timeline", id: "cameraTimeline", tag: "playback", summary: "A camera's recorded ranges and gaps (and event markers) over from..to.",
			query: rangeParams(), response: typeOf[playback.Timeline](), status: 200, handle: (*Server).timeline},
		{method: "GET", path: "/api/v1/cameras/{id}/playback/index.m3u8", id: "playbackPlaylist", tag: "playback", summary: "Recorded video of from..to as HLS VOD (fMP4, no re-encoding), from the keyframe at or before from; gaps are discontinuities. Opens a playback session the named files carry.",
			query:  append(rangeParams(), param{name: "reason", typ: "string", desc: "why the video is watched: a case or incident number (required; audited)"}),
			status: 200, contentType: "application/vnd.apple.mpegurl", handle: (*Server).playbackPlaylist},
		{method: "GET", path: "/api/v1/cameras/{id}/playback/seg/{start}/{file}", id: "playbackFile", tag: "playback", summary: "An init (init.mp4) or part (<n>.m4s) of a recorded segment that a playback playlist names; only for the session's own viewer.",
			query: []param{
				{name: "s", typ: "string", desc: "the playback session, as the playlist gives it"},
				{name: "k", typ: "integer", desc: "first part of a playlist: start at this fragment"},
				{name: "d", typ: "integer", desc: "a segment still being written: cut parts as if it lasted this many milliseconds"},
			},
			status: 200, contentType: "video/mp4", handle: (*Server).playbackFile},
		{method: "PUT", path: "/api/v1/cameras/{id}", id: "updateCamera", tag: "cameras", summary: "Replace a camera; an omitted password is kept while the username is unchanged.",
			request: typeOf[argus.Camera](), response: typeOf[argus.Camera](), status: 200, handle: (*Server).updateCamera},
		{method: "PATCH", path: "/api/v1/cameras/{id}", id: "patchCamera", tag: "cameras", summary: "Change the fields present in the body; labels are merged, tags replaced.",
			request: typeOf[argus.Camera](), response: typeOf[argus.Camera](), status: 200, handle: (*Server).patchCamera},
		{method: "DELETE", path: "/api/v1/cameras/{id}", id: "deleteCamera", tag: "cameras", summary: "Remove a camera.",
			status: 204, handle: (*Server).deleteCamera},

		{method: "POST", path: "/api/v1/cameras/{id}/whep", id: "whepOffer", tag: "live", summary: "Watch a camera live over WebRTC (WHEP): post an SDP offer, get the answer (201) and the session's URL in Location.",
			bodyType: mediaSDP, status: 201, contentType: mediaSDP, maxBody: maxSDPBytes, handle: (*Server).whepOffer},
		{method: "PATCH", path: "/api/v1/whep/{session}", id: "whepPatch", tag: "live", summary: "Trickle ICE: add the candidates of an RFC 8840 SDP fragment to a WHEP session.",
			bodyType: mediaSDPFrag, status: 204, maxBody: maxSDPBytes, handle: (*Server).whepPatch},
		{method: "DELETE", path: "/api/v1/whep/{session}", id: "whepDelete", tag: "live", summary: "End a WHEP session.",
			status: 204, handle: (*Server).whepDelete},

		{method: "POST", path: "/api/v1/holds", id: "createHold", tag: "holds", summary: "Place an evidence hold on a camera's recordings from..to; retention never deletes them while it lasts.",
			request: typeOf[holdRequest](), response: typeOf[argus.Hold](), status: 201, handle: (*Server).createHold},
		{method: "GET", path: "/api/v1/holds", id: "listHolds", tag: "holds", summary: "Evidence holds of the organisations the caller may see, newest first.",
			query: []param{
				{name: "camera_id", typ: "string", desc: "keep the holds of this camera"},
				{name: "active", typ: "boolean", desc: "true: keep the holds not yet released"},
				{name: "from", typ: "string", desc: "keep the holds whose range ends after this RFC 3339 time"},
				{name: "to", typ: "string", desc: "keep the holds whose range starts before this RFC 3339 time"},
			},
			response: typeOf[holdList](), status: 200, handle: (*Server).listHolds},
		{method: "GET", path: "/api/v1/holds/{id}", id: "getHold", tag: "holds", summary: "One evidence hold.",
			response: typeOf[argus.Hold](), status: 200, handle: (*Server).getHold},
		{method: "POST", path: "/api/v1/holds/{id}/release", id: "releaseHold", tag: "holds", summary: "Release an evidence hold; it is kept, with who released it, when and why.",
			request: typeOf[releaseRequest](), response: typeOf[argus.Hold](), status: 200, handle: (*Server).releaseHold},

		{method: "POST", path: "/api/v1/shares", id: "createShare", tag: "shares", summary: "Share cameras of an organisation (by id, tag or area) with another organisation for some actions, from valid_from (default now) until valid_until (required, at most 365 days later).",
			request: typeOf[shareRequest](), response: typeOf[argus.Share](), status: 201, handle: (*Server).createShare},
		{method: "GET", path: "/api/v1/shares", id: "listShares", tag: "shares", summary: "Shares granted or received by the organisations whose shares the caller manages, or else the shares that serve the caller's organisation; newest first.",
			query:    []param{{name: "current", typ: "boolean", desc: "true: keep the shares not revoked and not ended (including those not yet begun)"}},
			response: typeOf[shareList](), status: 200, handle: (*Server).listShares},
		{method: "GET", path: "/api/v1/shares/{id}", id: "getShare", tag: "shares", summary: "One share.",
			response: typeOf[argus.Share](), status: 200, handle: (*Server).getShare},
		{method: "POST", path: "/api/v1/shares/{id}/revoke", id: "revokeShare", tag: "shares", summary: "Revoke a share at once, ending the live sessions it allowed; it is kept, with who revoked it, when and why.",
			request: typeOf[revokeRequest](), response: typeOf[argus.Share](), status: 200, handle: (*Server).revokeShare},
		{method: "POST", path: "/api/v1/cameras/{id}/emergency", id: "openEmergency", tag: "shares", summary: "Open a camera no rule otherwise opens to the caller, for the caller alone, live and playback, for 1..60 minutes (default 60), for a stated reason: emergency access, flagged for review and notified to the owner.",
			request: typeOf[emergencyRequest](), response: typeOf[argus.EmergencyGrant](), status: 201, handle: (*Server).openEmergency},
		{method: "GET", path: "/api/v1/emergencies", id: "listEmergencies", tag: "shares", summary: "Emergency grants on the cameras of, or opened by users of, the organisations the caller may see (org admins, auditors; everything for administrators), newest first.",
			query:    []param{{name: "current", typ: "boolean", desc: "true: keep the grants not yet ended"}},
			response: typeOf[emergencyList](), status: 200, handle: (*Server).listEmergencies},
		{method: "GET", path: "/api/v1/cameras/{id}/access", id: "cameraAccess", tag: "shares", summary: "Which organisations may act on a camera, and through which share: for those who manage its owner's shares.",
			response: typeOf[cameraAccess](), status: 200, handle: (*Server).cameraAccessList},

		{method: "POST", path: "/api/v1/exports", id: "createExport", tag: "exports", summary: "Export cameras' recordings of from..to as MP4 files with a signed manifest, in the background; places an evidence hold on each camera's range.",
			request: typeOf[exportRequest](), response: typeOf[export.Job](), status: 202, handle: (*Server).createExport},
		{method: "GET", path: "/api/v1/exports", id: "listExports", tag: "exports", summary: "The caller's exports (every export for administrators), newest first.",
			response: typeOf[exportList](), status: 200, handle: (*Server).listExports},
		{method: "GET", path: "/api/v1/exports/{id}", id: "getExport", tag: "exports", summary: "One export: state (queued, running, done, failed), progress 0..1, files and hashes.",
			response: typeOf[export.Job](), status: 200, handle: (*Server).getExport},
		{method: "GET", path: "/api/v1/exports/{id}/bundle", id: "exportBundle", tag: "exports", summary: "A finished export as a zip: the MP4 files, manifest.json and manifest.sig (check with argus export verify).",
			status: 200, contentType: "application/zip", handle: (*Server).exportBundle},
		{method: "GET", path: "/api/v1/keys", id: "listKeys", tag: "exports", summary: "The node's public Ed25519 keys that sign export manifests (public: anyone checking an export needs them).",
			auth: authNone, response: typeOf[keyList](), status: 200, handle: (*Server).keys},

		{method: "GET", path: "/api/v1/audit", id: "listAudit", tag: "audit", summary: "One page of the audit log, newest first: the records whose user's or resource's organisation the caller may see (everything for administrators).",
			query: append(auditParams(),
				param{name: "limit", typ: "integer", desc: "page size, 1..1000 (default 100)"},
				param{name: "cursor", typ: "string", desc: "the next value of the previous page"}),
			response: typeOf[auditList](), status: 200, handle: (*Server).listAudit},
		{method: "GET", path: "/api/v1/audit/export", id: "exportAudit", tag: "audit", summary: "The audit records the filters select, newest first, as JSON lines (one record per line, as in listAudit's items).",
			query: auditParams(), status: 200, contentType: "application/x-ndjson", handle: (*Server).exportAudit},

		{method: "GET", path: "/api/v1/audit/verify", id: "verifyAudit", tag: "audit", summary: "Verify the whole audit log as `argus audit verify` does (every record's hash, the chain, the signed checkpoints) on a snapshot taken when the call starts; the answer is ok, or the first bad record and why. Audited; one verification runs at a time.",
			response: typeOf[auditVerification](), status: 200, handle: (*Server).verifyAudit},
		{method: "GET", path: "/api/v1/audit/report", id: "reportAudit", tag: "audit", summary: "Transparency report of from..to from the audit log alone: per organisation, live views, playbacks, exports, PTZ sessions, emergency accesses, shares granted and revoked, denied attempts.",
			query: []param{
				{name: "from", typ: "string", desc: "start, RFC 3339 (default: the first record)"},
				{name: "to", typ: "string", desc: "end, RFC 3339, exclusive (default: now)"},
			},
			response: typeOf[audit.TransparencyReport](), status: 200, handle: (*Server).reportAudit},

		{method: "GET", path: "/api/v1/events", id: "listEvents", tag: "events", summary: "One page of the events the caller may see, newest first: those of the cameras it may see in the directory, and node-wide events for administrators and the system organisation (docs/events.md).",
			query: eventListParams(), response: typeOf[eventList](), status: 200, handle: (*Server).listEvents},
		{method: "GET", path: "/api/v1/events/stream", id: "streamEvents", tag: "events", summary: "The events the caller may see as Server-Sent Events (event: event, id: the event id, data: the event), live, and from the one after Last-Event-ID (header, or last_event_id) when given; a ': ping' comment every 15 s.",
			query:  append(eventFilterParams(), param{name: "last_event_id", typ: "string", desc: "replay the events after this id first (the Last-Event-ID header wins)"}),
			status: 200, contentType: "text/event-stream", handle: (*Server).streamEvents},
		{method: "POST", path: "/api/v1/events/{id}/ack", id: "ackEvent", tag: "events", summary: "Acknowledge an event the caller may see, with a note: publishes alert.acknowledged and answers the event, acknowledged; 409 when it was acknowledged already.",
			request: typeOf[ackRequest](), response: typeOf[events.Event](), status: 200, handle: (*Server).ackEvent},

		{method: "GET", path: "/api/v1/users", id: "listUsers", tag: "users", summary: "Users the caller may manage, ordered by id.",
			query:    []param{{name: "org", typ: "string", desc: "keep the users of this organisation"}},
			response: typeOf[userList](), status: 200, handle: (*Server).listUsers},
		{method: "POST", path: "/api/v1/users", id: "createUser", tag: "users", summary: "Create a user with a password of at least 12 characters.",
			request: typeOf[userRequest](), response: typeOf[argus.User](), status: 201, handle: (*Server).createUser},
		{method: "GET", path: "/api/v1/users/{id}", id: "getUser", tag: "users", summary: "One user.",
			response: typeOf[argus.User](), status: 200, handle: (*Server).getUser},
		{method: "PUT", path: "/api/v1/users/{id}", id: "updateUser", tag: "users", summary: "Replace a user; the password changes only when given.",
			request: typeOf[userRequest](), response: typeOf[argus.User](), status: 200, handle: (*Server).updateUser},
		{method: "DELETE", path: "/api/v1/users/{id}", id: "deleteUser", tag: "users", summary: "Delete a user and their tokens.",
			status: 204, handle: (*Server).deleteUser},
	}
}
