package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"argus"
	"argus/internal/sim"
	"argus/internal/sim/city"
	"argus/internal/sim/clips"
)

func newSimCmd(g *globals) *cobra.Command {
	var (
		cameras int
		listen  string
		clip    string
		fps     int
		bitrate int
		fails   []string
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve simulated cameras over RTSP (rtsp://HOST:PORT/sim/1 … /sim/N)",
		Long: `Serve simulated cameras over RTSP: H.264 from bundled clips, looped with
continuous timestamps, every frame stamped with the wall clock in an SEI
message. --fail makes chosen cameras misbehave, e.g. --fail 3:drop:after=10s,for=5s
(modes: drop, stall, garbage; see docs/sim.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			logger, err := g.logger(cfg)
			if err != nil {
				return err
			}
			sc := sim.Config{Cameras: cameras, Listen: listen, Clip: clip, FPS: fps, Bitrate: bitrate, Logger: logger}
			for _, f := range fails {
				fl, err := sim.ParseFailure(f)
				if err != nil {
					return err
				}
				sc.Failures = append(sc.Failures, fl)
			}
			s, err := sim.New(sc)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := s.Start(ctx); err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "simulating %d cameras: %s … %s\n", cameras, s.URL(1), s.URL(cameras))
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cameras, "cameras", 4, "number of cameras")
	f.StringVar(&listen, "listen", "127.0.0.1:8554", "RTSP listen address host:port")
	f.StringVar(&clip, "clip", clips.Default, "clip every camera streams ("+clipNames()+")")
	f.IntVar(&fps, "fps", 0, "frame rate (0 keeps the clip's 25 fps)")
	f.IntVar(&bitrate, "bitrate", 0, "target bitrate in bit/s, padded with filler data (0 keeps the clip's rate)")
	f.StringArrayVar(&fails, "fail", nil, "failure schedule CAM:MODE[:after=D,for=D,every=D] (repeatable)")
	cmd.AddCommand(newSimCityCmd(g))
	return cmd
}

func newSimCityCmd(g *globals) *cobra.Command {
	var (
		opts       city.Options
		out        string
		createOrgs bool
		simURL     string
	)
	cmd := &cobra.Command{
		Use:   "city",
		Short: "Write a synthetic city's cameras as import CSV",
		Long: `Write a synthetic city of cameras, clustered along a street grid, in the
camera CSV format that 'argus camera import' reads (docs/import.md). The same
options give the same bytes. The cameras belong to the city's organisations
(police and its precincts, fire, traffic, city departments, private owners):
--create-orgs creates those in the data directory's store first, so the file
imports as it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Cameras < 1 {
				return argus.FieldErrorf("cameras", "--cameras must be at least 1")
			}
			if simURL != "" {
				base := strings.TrimSuffix(simURL, "/")
				opts.StreamURL = func(i int) string { return base + "/sim/" + strconv.Itoa(i+1) }
			}
			if createOrgs {
				if err := g.createOrgs(cmd, city.Orgs(opts)); err != nil {
					return err
				}
			}
			var w io.Writer = cmd.OutOrStdout()
			var file *os.File
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("create %s: %w", out, err)
				}
				file = f
				w = f
			}
			bw := bufio.NewWriterSize(w, 1<<20)
			err := city.Generate(bw, opts)
			if err == nil {
				err = bw.Flush()
			}
			if file != nil {
				if cerr := file.Close(); err == nil {
					err = cerr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Cameras, "cameras", 1000, "number of cameras")
	f.Int64Var(&opts.Seed, "seed", 1, "seed: the same seed gives the same city")
	f.Float64Var(&opts.AreaKm2, "area-km2", 0, "area of the city in km² (0: the default, about 1,000)")
	f.IntVar(&opts.PrivateOrgs, "private-orgs", 0, "number of private owners (0: one per few cameras)")
	f.StringVar(&out, "out", "-", "output file (- for standard output)")
	f.BoolVar(&createOrgs, "create-orgs", false, "create the city's organisations in the store (--data) first")
	f.StringVar(&simURL, "sim-url", "", "point camera i at the simulator: SIM-URL/sim/i (e.g. rtsp://127.0.0.1:8554)")
	return cmd
}

// createOrgs creates the organisations that do not exist yet, parents first.
func (g *globals) createOrgs(cmd *cobra.Command, orgs []argus.Org) error {
	ctx := cmd.Context()
	store, _, _, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	created := 0
	for i := range orgs {
		o := orgs[i]
		switch err := store.CreateOrg(ctx, &o); argus.ErrorCode(err) {
		case "":
			created++
		case argus.ECONFLICT:
		default:
			return fmt.Errorf("create organisation %s: %w", o.ID, err)
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "created %d organisations (%d existed)\n", created, len(orgs)-created)
	return nil
}

// clipNames lists the bundled clips for the --clip help.
func clipNames() string {
	var names []string
	for _, c := range clips.All() {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}
