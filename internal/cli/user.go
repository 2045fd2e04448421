package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"argus"
	"argus/internal/access"
)

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "List and create users, set passwords"}
	var org string
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				users, err := store.Users(ctx, org)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tORG\tROLE\tDISABLED\tNAME")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", u.Username, u.OrgID, u.Role, u.Disabled, u.DisplayName)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&org, "org", "", "only this organisation's users")

	var (
		u        argus.User
		role     string
		password pwFlags
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; the password is generated and shown once unless given",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, generated, err := password.get(cmd)
			if err != nil {
				return err
			}
			if u.Username == "" {
				return argus.FieldErrorf("username", "--username is required")
			}
			u.ID = argus.NewID("usr")
			u.Role = argus.Role(role)
			if u.PasswordHash, err = access.HashPassword(pw); err != nil {
				return err
			}
			if err := u.Validate(); err != nil {
				return err
			}
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				if err := store.CreateUser(ctx, &u); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s, %s)\n", u.Username, u.OrgID, u.Role)
				if generated {
					fmt.Fprintf(cmd.OutOrStdout(), "password: %s (shown once)\n", pw)
				}
				return nil
			})
		},
	}
	f := create.Flags()
	f.StringVar(&u.Username, "username", "", "sign-in name")
	f.StringVar(&u.DisplayName, "name", "", "display name")
	f.StringVar(&u.OrgID, "org", "", "organisation id")
	f.StringVar(&role, "role", string(argus.RoleViewer), "viewer, operator, investigator, auditor, org_admin or admin")
	password.register(create)

	var pw2 pwFlags
	passwd := &cobra.Command{
		Use:   "passwd USERNAME",
		Short: "Set a user's password; generated and shown once unless given",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := pw2.get(cmd)
			if err != nil {
				return err
			}
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				user, err := store.UserByName(ctx, args[0])
				if err != nil {
					return err
				}
				if user.PasswordHash, err = access.HashPassword(pw); err != nil {
					return err
				}
				if err := store.UpdateUser(ctx, user); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of %s changed\n", user.Username)
				if generated {
					fmt.Fprintf(cmd.OutOrStdout(), "password: %s (shown once)\n", pw)
				}
				return nil
			})
		},
	}
	pw2.register(passwd)
	cmd.AddCommand(list, create, passwd)
	return cmd
}

// pwFlags are the ways to give a password: a flag (visible in the process
// list, so for scripts on trusted machines), the first line of standard
// input, or none (a strong one is generated).
type pwFlags struct {
	value string
	stdin bool
}

func (p *pwFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.value, "password", "", "password (prefer --password-stdin)")
	cmd.Flags().BoolVar(&p.stdin, "password-stdin", false, "read the password from the first line of standard input")
}

// get returns the password and whether it was generated.
func (p *pwFlags) get(cmd *cobra.Command) (string, bool, error) {
	pw := p.value
	if p.stdin {
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && line == "" {
			return "", false, fmt.Errorf("read password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return access.GeneratePassword(), true, nil
	}
	if err := access.ValidatePassword(pw); err != nil {
		return "", false, err
	}
	return pw, false, nil
}
