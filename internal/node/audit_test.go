package node

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/audit"
	"argus/internal/config"
	"argus/internal/evidence"
	"argus/internal/live"
)

func TestNodeAuditsDecisionsAndSealsTheLogOnShutdown(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n, err := New(ctx, Options{Config: cfg, Environ: []string{"ARGUS_ADMIN_PASSWORD=audit-test-password"}, NoRecord: true,
		Argon2: access.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	u, err := n.Store().User(ctx, access.AdminUserID)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := n.Auth().IssueToken(ctx, u, argus.TokenAPI, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", n.URL()+"/api/v1/orgs", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/orgs: status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	key, err := evidence.LoadOrCreateKey(cfg.Data, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.Data, audit.FileName)
	rep, err := audit.Verify(t.Context(), path, audit.VerifyOptions{Keys: []ed25519.PublicKey{key.Public}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records == 0 || rep.Sealed != rep.Records {
		t.Fatalf("Verify = %+v (problem %v), want intact records all sealed by the final checkpoint", rep, rep.Problem)
	}
	l, err := audit.Open(t.Context(), path, audit.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs, err := l.Find(t.Context(), audit.Query{AllOrgs: true, User: access.AdminUserID, Action: argus.ActionViewDirectory})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || !recs[0].Allowed || recs[0].Client != "127.0.0.1" {
		t.Fatalf("records of the admin listing organisations: %+v; want an allowed one from 127.0.0.1", recs)
	}
}

func TestLiveSessionsAreAudited(t *testing.T) {
	dir := t.TempDir()
	key, err := evidence.LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(t.Context(), filepath.Join(dir, audit.FileName), audit.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := t0
	sessions := live.NewSessions(auditSessions{log: l, next: live.NewSlogRecorder(nil), logger: slog.New(slog.DiscardHandler)}, func() time.Time { return clock })
	_, end := sessions.Open(t.Context(), live.Session{ID: "s-1", Protocol: live.ProtoWHEP, CameraID: "cam-1", UserID: "ann", OrgID: "police", Client: "192.0.2.5"})
	clock = t0.Add(90 * time.Second)
	end("closed by viewer")
	recs, err := l.Find(t.Context(), audit.Query{AllOrgs: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want a start and an end", len(recs))
	}
	e, s := recs[0], recs[1]
	if s.Kind != audit.KindSessionStart || !s.Time.Equal(t0) || s.Resource.ID != "cam-1" || s.Principal.UserID != "ann" || s.Client != "192.0.2.5" {
		t.Fatalf("start record %+v", s)
	}
	if e.Kind != audit.KindSessionEnd || !e.From.Equal(t0) || !e.To.Equal(clock) ||
		string(e.Detail) != `{"session":"s-1","protocol":"whep","reason":"closed by viewer"}` {
		t.Fatalf("end record %+v (detail %s), want the span %v..%v and the reason", e, e.Detail, t0, clock)
	}
}
