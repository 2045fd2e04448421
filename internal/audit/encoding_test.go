package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"argus"
)

// TestRecordHashFollowsTheSpec recomputes a record's hash from
// docs/format/audit.md, independently of encodeRecord.
func TestRecordHashFollowsTheSpec(t *testing.T) {
	r := &Record{
		Time: time.Date(2026, 3, 1, 11, 0, 0, 5, time.FixedZone("CET", 3600)), Kind: KindDecision,
		Principal: argus.Principal{UserID: "ann", Username: "Ann", OrgID: "police", Role: argus.RoleInvestigator, TokenID: "tok-1"},
		Action:    argus.ActionPlayback, Resource: argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "city"},
		Allowed: true, Reason: "share", Purpose: "case 42 — Müller", Grant: "share:sh-1", Client: "192.0.2.1",
		From: time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC), Detail: []byte(`{"a":1}`),
	}
	prev := bytes.Repeat([]byte{0xab}, 32)
	var spec bytes.Buffer
	spec.Write(prev)
	for i, f := range []string{
		"argus-audit-record/1", "2026-03-01T10:00:00.000000005Z", "decision", "ann", "Ann", "police", "investigator", "tok-1",
		"video.playback", "camera", "cam-1", "city", "", "share", "case 42 — Müller", "share:sh-1", "192.0.2.1",
		"2026-02-28T23:00:00.000000000Z", "", `{"a":1}`,
	} {
		if i == 12 {
			spec.WriteByte(1) // allowed
			continue
		}
		binary.Write(&spec, binary.BigEndian, uint32(len(f)))
		spec.WriteString(f)
	}
	want := sha256.Sum256(spec.Bytes())
	got, _ := recordHash(nil, prev, r)
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("hash %x, want %x from the spec", got, want)
	}
}
