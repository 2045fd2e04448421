package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"argus"
	"argus/internal/camimport"
	"argus/internal/logging"
)

func newCameraCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "camera", Short: "List, show, create, delete and import cameras"}
	cmd.AddCommand(newCameraListCmd(g), newCameraGetCmd(g), newCameraCreateCmd(g), newCameraDeleteCmd(g), newCameraImportCmd(g))
	return cmd
}

func newCameraListCmd(g *globals) *cobra.Command {
	var (
		bbox, near, org, tags string
		q                     argus.CameraQuery
		all, asJSON           bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List cameras, filtered, one page at a time (--all for every page)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if bbox != "" {
				if q.BBox, err = parseBBox(bbox); err != nil {
					return err
				}
			}
			if near != "" {
				if q.Near, err = parseNear(near); err != nil {
					return err
				}
			}
			q.OrgIDs = splitList(org)
			q.Tags = splitList(tags)
			if err := q.Validate(); err != nil {
				return err
			}
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				out := cmd.OutOrStdout()
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				if !asJSON {
					fmt.Fprintln(tw, "ID\tORG\tLAT\tLON\tREC\tNAME")
				}
				for {
					page, err := store.FindCameras(ctx, q)
					if err != nil {
						return err
					}
					for _, c := range page.Items {
						if asJSON {
							if err := writeJSON(out, c.Redacted()); err != nil {
								return err
							}
							continue
						}
						fmt.Fprintf(tw, "%s\t%s\t%.6f\t%.6f\t%t\t%s\n", c.ID, c.OrgID, c.Lat, c.Lon, c.Recording, c.Name)
					}
					if page.Next == "" || !all {
						if !asJSON && page.Next != "" {
							fmt.Fprintf(cmd.ErrOrStderr(), "more: --after %s (or --all)\n", page.Next)
						}
						break
					}
					q.After = page.Next
				}
				if asJSON {
					return nil
				}
				return tw.Flush()
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&bbox, "bbox", "", "bounding box minLon,minLat,maxLon,maxLat")
	f.StringVar(&near, "near", "", "circle lat,lon,radius_m")
	f.StringVar(&q.Text, "q", "", "text in id, name or address (at least 3 characters)")
	f.StringVar(&tags, "tag", "", "tags the camera must all carry, comma separated")
	f.StringVar(&org, "org", "", "owning organisations, comma separated")
	f.StringVar(&q.District, "district", "", "district")
	f.StringVar(&q.After, "after", "", "cursor from a previous page")
	f.IntVar(&q.Limit, "limit", 0, "page size")
	f.BoolVar(&all, "all", false, "every page")
	f.BoolVar(&asJSON, "json", false, "print JSON, one camera per document")
	return cmd
}

func newCameraGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one camera as JSON (never its password)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				c, err := store.Camera(ctx, args[0])
				if err != nil {
					return err
				}
				return writeJSON(cmd.OutOrStdout(), c.Redacted())
			})
		},
	}
}

func newCameraCreateCmd(g *globals) *cobra.Command {
	var (
		c    argus.Camera
		tags string
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Add a camera",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Tags = splitList(tags)
			if c.ID == "" {
				c.ID = argus.NewID("cam")
			}
			c.Normalize()
			if err := c.Validate(); err != nil {
				return err
			}
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				if err := store.CreateCamera(ctx, &c); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created camera %s\n", c.ID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.ID, "id", "", "id (generated when empty)")
	f.StringVar(&c.Name, "name", "", "display name")
	f.StringVar(&c.OrgID, "org", "", "owning organisation id")
	f.Float64Var(&c.Lat, "lat", 0, "latitude")
	f.Float64Var(&c.Lon, "lon", 0, "longitude")
	f.StringVar(&c.Address, "address", "", "street address")
	f.StringVar(&c.District, "district", "", "district")
	f.StringVar(&tags, "tags", "", "tags, comma separated")
	f.StringVar(&c.StreamURL, "stream-url", "", "main stream rtsp:// URL")
	f.StringVar(&c.SubStreamURL, "sub-stream-url", "", "sub-stream rtsp:// URL")
	f.StringVar(&c.ONVIFURL, "onvif-url", "", "ONVIF device service URL")
	f.StringVar(&c.Username, "username", "", "camera user name")
	f.StringVar(&c.Password, "password", "", "camera password (stored encrypted)")
	f.BoolVar(&c.Recording, "recording", true, "record continuously")
	f.IntVar(&c.RetentionDays, "retention-days", 30, "days to keep recordings")
	return cmd
}

func newCameraDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Remove a camera",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				if err := store.DeleteCamera(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted camera %s\n", args[0])
				return nil
			})
		},
	}
}

func newCameraImportCmd(g *globals) *cobra.Command {
	var (
		skipBad, ignoreUnknown, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import cameras from CSV (docs/import.md); - reads standard input",
		Long: `Import cameras from a CSV file in the format of docs/import.md. By default the
import is all or nothing: one bad row and nothing is imported. --skip-bad
imports the good rows and reports the others. Every problem is reported with
its row, line and field. Progress is shown on a terminal.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				r    io.Reader = cmd.InOrStdin()
				size int64
			)
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("open %s: %w", args[0], err)
				}
				defer f.Close()
				if st, err := f.Stat(); err == nil {
					size = st.Size()
				}
				r = f
			}
			ctx := cmd.Context()
			store, _, logger, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			opts := camimport.Options{IgnoreUnknownColumns: ignoreUnknown, Size: size, Logger: logger}
			if skipBad {
				opts.Mode = camimport.SkipBad
			}
			errw := cmd.ErrOrStderr()
			var bar *progressBar
			if logging.IsTerminal(errw) {
				bar = &progressBar{w: errw, start: time.Now()}
				opts.Progress = bar.update
			}
			start := time.Now()
			rep, err := camimport.Import(ctx, store, r, opts)
			bar.finish()
			if err != nil && len(rep.Errors) == 0 {
				return err
			}
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				printReport(cmd.OutOrStdout(), rep, time.Since(start))
			}
			if err != nil {
				return err
			}
			if len(rep.Errors) > 0 && rep.Imported == 0 {
				return errors.New("nothing imported")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&skipBad, "skip-bad", false, "import the good rows, report and skip the bad ones")
	f.BoolVar(&ignoreUnknown, "ignore-unknown-columns", false, "skip columns the importer does not know")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// printReport writes an import report for a person: the counts, then each
// problem with its row, line and field.
func printReport(w io.Writer, rep camimport.Report, took time.Duration) {
	fmt.Fprintf(w, "%d rows: %d imported, %d skipped (%s)\n", rep.Rows, rep.Imported, rep.Skipped, took.Round(time.Millisecond))
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	if rep.MoreErrors > 0 {
		fmt.Fprintf(w, "  … and %d more errors\n", rep.MoreErrors)
	}
	if len(rep.Errors) > 0 && rep.Imported == 0 && rep.Rows > 0 {
		fmt.Fprintln(w, "nothing was imported; fix the rows above or use --skip-bad")
	}
}

// progressBar draws an import's progress on a terminal, at most a few times
// a second.
type progressBar struct {
	w     io.Writer
	start time.Time
	drawn bool
}

func (b *progressBar) update(done, total int64) {
	const width = 30
	el := time.Since(b.start).Seconds()
	if total <= 0 {
		fmt.Fprintf(b.w, "\rimporting %s  %.1fs", mib(done), el)
	} else {
		frac := min(float64(done)/float64(total), 1)
		n := int(frac * width)
		fmt.Fprintf(b.w, "\rimporting [%s%s] %3.0f%%  %s / %s  %.1fs", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, mib(done), mib(total), el)
	}
	b.drawn = true
}

func (b *progressBar) finish() {
	if b != nil && b.drawn {
		fmt.Fprintln(b.w)
	}
}

func mib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseBBox reads minLon,minLat,maxLon,maxLat (the API's order).
func parseBBox(s string) (*argus.BBox, error) {
	v, err := floats(s, 4, "bbox", "minLon,minLat,maxLon,maxLat")
	if err != nil {
		return nil, err
	}
	b := &argus.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	return b, b.Validate()
}

// parseNear reads lat,lon,radius_m.
func parseNear(s string) (*argus.Circle, error) {
	v, err := floats(s, 3, "near", "lat,lon,radius_m")
	if err != nil {
		return nil, err
	}
	c := &argus.Circle{Center: argus.GeoPoint{Lat: v[0], Lon: v[1]}, RadiusM: v[2]}
	return c, c.Validate()
}

func floats(s string, n int, field, form string) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, argus.FieldErrorf(field, "--%s must be %s", field, form)
	}
	v := make([]float64, n)
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, argus.FieldErrorf(field, "--%s must be %s: %q is not a number", field, form, p)
		}
		v[i] = f
	}
	return v, nil
}
