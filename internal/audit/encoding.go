package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Version strings open every hashed and every signed message, so that a
// record hash can never be mistaken for a checkpoint signature input or for
// a later format.
const (
	recordDomain     = "argus-audit-record/1"
	checkpointDomain = "argus-audit-checkpoint/1"
)

// timeLayout is how times are stored and hashed: UTC, RFC 3339 with exactly
// nine fractional digits, so that the text sorts in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime returns t in timeLayout, or "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reads a time written by formatTime.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

// encoder builds a canonical message: fields in a fixed order, each string
// or byte field as a 4-byte big-endian length and the bytes, each integer as
// 8 bytes big-endian, each boolean as one byte 0 or 1.
type encoder struct{ b []byte }

func (e *encoder) str(s string) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(p []byte) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(p)))
	e.b = append(e.b, p...)
}

func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// encodeRecord appends the canonical encoding of r (docs/format/audit.md)
// to buf. Seq, PrevHash and Hash are not part of it: a record's place is
// fixed by the prev_hash it is hashed with.
func encodeRecord(buf []byte, r *Record) []byte {
	e := encoder{b: buf}
	e.str(recordDomain)
	e.str(formatTime(r.Time))
	e.str(r.Kind)
	e.str(r.Principal.UserID)
	e.str(r.Principal.Username)
	e.str(r.Principal.OrgID)
	e.str(string(r.Principal.Role))
	e.str(r.Principal.TokenID)
	e.str(string(r.Action))
	e.str(r.Resource.Kind)
	e.str(r.Resource.ID)
	e.str(r.Resource.OrgID)
	e.bool(r.Allowed)
	e.str(r.Reason)
	e.str(r.Purpose)
	e.str(r.Grant)
	e.str(r.Client)
	e.str(formatTime(r.From))
	e.str(formatTime(r.To))
	e.bytes(r.Detail)
	return e.b
}

// recordHash returns SHA-256(prev ‖ encodeRecord(r)); buf is scratch space.
func recordHash(buf []byte, prev []byte, r *Record) ([]byte, []byte) {
	buf = append(buf[:0], prev...)
	buf = encodeRecord(buf, r)
	sum := sha256.Sum256(buf)
	return sum[:], buf
}

// checkpointMessage returns the bytes a checkpoint's signature covers.
func checkpointMessage(c *Checkpoint) []byte {
	e := encoder{}
	e.str(checkpointDomain)
	e.u64(uint64(c.Seq))
	e.u64(uint64(c.PrevSeq))
	e.bytes(c.Hash)
	e.str(formatTime(c.Time))
	e.str(c.KeyID)
	return e.b
}
