package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/audit"
	"argus/internal/evidence"
)

// openLog opens a log in a fresh directory with a fresh node key and closes
// it at the end of the test.
func openLog(t testing.TB, opts audit.Options) (*audit.Log, string, *evidence.Key) {
	t.Helper()
	dir := t.TempDir()
	key, err := evidence.LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Key = key
	path := filepath.Join(dir, audit.FileName)
	l, err := audit.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path, key
}

// decision returns a decision of user on camera cam of org.
func decision(user, org, cam string, action argus.Action, at time.Time) argus.Decision {
	return argus.Decision{
		Principal: argus.Principal{UserID: user, Username: user + "-name", OrgID: org, Role: argus.RoleInvestigator, TokenID: "tok-" + user},
		Action:    action,
		Resource:  argus.Resource{Kind: "camera", ID: cam, OrgID: org},
		Allowed:   true, Reason: "role allows the action in the principal's organisation",
		Purpose: "case 42", Grant: "share:sh-1", Time: at, Client: "192.0.2.10",
	}
}

func verify(t *testing.T, path string, key *evidence.Key) *audit.Report {
	t.Helper()
	rep, err := audit.Verify(t.Context(), path, audit.VerifyOptions{Keys: []ed25519.PublicKey{key.Public}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAppendRoundTrip(t *testing.T) {
	l, path, key := openLog(t, audit.Options{})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	if err := l.Record(t.Context(), decision("ann", "police", "cam-1", argus.ActionPlayback, t0)); err != nil {
		t.Fatal(err)
	}
	end := &audit.Record{
		Kind: audit.KindSessionEnd, Principal: argus.Principal{UserID: "bob", OrgID: "fire"}, Action: argus.ActionLive,
		Resource: argus.Resource{Kind: "camera", ID: "cam-2"}, Allowed: true, Client: "198.51.100.1",
		From: t0, To: t0.Add(time.Minute), Detail: json.RawMessage(`{"session":"s-1","reason":"closed by viewer"}`),
	}
	if err := l.Append(t.Context(), end); err != nil {
		t.Fatal(err)
	}
	if end.Seq != 2 || len(end.Hash) != 32 || len(end.PrevHash) != 32 || end.Time.IsZero() {
		t.Fatalf("appended %+v, want seq 2, hashes and a time", end)
	}
	got, err := l.Find(t.Context(), audit.Query{AllOrgs: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 1 {
		t.Fatalf("Find = %d records, want seq 2 then 1", len(got))
	}
	first := got[1]
	d := decision("ann", "police", "cam-1", argus.ActionPlayback, t0)
	if first.Kind != audit.KindDecision || !reflect.DeepEqual(first.Principal, d.Principal) || first.Action != d.Action ||
		first.Resource.ID != "cam-1" || !first.Allowed || first.Reason != d.Reason || first.Purpose != d.Purpose ||
		first.Grant != d.Grant || first.Client != d.Client || !first.Time.Equal(t0) {
		t.Fatalf("record 1 = %+v, want the decision %+v", first, d)
	}
	if string(got[0].Detail) != string(end.Detail) || !got[0].To.Equal(end.To) || string(got[0].PrevHash) != string(first.Hash) {
		t.Fatalf("record 2 = %+v, want detail, range and the chain kept", got[0])
	}
	if rep := verify(t, path, key); !rep.OK() || rep.Records != 2 {
		t.Fatalf("Verify = %+v, want 2 intact records", rep)
	}
}

func TestAppendRejectsBadDetail(t *testing.T) {
	l, _, _ := openLog(t, audit.Options{})
	if err := l.Append(t.Context(), &audit.Record{Kind: "user.update", Detail: json.RawMessage(`{"name":`)}); err == nil {
		t.Fatal("Append with malformed detail JSON succeeded")
	}
}

func TestConcurrentAppendsKeepAGaplessChain(t *testing.T) {
	l, path, key := openLog(t, audit.Options{CheckpointEvery: 100})
	const writers, each = 32, 40
	var wg sync.WaitGroup
	seqs := make(chan int64, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := &audit.Record{Kind: audit.KindDecision, Principal: argus.Principal{UserID: fmt.Sprintf("u%d", w)}, Reason: fmt.Sprint(i)}
				if err := l.Append(t.Context(), r); err != nil {
					t.Error(err)
					return
				}
				seqs <- r.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("seq %d given twice", s)
		}
		seen[s] = true
	}
	for s := int64(1); s <= writers*each; s++ {
		if !seen[s] {
			t.Fatalf("seq %d missing", s)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, path, key)
	if !rep.OK() || rep.Records != writers*each || rep.Sealed != writers*each {
		t.Fatalf("Verify = %+v (problem %v), want %d intact records, all sealed", rep, rep.Problem, writers*each)
	}
}

func TestCheckpoints(t *testing.T) {
	t.Run("every N records and at close", func(t *testing.T) {
		l, path, key := openLog(t, audit.Options{CheckpointEvery: 10})
		for range 25 {
			if err := l.Append(t.Context(), &audit.Record{Kind: audit.KindDecision}); err != nil {
				t.Fatal(err)
			}
		}
		if rep := verify(t, path, key); rep.Checkpoints != 2 || rep.Sealed != 20 {
			t.Fatalf("before Close: %d checkpoints, sealed to %d; want 2, 20", rep.Checkpoints, rep.Sealed)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, path, key); !rep.OK() || rep.Checkpoints != 3 || rep.Sealed != 25 {
			t.Fatalf("after Close: %+v, want 3 checkpoints sealing record 25", rep)
		}
	})
	t.Run("after the interval", func(t *testing.T) {
		l, path, key := openLog(t, audit.Options{CheckpointInterval: 20 * time.Millisecond})
		if err := l.Append(t.Context(), &audit.Record{Kind: audit.KindDecision}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for verify(t, path, key).Sealed != 1 {
			if time.Now().After(deadline) {
				t.Fatal("no checkpoint 5 s after the record, with a 20 ms interval")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("reopened log continues the chain", func(t *testing.T) {
		l, path, key := openLog(t, audit.Options{})
		if err := l.Append(t.Context(), &audit.Record{Kind: audit.KindDecision}); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l2, err := audit.Open(t.Context(), path, audit.Options{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		r := &audit.Record{Kind: audit.KindDecision}
		if err := l2.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, path, key); r.Seq != 2 || !rep.OK() || rep.Records != 2 || rep.Checkpoints != 2 {
			t.Fatalf("seq %d, Verify %+v; want seq 2 and 2 intact records, 2 checkpoints", r.Seq, rep)
		}
	})
}

func TestAppendAfterClose(t *testing.T) {
	l, _, _ := openLog(t, audit.Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(t.Context(), argus.Decision{}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Record after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestFind(t *testing.T) {
	l, _, _ := openLog(t, audit.Options{})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i, d := range []argus.Decision{
		decision("ann", "police", "cam-1", argus.ActionLive, t0),
		decision("ann", "police", "cam-2", argus.ActionPlayback, t0.Add(time.Hour)),
		decision("bob", "fire", "cam-1", argus.ActionLive, t0.Add(2*time.Hour)),
		decision("bob", "fire", "cam-3", argus.ActionExport, t0.Add(3*time.Hour)),
	} {
		if i == 2 {
			d.Resource.OrgID = "police" // fire watches a police camera
		}
		if err := l.Record(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    audit.Query
		want []int64
	}{
		{"all, newest first", audit.Query{AllOrgs: true}, []int64{4, 3, 2, 1}},
		{"by user id", audit.Query{AllOrgs: true, User: "bob"}, []int64{4, 3}},
		{"by username", audit.Query{AllOrgs: true, User: "ann-name"}, []int64{2, 1}},
		{"by camera", audit.Query{AllOrgs: true, Camera: "cam-1"}, []int64{3, 1}},
		{"by action", audit.Query{AllOrgs: true, Action: argus.ActionLive}, []int64{3, 1}},
		{"from..to", audit.Query{AllOrgs: true, From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour)}, []int64{3, 2}},
		{"principal's or resource's org", audit.Query{Orgs: []string{"police"}}, []int64{3, 2, 1}},
		{"other org", audit.Query{Orgs: []string{"fire"}}, []int64{4, 3}},
		{"no orgs", audit.Query{Orgs: []string{}}, nil},
		{"page", audit.Query{AllOrgs: true, Before: 4, Limit: 2}, []int64{3, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Find(t.Context(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, r := range got {
				seqs = append(seqs, r.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
				t.Fatalf("Find = %v, want %v", seqs, tc.want)
			}
		})
	}
}
