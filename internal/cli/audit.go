package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"argus/internal/audit"
	"argus/internal/evidence"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the audit log"}
	var keys []string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log offline: hash chain and signed checkpoints",
		Long: `Check a node's audit log (<data>/audit.db) offline: every record's hash,
the chain of hashes from the first record to the last, and every checkpoint's
signature. The first record found altered, removed or reordered, or the first
checkpoint missing, forged or not matching, is printed and the exit status is
1; an intact log exits 0. The checkpoints are checked with the public half of
the data directory's node.key unless --key pins other keys (base64, or a file
holding base64, a PEM "PUBLIC KEY" or the JSON of GET /api/v1/keys).
See docs/audit.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := g.data
			if dir == "" {
				cfg, err := g.load()
				if err != nil {
					return err
				}
				dir = cfg.Data
			}
			var opts audit.VerifyOptions
			for _, k := range keys {
				pubs, err := parseKeyFlag(k)
				if err != nil {
					return err
				}
				opts.Keys = append(opts.Keys, pubs...)
			}
			if len(opts.Keys) == 0 {
				pub, err := nodePublicKey(dir)
				if err != nil {
					return err
				}
				opts.Keys = []ed25519.PublicKey{pub}
			}
			return verifyAudit(cmd, filepath.Join(dir, audit.FileName), opts)
		},
	}
	verify.Flags().StringArrayVar(&keys, "key", nil, "trusted public key: base64, or a file (base64, PEM or GET /api/v1/keys JSON); repeatable")
	cmd.AddCommand(verify)
	return cmd
}

// nodePublicKey reads the public half of dir's node key, without creating
// one when there is none.
func nodePublicKey(dir string) (ed25519.PublicKey, error) {
	if _, err := os.Stat(filepath.Join(dir, evidence.KeyFile)); err != nil {
		return nil, fmt.Errorf("node key: %w (pass --key)", err)
	}
	key, err := evidence.LoadOrCreateKey(dir, nil)
	if err != nil {
		return nil, err
	}
	return key.Public, nil
}

func verifyAudit(cmd *cobra.Command, path string, opts audit.VerifyOptions) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	rep, err := audit.Verify(ctx, path, opts)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if !rep.OK() {
		fmt.Fprintf(w, "FAILED: %s\n", rep.Problem)
		return errors.New("the audit log does not verify")
	}
	_, err = fmt.Fprintf(w, "OK: %d %s, %d %s; signed up to record %d, %d %s after it chained but not yet signed\n",
		rep.Records, plural(int(rep.Records), "record", "records"), rep.Checkpoints, plural(rep.Checkpoints, "checkpoint", "checkpoints"),
		rep.Sealed, rep.Records-rep.Sealed, plural(int(rep.Records-rep.Sealed), "record", "records"))
	return err
}
