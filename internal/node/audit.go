package node

import (
	"context"
	"encoding/json"
	"log/slog"

	"argus"
	"argus/internal/access"
	"argus/internal/audit"
	"argus/internal/live"
)

// auditRecorder is the gate's recorder: each decision is written to the
// audit log first (a failure refuses the action) and then logged.
type auditRecorder struct {
	log  *audit.Log
	slog *access.SlogRecorder
}

// Record implements access.Recorder.
func (r auditRecorder) Record(ctx context.Context, d argus.Decision) error {
	if err := r.log.Record(ctx, d); err != nil {
		return err
	}
	return r.slog.Record(ctx, d)
}

// auditSessions records live sessions in the audit log (a start record, and
// an end record whose From..To is the session's span) and passes them on to
// next.
type auditSessions struct {
	log    *audit.Log
	next   live.Recorder
	logger *slog.Logger
}

// sessionDetail is the detail of a session record.
type sessionDetail struct {
	Session  string        `json:"session"`
	Protocol live.Protocol `json:"protocol"`
	Reason   string        `json:"reason,omitempty"`
}

// SessionStarted implements live.Recorder.
func (a auditSessions) SessionStarted(s live.Session) {
	a.append(audit.KindSessionStart, s)
	a.next.SessionStarted(s)
}

// SessionEnded implements live.Recorder.
func (a auditSessions) SessionEnded(s live.Session) {
	a.append(audit.KindSessionEnd, s)
	a.next.SessionEnded(s)
}

// append writes one session record. The session was allowed by a decision
// already in the log, so a failure here is logged, not refused.
func (a auditSessions) append(kind string, s live.Session) {
	detail, _ := json.Marshal(sessionDetail{Session: s.ID, Protocol: s.Protocol, Reason: s.Reason})
	r := &audit.Record{
		Time: s.Start, Kind: kind, Principal: argus.Principal{UserID: s.UserID, OrgID: s.OrgID},
		Action: argus.ActionLive, Resource: argus.Resource{Kind: "camera", ID: s.CameraID}, Allowed: true,
		Client: s.Client, From: s.Start, Detail: detail,
	}
	if kind == audit.KindSessionEnd {
		r.Time, r.To = s.End, s.End
	}
	if err := a.log.Append(context.Background(), r); err != nil {
		a.logger.Error("audit log: live session not recorded", "session", s.ID, "kind", kind, "err", err)
	}
}
