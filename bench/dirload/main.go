// Command dirload measures the camera directory's query latency through the
// HTTP API of a running argus node: bbox, radius, text and grid queries at
// random places in the city, reporting p50/p90/p99 per kind.
//
//	go run ./bench/dirload -url http://127.0.0.1:8080 -user admin -password … -n 2000
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8080", "argus base URL")
		user     = flag.String("user", "admin", "username")
		password = flag.String("password", os.Getenv("ARGUS_ADMIN_PASSWORD"), "password")
		n        = flag.Int("n", 1000, "queries per kind")
		lat      = flag.Float64("lat", 40.70, "city centre latitude")
		lon      = flag.Float64("lon", -73.95, "city centre longitude")
		spanKm   = flag.Float64("span-km", 30, "side of the square the queries are spread over")
		words    = flag.String("words", "Pizza,Station,Park,Residence,Pharmacy,Knickerbocker,Wyckoff,Oak Ave,145th St,corner,garage,Dry Cleaners", "comma-separated text queries (≥3 chars)")
	)
	flag.Parse()
	token, err := login(*base, *user, *password)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dirload:", err)
		os.Exit(1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	degLat := 1 / 111.32
	degLon := 1 / (111.32 * math.Cos(*lat*math.Pi/180))
	randPoint := func() (float64, float64) {
		return *lat + (rng.Float64()-0.5)**spanKm*degLat, *lon + (rng.Float64()-0.5)**spanKm*degLon
	}
	textList := splitComma(*words)
	kinds := []struct {
		name string
		url  func() string
	}{
		{"bbox_1km2", func() string {
			y, x := randPoint()
			return fmt.Sprintf("/api/v1/cameras?bbox=%f,%f,%f,%f&limit=100", x, y, x+degLon, y+degLat)
		}},
		{"radius_500m", func() string {
			y, x := randPoint()
			return fmt.Sprintf("/api/v1/cameras?near=%f,%f,500&limit=100", y, x)
		}},
		{"text", func() string {
			return "/api/v1/cameras?limit=100&q=" + url.QueryEscape(textList[rng.IntN(len(textList))])
		}},
		{"grid_street_z15", func() string {
			y, x := randPoint()
			return fmt.Sprintf("/api/v1/cameras/grid?zoom=15&bbox=%f,%f,%f,%f", x, y, x+3*degLon, y+2*degLat)
		}},
		{"grid_city_z11", func() string {
			h := *spanKm * 0.6
			return fmt.Sprintf("/api/v1/cameras/grid?zoom=11&bbox=%f,%f,%f,%f", *lon-h*degLon, *lat-h*degLat, *lon+h*degLon, *lat+h*degLat)
		}},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	fmt.Printf("%-16s %8s %8s %8s %8s %8s %10s\n", "query", "n", "p50_ms", "p90_ms", "p99_ms", "max_ms", "items_avg")
	for _, k := range kinds {
		count := *n
		if k.name == "grid_city_z11" {
			count = max(20, *n/20)
		}
		lat := make([]float64, 0, count)
		items := 0
		for range count {
			req, _ := http.NewRequest(http.MethodGet, *base+k.url(), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				fmt.Fprintln(os.Stderr, "dirload:", err)
				os.Exit(1)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			lat = append(lat, float64(time.Since(start).Microseconds())/1000)
			if resp.StatusCode != http.StatusOK {
				fmt.Fprintf(os.Stderr, "dirload: %s: %d %s\n", k.name, resp.StatusCode, body)
				os.Exit(1)
			}
			var page struct {
				Items []json.RawMessage `json:"items"`
				Cells []json.RawMessage `json:"cells"`
			}
			_ = json.Unmarshal(body, &page)
			items += len(page.Items) + len(page.Cells)
		}
		slices.Sort(lat)
		q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		fmt.Printf("%-16s %8d %8.2f %8.2f %8.2f %8.2f %10.1f\n", k.name, count, q(0.5), q(0.9), q(0.99), lat[len(lat)-1], float64(items)/float64(count))
	}
}

func login(base, user, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("login: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	return out.Token, nil
}

func splitComma(s string) []string {
	return slices.DeleteFunc(strings.Split(s, ","), func(w string) bool { return w == "" })
}
