package api

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"argus"
	"argus/internal/access"
	"argus/internal/audit"
)

// The administrative changes the API records, as their detail's "change".
const (
	changeOrgCreate       = "org.create"
	changeOrgUpdate       = "org.update"
	changeOrgDelete       = "org.delete"
	changeUserCreate      = "user.create"
	changeUserUpdate      = "user.update"
	changeUserDelete      = "user.delete"
	changeCameraCreate    = "camera.create"
	changeCameraUpdate    = "camera.update"
	changeCameraDelete    = "camera.delete"
	changeCameraImport    = "camera.import"
	changeShareGrant      = audit.ChangeShareGrant
	changeShareRevoke     = audit.ChangeShareRevoke
	changeHoldPlace       = "hold.place"
	changeHoldRelease     = "hold.release"
	changeEmergencyAccess = "emergency.grant"
)

// change is the detail of a change record: which change, and then ids and
// the names of the fields that change — never their values when they may
// be secret (passwords, tokens, camera credentials).
type change map[string]any

// recordChange appends a change record of p's to the audit log after the
// gate allowed the change and before the store is written: action and res
// are what the gate decided, what names the change, detail adds ids and
// field names. When the record cannot be written the change is refused
// (EUNAVAILABLE). Without an audit log (a node that has none, tests) the
// change is logged instead.
func (s *Server) recordChange(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource, what string, detail change) error {
	d := change{"change": what}
	maps.Copy(d, detail)
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode change detail: %w", err)
	}
	if s.audit == nil {
		info(ctx).log.Info("administrative change", "change", what, "user_id", p.UserID, "resource_kind", res.Kind,
			"resource_id", res.ID, "detail", string(raw))
		return nil
	}
	rec := &audit.Record{
		Kind: audit.KindChange, Principal: p, Action: action, Resource: argus.Resource{Kind: res.Kind, ID: res.ID, OrgID: res.OrgID},
		Allowed: true, Client: access.ClientFrom(ctx), Detail: raw,
	}
	if err := s.audit.Append(ctx, rec); err != nil {
		return fmt.Errorf("%w: %w", argus.Errorf(argus.EUNAVAILABLE, "the audit log cannot be written; change refused"), err)
	}
	return nil
}

// changedFields returns the JSON names of the fields whose values differ
// between old and new (two values of one struct type), sorted; times the
// store sets (created_at, updated_at) are left out.
func changedFields(old, new any) []string {
	a, b := jsonFields(old), jsonFields(new)
	var out []string
	for k := range a {
		if string(a[k]) != string(b[k]) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	out = slices.DeleteFunc(out, func(k string) bool { return k == "created_at" || k == "updated_at" })
	slices.Sort(out)
	return slices.Compact(out)
}

// jsonFields returns v's JSON object as raw values by name.
func jsonFields(v any) map[string]json.RawMessage {
	raw, _ := json.Marshal(v)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	return m
}
