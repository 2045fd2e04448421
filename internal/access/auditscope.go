package access

import (
	"context"

	"argus"
)

// AuditOrgs returns the organisations whose audit records p may read: all
// of them (all is true) for administrators and for the auditors of the
// platform's own organisation (SystemOrgID: the city's oversight body,
// whose remit is every agency); otherwise p's own organisation and those
// below it, as VisibleOrgs says. The caller has passed the gate for
// argus.ActionViewAudit.
func (g *Gate) AuditOrgs(ctx context.Context, p argus.Principal) (orgs []string, all bool, err error) {
	if p.UserID != "" && p.Role == argus.RoleAuditor && p.OrgID == SystemOrgID {
		return nil, true, nil
	}
	return g.VisibleOrgs(ctx, p)
}
