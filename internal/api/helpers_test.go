package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
	"argus/internal/secret"
	"argus/internal/sqlite"
)

// env is one API server over a real SQLite store, with an organisation tree
// (city → police → precinct-1; fire on its own), a user per role in police
// and a token for each.
type env struct {
	t     *testing.T
	db    *sqlite.DB
	auth  *access.Auth
	gate  *access.Gate
	srv   *httptest.Server
	clk   *clock
	logs  *syncBuffer
	token map[string]string // user name → bearer secret
}

// testUser is one of the users newEnv creates.
type testUser struct {
	name string
	role argus.Role
	org  string
}

// testUsers lists the users newEnv creates.
func testUsers() []testUser {
	return []testUser{
		{"admin", argus.RoleAdmin, "system"},
		{"viewer", argus.RoleViewer, "police"},
		{"operator", argus.RoleOperator, "police"},
		{"investigator", argus.RoleInvestigator, "police"},
		{"orgadmin", argus.RoleOrgAdmin, "police"},
		{"auditor", argus.RoleAuditor, "police"},
		{"fireviewer", argus.RoleViewer, "fire"},
	}
}

// testPassword is every test user's password.
const testPassword = "a password for tests"

type envOption func(*api.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, clk: newClock(), logs: &syncBuffer{}, token: map[string]string{}}
	sealer, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if e.db, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "argus.db"), sqlite.Options{Sealer: sealer}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.auth, err = access.NewAuth(access.AuthConfig{
		Store: e.db, Argon2: access.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, Now: e.clk.Now, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.gate, err = access.NewGate(access.GateConfig{Orgs: e.db, Shares: e.db, Emergencies: e.db, Recorder: access.NewSlogRecorder(log)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{
		Store: e.db, Gate: e.gate, Auth: e.auth, Logger: log,
		Registerer: prometheus.NewRegistry(), Version: "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(e.srv.Close)

	ctx := t.Context()
	for _, o := range []argus.Org{
		{ID: "system", Name: "System", Kind: argus.OrgOther},
		{ID: "city", Name: "City", Kind: argus.OrgCity},
		{ID: "police", Name: "Police", Kind: argus.OrgPolice, ParentID: "city"},
		{ID: "precinct-1", Name: "Precinct 1", Kind: argus.OrgPolice, ParentID: "police"},
		{ID: "fire", Name: "Fire", Kind: argus.OrgFire},
	} {
		if err := e.db.CreateOrg(ctx, &o); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range testUsers() {
		e.token[u.name] = e.addUser(u.name, u.role, u.org)
	}
	return e
}

// addUser creates a user with testPassword and returns an API token for it.
func (e *env) addUser(name string, role argus.Role, org string) string {
	e.t.Helper()
	hash, err := e.auth.HashPassword(testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &argus.User{ID: name, Username: name, OrgID: org, Role: role, PasswordHash: hash}
	if err := e.db.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := e.auth.IssueToken(e.t.Context(), u, argus.TokenAPI, "test", 24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// addCamera stores a camera directly.
func (e *env) addCamera(id, org string, lat, lon float64, tags ...string) *argus.Camera {
	e.t.Helper()
	c := &argus.Camera{
		ID: id, Name: "Camera " + id, OrgID: org, Lat: lat, Lon: lon, Tags: tags,
		StreamURL: "rtsp://10.0.0.1/" + id, Username: "cam", Password: "cam-secret",
	}
	c.Normalize()
	if err := e.db.CreateCamera(e.t.Context(), c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// addHold places a hold on an hour of a camera's recordings directly, as
// the admin.
func (e *env) addHold(id, camera string) *argus.Hold {
	e.t.Helper()
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := &argus.Hold{ID: id, CameraID: camera, From: from, To: from.Add(time.Hour), Reason: "case " + id, CreatedBy: "admin"}
	if err := e.db.CreateHold(e.t.Context(), h); err != nil {
		e.t.Fatal(err)
	}
	return h
}

// response is one HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response body %q: %v", r.body, err)
	}
}

// apiError is the error part of an error response.
func (r response) apiError(t *testing.T) (code, message, field, requestID string) {
	t.Helper()
	var body struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			Field     string `json:"field"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	r.decode(t, &body)
	return body.Error.Code, body.Error.Message, body.Error.Field, body.Error.RequestID
}

// call sends a request as user (a name from testUsers, "" for none, or a
// raw "Bearer …"/"Cookie …" header spec). body is sent as is when it is a
// string, else as JSON.
func (e *env) call(method, path, user string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case user == "":
	case strings.HasPrefix(user, "Bearer ") || strings.HasPrefix(user, "Basic "):
		req.Header.Set("Authorization", user)
	case strings.HasPrefix(user, "Cookie "):
		req.Header.Set("Cookie", strings.TrimPrefix(user, "Cookie "))
	default:
		tok, ok := e.token[user]
		if !ok {
			e.t.Fatalf("no token for user %q", user)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// snapshot renders everything the store holds, evidence holds included,
// except token use times, so that a test can assert a failed request
// changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := e.t.Context()
	var b strings.Builder
	orgs, err := e.db.Orgs(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range orgs {
		fmt.Fprintf(&b, "org %+v\n", *o)
	}
	users, err := e.db.Users(ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range users {
		fmt.Fprintf(&b, "user %+v\n", *u)
		toks, err := e.db.Tokens(ctx, u.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, t := range toks {
			fmt.Fprintf(&b, "  token %s %s %s %x %v\n", t.ID, t.Kind, t.Name, t.Hash, t.ExpiresAt)
		}
	}
	for after := ""; ; {
		page, err := e.db.FindCameras(ctx, argus.CameraQuery{After: after, Limit: argus.MaxPageSize})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range page.Items {
			full, err := e.db.Camera(ctx, c.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintf(&b, "camera %+v\n", *full)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	holds, err := e.db.Holds(ctx, argus.HoldFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range holds {
		fmt.Fprintf(&b, "hold %+v\n", *h)
	}
	return b.String()
}

// ids returns the ids of a camera listing.
func ids(t *testing.T, r response) []string {
	t.Helper()
	var page struct {
		Items []argus.Camera `json:"items"`
	}
	r.decode(t, &page)
	out := []string{}
	for _, c := range page.Items {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

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

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines that contain every one of subs.
func (b *syncBuffer) lines(subs ...string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		if line == "" || !containsAll(line, subs) {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
