package clips

import (
	"bytes"
	"io/fs"
	"testing"
)

// The bitstream itself (sizes, GOP, frame count) is checked against the
// catalog by the sim package, which owns the Annex-B parser.

func TestCatalogMatchesFiles(t *testing.T) {
	names, err := fs.Glob(files, "*.h264")
	if err != nil {
		t.Fatal(err)
	}
	all := All()
	if len(names) != len(all) {
		t.Fatalf("%d embedded files, %d catalog entries", len(names), len(all))
	}
	if _, ok := Lookup(Default); !ok {
		t.Fatalf("default clip %q is not in the catalog", Default)
	}
	for _, c := range all {
		t.Run(c.Name, func(t *testing.T) {
			b, err := c.AnnexB()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 600<<10 {
				t.Errorf("clip is %d bytes, keep it under 600 KiB", len(b))
			}
			if !bytes.HasPrefix(b, []byte{0, 0, 0, 1}) && !bytes.HasPrefix(b, []byte{0, 0, 1}) {
				t.Errorf("clip does not start with an Annex-B start code")
			}
			if c.Frames%c.GOP != 0 {
				t.Errorf("%d frames is not a whole number of %d-frame GOPs", c.Frames, c.GOP)
			}
			if got, ok := Lookup(c.Name); !ok || got != c {
				t.Errorf("Lookup(%q) = %+v, %v", c.Name, got, ok)
			}
		})
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup found an unknown clip")
	}
}
