package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"argus"
)

// DownloadPurpose opens the purpose of the video.export decision that lets
// a finished export's bundle be downloaded ("download <export id>: …"), so
// that a report tells downloads from exports.
const DownloadPurpose = "download "

// The change names (a change record's detail "change") a report counts.
const (
	ChangeShareGrant  = "share.grant"
	ChangeShareRevoke = "share.revoke"
)

// TransparencyReport summarises what an audit log says happened in
// [From, To), per organisation of the acting principal: the answer to "who
// watched what, and how often" computed from the log alone.
type TransparencyReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Records is how many records of the range were read.
	Records int64 `json:"records"`
	// Orgs holds one entry per organisation that acted, by id; records
	// without an organisation count under "".
	Orgs []*OrgActivity `json:"orgs"`
}

// OrgActivity is what one organisation's users did in a report's range.
type OrgActivity struct {
	OrgID string `json:"org_id"`
	// LiveViews counts live sessions started (session.start records).
	LiveViews int `json:"live_views"`
	// Playbacks counts recorded video opened: allowed video.playback
	// decisions with a purpose (a playlist; timelines state none).
	Playbacks int `json:"playbacks"`
	// Exports counts allowed video.export decisions when an export starts
	// (one per camera); ExportDownloads those for downloading a finished
	// export's bundle.
	Exports         int `json:"exports"`
	ExportDownloads int `json:"export_downloads"`
	// PTZSessions counts allowed camera.ptz decisions.
	PTZSessions int `json:"ptz_sessions"`
	// EmergencyAccesses counts emergency grants opened (allowed
	// camera.emergency decisions); EmergencyUses the decisions an
	// emergency grant allowed afterwards.
	EmergencyAccesses int `json:"emergency_accesses"`
	EmergencyUses     int `json:"emergency_uses"`
	// SharesGranted and SharesRevoked count the share change records.
	SharesGranted int `json:"shares_granted"`
	SharesRevoked int `json:"shares_revoked"`
	// Denied counts the denied decisions, also by action.
	Denied         int                  `json:"denied"`
	DeniedByAction map[argus.Action]int `json:"denied_by_action"`
}

// Only keeps the organisations in orgs.
func (r *TransparencyReport) Only(orgs []string) {
	r.Orgs = slices.DeleteFunc(r.Orgs, func(a *OrgActivity) bool { return !slices.Contains(orgs, a.OrgID) })
}

// Report summarises the records of [from, to) (a zero bound is open).
func (l *Log) Report(ctx context.Context, from, to time.Time) (*TransparencyReport, error) {
	return report(ctx, l.r, from, to)
}

// ReportFile summarises the records of [from, to) of the audit log at
// path, offline and read-only (argus report).
func ReportFile(ctx context.Context, path string, from, to time.Time) (*TransparencyReport, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer db.Close()
	rep, err := report(ctx, db, from, to)
	if err != nil {
		return nil, fmt.Errorf("report on %s: %w", path, err)
	}
	return rep, nil
}

func report(ctx context.Context, db *sql.DB, from, to time.Time) (*TransparencyReport, error) {
	q := Query{From: from, To: to, AllOrgs: true}
	where, args := q.where()
	rows, err := db.QueryContext(ctx, `SELECT kind, org_id, action, allowed, purpose, grant_ref, detail FROM records`+
		where+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit records: %w", err)
	}
	defer rows.Close()
	rep := &TransparencyReport{From: from, To: to, Orgs: []*OrgActivity{}}
	byOrg := map[string]*OrgActivity{}
	for rows.Next() {
		var (
			kind, org, action, purpose, grant string
			allowed                           bool
			detail                            []byte
		)
		if err := rows.Scan(&kind, &org, &action, &allowed, &purpose, &grant, &detail); err != nil {
			return nil, fmt.Errorf("read audit records: %w", err)
		}
		rep.Records++
		a := byOrg[org]
		if a == nil {
			a = &OrgActivity{OrgID: org, DeniedByAction: map[argus.Action]int{}}
			byOrg[org] = a
			rep.Orgs = append(rep.Orgs, a)
		}
		a.count(kind, argus.Action(action), allowed, purpose, grant, detail)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit records: %w", err)
	}
	slices.SortFunc(rep.Orgs, func(a, b *OrgActivity) int { return strings.Compare(a.OrgID, b.OrgID) })
	return rep, nil
}

// count adds one record to a.
func (a *OrgActivity) count(kind string, action argus.Action, allowed bool, purpose, grant string, detail []byte) {
	switch kind {
	case KindSessionStart:
		a.LiveViews++
	case KindChange:
		var d struct {
			Change string `json:"change"`
		}
		if json.Unmarshal(detail, &d) != nil {
			return
		}
		switch d.Change {
		case ChangeShareGrant:
			a.SharesGranted++
		case ChangeShareRevoke:
			a.SharesRevoked++
		}
	case KindDecision:
		if !allowed {
			a.Denied++
			a.DeniedByAction[action]++
			return
		}
		if strings.HasPrefix(grant, "emergency:") {
			a.EmergencyUses++
		}
		switch {
		case action == argus.ActionPlayback && purpose != "":
			a.Playbacks++
		case action == argus.ActionExport && strings.HasPrefix(purpose, DownloadPurpose):
			a.ExportDownloads++
		case action == argus.ActionExport:
			a.Exports++
		case action == argus.ActionPTZ:
			a.PTZSessions++
		case action == argus.ActionEmergency:
			a.EmergencyAccesses++
		}
	}
}
