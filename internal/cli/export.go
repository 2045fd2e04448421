package cli

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"argus"
	"argus/internal/evidence"
)

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Work with evidence exports"}
	var keys []string
	verify := &cobra.Command{
		Use:   "verify PATH",
		Short: "Check an export offline: signature, hashes and completeness",
		Long: `Check an evidence export offline: PATH is the export directory or its .zip
bundle. The manifest's Ed25519 signature, the size and SHA-256 of every file it
lists, and that nothing is missing or added are checked, and every problem is
printed on its own line. Without --key the key embedded in manifest.sig is
accepted (and the summary says so); --key pins the node keys to trust, each
given as base64, or as a file holding base64, a PEM "PUBLIC KEY" or the JSON
of GET /api/v1/keys. The exit status is 0 only when the export verifies.
See docs/export.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts evidence.VerifyOptions
			for _, k := range keys {
				pubs, err := parseKeyFlag(k)
				if err != nil {
					return err
				}
				opts.TrustedKeys = append(opts.TrustedKeys, pubs...)
			}
			r, err := evidence.Verify(args[0], opts)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, p := range r.Problems {
				fmt.Fprintln(w, p)
			}
			if !r.OK() {
				fmt.Fprintf(w, "FAILED: %d %s\n", len(r.Problems), plural(len(r.Problems), "problem", "problems"))
				return errors.New("the export does not verify")
			}
			trust := "embedded; not pinned — compare with GET /api/v1/keys or pass --key"
			if r.KeyTrusted {
				trust = "pinned with --key"
			}
			_, err = fmt.Fprintf(w, "OK: %d %s, manifest signed by key %s (%s)\n", r.Files, plural(r.Files, "file", "files"), r.KeyID, trust)
			return err
		},
	}
	verify.Flags().StringArrayVar(&keys, "key", nil, "trusted public key: base64, or a file (base64, PEM or GET /api/v1/keys JSON); repeatable")
	cmd.AddCommand(verify)
	return cmd
}

// parseKeyFlag reads a --key value: a file when one is there by that name,
// else the base64 key itself.
func parseKeyFlag(v string) ([]ed25519.PublicKey, error) {
	data := []byte(v)
	if fi, err := os.Stat(v); err == nil && fi.Mode().IsRegular() {
		if data, err = os.ReadFile(v); err != nil {
			return nil, fmt.Errorf("read --key file: %w", err)
		}
	}
	pubs, err := evidence.ParsePublicKeys(data)
	if err != nil {
		return nil, argus.FieldErrorf("key", "--key %q is neither a base64 Ed25519 public key nor a key file: %v", v, err)
	}
	return pubs, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
