package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
)

// sharedEnv is newEnv whose gate reads clk, so that a share can end
// without waiting, with a fire org admin.
func sharedEnv(t *testing.T, clk *clock) *env {
	t.Helper()
	var g *access.Gate
	e := newEnv(t, func(c *api.Config) {
		var err error
		g, err = access.NewGate(access.GateConfig{Orgs: c.Store, Shares: c.Store, Emergencies: c.Store,
			Recorder: access.NewSlogRecorder(nil), Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Gate = g
	})
	e.gate = g
	e.token["fireadmin"] = e.addUser("fireadmin", argus.RoleOrgAdmin, "fire")
	return e
}

// storeShare stores a share from fire to police for live video, valid
// from an hour before clk's now for d.
func storeShare(t *testing.T, e *env, clk *clock, id string, d time.Duration, sh argus.Share) {
	t.Helper()
	sh.ID, sh.OwnerOrgID, sh.GranteeOrgID = id, "fire", "police"
	sh.Actions, sh.Purpose, sh.CreatedBy = []argus.Action{argus.ActionLive}, "mutual aid", "fireadmin"
	sh.ValidFrom, sh.ValidUntil = clk.Now().Add(-time.Hour), clk.Now().Add(d)
	if err := e.db.CreateShare(t.Context(), &sh); err != nil {
		t.Fatal(err)
	}
	e.gate.InvalidateShares()
}

// listing is a camera listing: id → shared_by, and the cursor.
type listing struct {
	ids      []string
	sharedBy map[string]string
	next     string
}

func list(t *testing.T, e *env, user, query string) listing {
	t.Helper()
	r := e.call("GET", "/api/v1/cameras?"+query, user, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list ?%s as %s: %d %s", query, user, r.status, r.body)
	}
	var page struct {
		Items []struct {
			ID       string `json:"id"`
			SharedBy string `json:"shared_by"`
			Password string `json:"password"`
		} `json:"items"`
		Next string `json:"next"`
	}
	r.decode(t, &page)
	l := listing{ids: []string{}, sharedBy: map[string]string{}, next: page.Next}
	for _, c := range page.Items {
		if c.Password != "" {
			t.Fatalf("listed %s with its password", c.ID)
		}
		l.ids = append(l.ids, c.ID)
		if c.SharedBy != "" {
			l.sharedBy[c.ID] = c.SharedBy
		}
	}
	return l
}

// grid returns the cameras a grid counts and the ids of its single-camera
// cells.
func grid(t *testing.T, e *env, user, query string) (total int, singles []string) {
	t.Helper()
	r := e.call("GET", "/api/v1/cameras/grid?"+query, user, nil)
	var body struct {
		Cells []argus.GridCell `json:"cells"`
	}
	r.decode(t, &body)
	if r.status != http.StatusOK {
		t.Fatalf("grid ?%s as %s: %d %s", query, user, r.status, r.body)
	}
	singles = []string{}
	for _, c := range body.Cells {
		total += c.Count
		if c.CameraID != "" {
			singles = append(singles, c.CameraID)
		}
	}
	slices.Sort(singles)
	return total, singles
}

func TestSharedCamerasInTheDirectory(t *testing.T) {
	clk := newClock()
	e := sharedEnv(t, clk)
	// Police's own, and fire's: each shared a different way, or not.
	e.addCamera("police-1", "police", 40.700, -74.000)
	e.addCamera("precinct-1", "precinct-1", 40.701, -74.001)
	e.addCamera("fire-listed", "fire", 40.710, -74.010)
	e.addCamera("fire-school", "fire", 40.720, -74.020, "school")
	e.addCamera("fire-in-area", "fire", 40.751, -73.989)
	e.addCamera("fire-notch", "fire", 40.759, -73.981) // in the triangle's box, not in the triangle
	e.addCamera("fire-unshared", "fire", 40.730, -74.030, "depot")
	e.addCamera("fire-short", "fire", 40.740, -74.040)
	e.addCamera("fire-revoked", "fire", 40.745, -74.045)
	storeShare(t, e, clk, "s-ids", 2*time.Hour, argus.Share{CameraIDs: []string{"fire-listed", "police-1"}})
	storeShare(t, e, clk, "s-tag", 2*time.Hour, argus.Share{Tags: []string{"school"}})
	// A triangle (-73.99,40.75) (-73.98,40.75) (-73.99,40.76).
	storeShare(t, e, clk, "s-area", 2*time.Hour, argus.Share{Area: &argus.Area{
		Polygon: [][]float64{{-73.99, 40.75}, {-73.98, 40.75}, {-73.99, 40.76}}}})
	storeShare(t, e, clk, "s-short", 30*time.Minute, argus.Share{CameraIDs: []string{"fire-short"}})
	storeShare(t, e, clk, "s-revoked", 2*time.Hour, argus.Share{CameraIDs: []string{"fire-revoked"}})

	shared := map[string]string{
		"fire-listed": "s-ids", "fire-school": "s-tag", "fire-in-area": "s-area", "fire-short": "s-short", "fire-revoked": "s-revoked",
	}
	everything := []string{"fire-in-area", "fire-listed", "fire-notch", "fire-revoked", "fire-school", "fire-short",
		"fire-unshared", "police-1", "precinct-1"}
	fire := []string{"fire-in-area", "fire-listed", "fire-notch", "fire-revoked", "fire-school", "fire-short", "fire-unshared"}
	grantee := []string{"fire-in-area", "fire-listed", "fire-revoked", "fire-school", "fire-short", "police-1", "precinct-1"}
	bbox := "bbox=-74.1,40.6,-73.9,40.8&zoom=18"

	t.Run("lists", func(t *testing.T) {
		for _, tc := range []struct {
			user, query string
			want        []string
		}{
			{"viewer", "", grantee},
			{"operator", "", grantee},
			{"auditor", "", grantee},
			{"fireviewer", "", fire},
			{"admin", "", everything},
			{"viewer", "org=fire", []string{"fire-in-area", "fire-listed", "fire-revoked", "fire-school", "fire-short"}},
			{"viewer", "org=precinct-1", []string{"precinct-1"}},
			{"viewer", "org=fire&org=precinct-1", []string{"fire-in-area", "fire-listed", "fire-revoked", "fire-school", "fire-short", "precinct-1"}},
			{"viewer", "org=city", []string{}},
			{"viewer", "tag=school", []string{"fire-school"}},
			{"viewer", "tag=depot", []string{}},
			{"viewer", "bbox=-73.995,40.745,-73.975,40.765", []string{"fire-in-area"}},
			{"viewer", "near=40.7595,-73.9815,200", []string{}},
			{"viewer", "q=fire-", []string{"fire-in-area", "fire-listed", "fire-revoked", "fire-school", "fire-short"}},
			{"viewer", "q=notch", []string{}},
			{"viewer", "recording=false&org=fire&org=police", []string{"fire-in-area", "fire-listed", "fire-revoked", "fire-school", "fire-short", "police-1"}},
		} {
			t.Run(tc.user+"?"+tc.query, func(t *testing.T) {
				l := list(t, e, tc.user, tc.query)
				if !slices.Equal(l.ids, tc.want) {
					t.Fatalf("listed %v, want %v", l.ids, tc.want)
				}
				for _, id := range l.ids {
					want := ""
					if tc.user != "admin" && tc.user != "fireviewer" {
						want = shared[id]
					}
					if l.sharedBy[id] != want {
						t.Fatalf("%s shared_by %q, want %q", id, l.sharedBy[id], want)
					}
				}
			})
		}
	})
	t.Run("grids", func(t *testing.T) {
		for _, tc := range []struct {
			user, query string
			want        []string
		}{
			{"viewer", bbox, grantee},
			{"fireviewer", bbox, fire},
			{"admin", bbox, everything},
			{"viewer", bbox + "&org=fire", []string{"fire-in-area", "fire-listed", "fire-revoked", "fire-school", "fire-short"}},
			{"viewer", bbox + "&tag=school", []string{"fire-school"}},
		} {
			t.Run(tc.user+"?"+tc.query, func(t *testing.T) {
				// Zoom 18 puts each camera in a cell of its own.
				if total, singles := grid(t, e, tc.user, tc.query); total != len(tc.want) || !slices.Equal(singles, tc.want) {
					t.Fatalf("grid counts %d, cameras %v; want %v", total, singles, tc.want)
				}
			})
		}
		// Coarse cells, aggregated in SQL when no polygon is shared.
		if total, _ := grid(t, e, "viewer", "bbox=-74.1,40.6,-73.9,40.8&zoom=10"); total != len(grantee) {
			t.Fatalf("grid at zoom 10 counts %d, want %d", total, len(grantee))
		}
	})
	t.Run("a shared camera opens by id, an unshared one does not", func(t *testing.T) {
		if r := e.call("GET", "/api/v1/cameras/fire-in-area", "viewer", nil); r.status != http.StatusOK {
			t.Fatalf("shared: %d %s", r.status, r.body)
		}
		if r := e.call("GET", "/api/v1/cameras/fire-notch", "viewer", nil); r.status != http.StatusNotFound {
			t.Fatalf("unshared: %d %s", r.status, r.body)
		}
	})
	t.Run("revocation and expiry take effect at once", func(t *testing.T) {
		r := e.call("POST", "/api/v1/shares/s-revoked/revoke", "fireadmin", map[string]any{"reason": "incident over"})
		if r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		now := []string{"fire-in-area", "fire-listed", "fire-school", "fire-short", "police-1", "precinct-1"}
		if l := list(t, e, "viewer", ""); !slices.Equal(l.ids, now) {
			t.Fatalf("after revoking s-revoked: %v, want %v", l.ids, now)
		}
		if total, singles := grid(t, e, "viewer", bbox); total != len(now) || !slices.Equal(singles, now) {
			t.Fatalf("grid after revoking s-revoked: %d %v, want %v", total, singles, now)
		}
		clk.Advance(45 * time.Minute) // s-short ends; nothing reloads the shares
		now = slices.DeleteFunc(now, func(id string) bool { return id == "fire-short" })
		if l := list(t, e, "viewer", ""); !slices.Equal(l.ids, now) {
			t.Fatalf("after s-short ended: %v, want %v", l.ids, now)
		}
		if total, singles := grid(t, e, "viewer", bbox); total != len(now) || !slices.Equal(singles, now) {
			t.Fatalf("grid after s-short ended: %d %v, want %v", total, singles, now)
		}
		clk.Advance(2 * time.Hour) // every share has ended
		if l := list(t, e, "viewer", ""); !slices.Equal(l.ids, []string{"police-1", "precinct-1"}) {
			t.Fatalf("after every share ended: %v", l.ids)
		}
		if l := list(t, e, "viewer", "org=fire"); len(l.ids) != 0 {
			t.Fatalf("fire's cameras after every share ended: %v", l.ids)
		}
	})
}

// TestSharedCameraPagination pages through police's cameras mixed with
// fire's, some shared by tag, some by an area (a polygon) and some by id:
// each camera the viewer may see comes once, in id order.
func TestSharedCameraPagination(t *testing.T) {
	clk := newClock()
	e := sharedEnv(t, clk)
	bulk, err := e.db.BeginCameraBulk(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Rollback()
	// A diamond around (40.75, -74.0); its bounding box holds cameras
	// outside it.
	diamond := &argus.Area{Polygon: [][]float64{{-74.05, 40.75}, {-74.0, 40.70}, {-73.95, 40.75}, {-74.0, 40.80}}}
	var cams []*argus.Camera
	for i := range 400 {
		c := &argus.Camera{
			ID: fmt.Sprintf("cam-%04d", i), Name: "Camera", OrgID: []string{"police", "fire", "fire", "precinct-1", "fire"}[i%5],
			Lat: 40.70 + float64(i%20)*0.005, Lon: -74.05 + float64(i/20)*0.005, Tags: []string{}, StreamURL: "rtsp://10.0.0.1/x",
		}
		if i%7 == 0 {
			c.Tags = []string{"school"}
		}
		if err := bulk.Add(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		cams = append(cams, c)
	}
	if err := bulk.Commit(); err != nil {
		t.Fatal(err)
	}
	listed := []string{"cam-0001", "cam-0014", "cam-0003", "cam-0399"} // cam-0003 is precinct-1's
	storeShare(t, e, clk, "s-tag", time.Hour, argus.Share{Tags: []string{"school"}})
	storeShare(t, e, clk, "s-area", time.Hour, argus.Share{Area: diamond})
	storeShare(t, e, clk, "s-ids", time.Hour, argus.Share{CameraIDs: listed})

	var want []string
	inBox, notIn := 0, 0
	for _, c := range cams {
		in := diamond.Contains(c.Point())
		if c.OrgID == "fire" && !in && c.Lat >= 40.70 && c.Lat <= 40.80 && c.Lon >= -74.05 && c.Lon <= -73.95 {
			notIn++
		}
		if c.OrgID != "fire" || slices.Contains(c.Tags, "school") || in || slices.Contains(listed, c.ID) {
			want = append(want, c.ID)
			if c.OrgID == "fire" {
				inBox++
			}
		}
	}
	if notIn == 0 || inBox == 0 {
		t.Fatalf("the fixture has %d shared and %d unshared fire cameras in the area's box; want both", inBox, notIn)
	}
	for _, limit := range []int{7, 50, 1000} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(cams) {
					t.Fatal("paging does not end")
				}
				q := url.Values{"limit": {fmt.Sprint(limit)}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				l := list(t, e, "viewer", q.Encode())
				if len(l.ids) > limit || (l.next != "" && len(l.ids) < limit) {
					t.Fatalf("page %d holds %d of %d, next %q", pages, len(l.ids), limit, l.next)
				}
				got = append(got, l.ids...)
				if cursor = l.next; cursor == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged %d cameras, want each of %d once in id order:\n got %s\nwant %s",
					len(got), len(want), strings.Join(got, " "), strings.Join(want, " "))
			}
		})
	}
}
