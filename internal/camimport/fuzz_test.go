package camimport_test

import (
	"bytes"
	"context"
	"testing"

	"argus"
	"argus/internal/camimport"
)

// validatingStore passes everything to the real store and fails the test
// when the importer adds a camera that does not pass Validate.
type validatingStore struct {
	argus.CameraStore
	t *testing.T
}

func (s validatingStore) BeginCameraBulk(ctx context.Context) (argus.CameraBulk, error) {
	b, err := s.CameraStore.BeginCameraBulk(ctx)
	return validatingBulk{CameraBulk: b, t: s.t}, err
}

type validatingBulk struct {
	argus.CameraBulk
	t *testing.T
}

func (b validatingBulk) Add(ctx context.Context, c *argus.Camera) error {
	if err := c.Validate(); err != nil {
		b.t.Errorf("importer added camera %q that fails Validate: %v", c.ID, err)
	}
	return b.CameraBulk.Add(ctx, c)
}

// FuzzImport feeds arbitrary bytes to Import in both modes against a real
// SQLite store: it must not panic, must add only valid cameras, and its
// report must agree with what the store gained.
func FuzzImport(f *testing.F) {
	db := openStore(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range []camimport.Mode{camimport.AllOrNothing, camimport.SkipBad} {
			before := count(t, db)
			rep, err := camimport.Import(t.Context(), validatingStore{CameraStore: db, t: t}, bytes.NewReader(data), camimport.Options{Mode: mode})
			gained := count(t, db) - before
			switch {
			case gained != rep.Imported:
				t.Errorf("%v: store gained %d cameras, report says %d (err %v)", mode, gained, rep.Imported, err)
			case err != nil && rep.Imported != 0:
				t.Errorf("%v: failed with %v yet imported %d", mode, err, rep.Imported)
			case err == nil && rep.Imported+rep.Skipped != rep.Rows:
				t.Errorf("%v: %d imported + %d skipped != %d rows", mode, rep.Imported, rep.Skipped, rep.Rows)
			case err == nil && mode == camimport.AllOrNothing && rep.Skipped != 0:
				t.Errorf("all-or-nothing committed with %d bad rows", rep.Skipped)
			case len(rep.Errors)+rep.MoreErrors < rep.Skipped:
				t.Errorf("%v: %d rows skipped but %d errors reported", mode, rep.Skipped, len(rep.Errors)+rep.MoreErrors)
			}
			for _, e := range rep.Errors {
				if e.Message == "" || e.Code == "" {
					t.Errorf("%v: error without message or code: %+v", mode, e)
				}
			}
		}
	})
}
