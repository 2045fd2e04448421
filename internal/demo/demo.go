// Package demo seeds a store with a small simulated city for `argus demo`:
// the city's organisations, its cameras pointed at the simulator, and one
// demo user per kind of person who uses argus. Seeding is idempotent, so the
// demo restarts on the same data directory.
package demo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"argus"
	"argus/internal/access"
	"argus/internal/camimport"
	"argus/internal/sim/city"
)

// CredentialsFile is the name, inside the data directory, of the file that
// keeps the demo users' passwords (mode 0600).
const CredentialsFile = "demo-credentials.txt"

// AreaKm2 is the area of the demo city: a few blocks, so the map is busy.
const AreaKm2 = 4

// CameraQuota is each demo camera's recording quota (retention_bytes):
// about half an hour of a simulated camera, so a demo left running does
// not fill the disk.
const CameraQuota = 64 << 20

// Account is one demo sign-in.
type Account struct {
	Username string
	Password string
	OrgID    string
	Role     argus.Role
	Name     string
}

// Accounts are the demo users, with empty passwords: one per kind of person
// who uses argus. The admin comes first.
func Accounts() []Account {
	return []Account{
		{Username: access.AdminUserID, OrgID: access.SystemOrgID, Role: argus.RoleAdmin, Name: "Platform administrator"},
		{Username: "dispatcher", OrgID: city.PrecinctID(0), Role: argus.RoleOperator, Name: "Precinct dispatcher"},
		{Username: "detective", OrgID: city.OrgPoliceID, Role: argus.RoleInvestigator, Name: "Police investigator"},
		{Username: "firefighter", OrgID: city.OrgFireID, Role: argus.RoleViewer, Name: "Fire department viewer"},
		{Username: "traffic", OrgID: city.OrgTrafficID, Role: argus.RoleOperator, Name: "Traffic operator"},
		{Username: "auditor", OrgID: access.SystemOrgID, Role: argus.RoleAuditor, Name: "Oversight auditor"},
		{Username: "owner", OrgID: "", Role: argus.RoleOrgAdmin, Name: "Building owner"}, // OrgID: the first private owner
	}
}

// Options describe the demo city.
type Options struct {
	// Cameras is the number of cameras; camera i (0-based) streams from
	// StreamURL(i).
	Cameras int
	// StreamURL gives camera i's stream URL (the simulator's /sim/i+1).
	StreamURL func(i int) string
	// Data is the data directory, where CredentialsFile is kept.
	Data string
}

// CityOptions returns the generator options of the demo city.
func CityOptions(o Options) city.Options {
	return city.Options{Cameras: o.Cameras, Seed: 1, AreaKm2: AreaKm2, PrivateOrgs: 3, StreamURL: o.StreamURL}
}

// AdminPassword returns the admin password saved by an earlier demo run, or
// a new one (saved by Seed). The demo passes it to the node as
// ARGUS_ADMIN_PASSWORD, so it is known before the node creates the admin.
func AdminPassword(data string) (string, error) {
	saved, err := readCredentials(data)
	if err != nil {
		return "", err
	}
	if pw := saved[access.AdminUserID]; pw != "" {
		return pw, nil
	}
	return access.GeneratePassword(), nil
}

// Seed creates what is missing of the demo city in store: organisations,
// cameras (and points existing ones at StreamURL), and the demo users other
// than the admin, whose password adminPW is only recorded. It returns every
// account with its password and saves them in CredentialsFile.
func Seed(ctx context.Context, store argus.Store, opts Options, adminPW string) ([]Account, error) {
	copts := CityOptions(opts)
	orgs := city.Orgs(copts)
	for i := range orgs {
		if err := store.CreateOrg(ctx, &orgs[i]); err != nil && argus.ErrorCode(err) != argus.ECONFLICT {
			return nil, fmt.Errorf("create organisation %s: %w", orgs[i].ID, err)
		}
	}
	if err := seedCameras(ctx, store, copts); err != nil {
		return nil, err
	}
	saved, err := readCredentials(opts.Data)
	if err != nil {
		return nil, err
	}
	accounts := Accounts()
	for i := range accounts {
		a := &accounts[i]
		if a.OrgID == "" {
			a.OrgID = firstPrivate(orgs)
		}
		if a.Username == access.AdminUserID {
			a.Password = adminPW
			if saved[a.Username] != adminPW {
				// The admin predates the demo's credentials file: give it
				// the password the demo is about to print.
				if err := setPassword(ctx, store, a.Username, adminPW); err != nil {
					return nil, err
				}
			}
			continue
		}
		a.Password = saved[a.Username]
		if _, err := store.UserByName(ctx, a.Username); err == nil && a.Password != "" {
			continue
		} else if err != nil && argus.ErrorCode(err) != argus.ENOTFOUND {
			return nil, err
		}
		if err := upsertUser(ctx, store, a); err != nil {
			return nil, err
		}
	}
	if err := writeCredentials(opts.Data, accounts); err != nil {
		return nil, err
	}
	return accounts, nil
}

// seedCameras imports the cameras that are missing, points every demo
// camera at its simulator URL (the simulator's port may differ between runs)
// and caps its recordings at CameraQuota.
func seedCameras(ctx context.Context, store argus.Store, copts city.Options) error {
	var csv bytes.Buffer
	if err := city.Generate(&csv, copts); err != nil {
		return fmt.Errorf("generate the demo city: %w", err)
	}
	rep, err := camimport.Import(ctx, store, &csv, camimport.Options{Mode: camimport.SkipBad})
	if err != nil {
		return fmt.Errorf("import the demo cameras: %w", err)
	}
	for _, e := range rep.Errors {
		if e.Code != argus.ECONFLICT {
			return fmt.Errorf("import the demo cameras: %s", e)
		}
	}
	for i := range copts.Cameras {
		c, err := store.Camera(ctx, city.CameraID(i))
		if err != nil {
			return fmt.Errorf("demo camera %s: %w", city.CameraID(i), err)
		}
		if want := copts.StreamURL(i); c.StreamURL != want || c.RetentionBytes != CameraQuota {
			c.StreamURL, c.RetentionBytes = want, CameraQuota
			if err := store.UpdateCamera(ctx, c); err != nil {
				return fmt.Errorf("point demo camera %s at the simulator: %w", c.ID, err)
			}
		}
	}
	return nil
}

func setPassword(ctx context.Context, store argus.Store, username, pw string) error {
	u, err := store.UserByName(ctx, username)
	if err != nil {
		return fmt.Errorf("demo user %s: %w", username, err)
	}
	if u.PasswordHash, err = access.HashPassword(pw); err != nil {
		return err
	}
	return store.UpdateUser(ctx, u)
}

// upsertUser creates a or, when it exists without a saved password, gives it
// a new one.
func upsertUser(ctx context.Context, store argus.Store, a *Account) error {
	a.Password = access.GeneratePassword()
	if _, err := store.UserByName(ctx, a.Username); err == nil {
		return setPassword(ctx, store, a.Username, a.Password)
	}
	hash, err := access.HashPassword(a.Password)
	if err != nil {
		return err
	}
	u := &argus.User{ID: "demo-" + a.Username, Username: a.Username, DisplayName: a.Name, OrgID: a.OrgID, Role: a.Role, PasswordHash: hash}
	if err := store.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("create demo user %s: %w", a.Username, err)
	}
	return nil
}

func firstPrivate(orgs []argus.Org) string {
	for _, o := range orgs {
		if o.Kind == argus.OrgPrivate {
			return o.ID
		}
	}
	return access.SystemOrgID
}

func credentialsPath(data string) string { return data + string(os.PathSeparator) + CredentialsFile }

// readCredentials reads username → password from CredentialsFile; a missing
// file is an empty map.
func readCredentials(data string) (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(credentialsPath(data))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read demo credentials: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
			m[f[0]] = f[1]
		}
	}
	return m, nil
}

func writeCredentials(data string, accounts []Account) error {
	var b strings.Builder
	b.WriteString("# argus demo sign-ins: username, password, organisation, role. Demo only.\n")
	for _, a := range accounts {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", a.Username, a.Password, a.OrgID, a.Role)
	}
	if err := os.MkdirAll(data, 0o750); err != nil {
		return fmt.Errorf("save demo credentials: %w", err)
	}
	if err := os.WriteFile(credentialsPath(data), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("save demo credentials: %w", err)
	}
	return nil
}
