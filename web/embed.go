// Package web holds argus's operator UI, embedded in the binary so that go
// build alone yields a working node. The TypeScript sources are in src/;
// build.sh compiles them with vite into dist/, which is committed (CI
// rebuilds it and fails on a difference). Third-party browser code (hls.js,
// maplibre-gl) is bundled from the pinned npm packages; nothing is loaded
// from anywhere but the node at run time.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed dist
var files embed.FS

// csp is the Content-Security-Policy of every UI response. Scripts, styles
// and connections are the node's own. The exceptions: media and hls.js's
// transmux worker use blob: URLs (Media Source Extensions), maplibre-gl's
// controls draw data: images and its raster tiles may arrive as blob:
// images. maplibre-gl's own worker is a same-origin file (assets/), so it
// needs no blob: worker.
const csp = "default-src 'self'; media-src 'self' blob:; connect-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:"

// Handler serves the UI: the app at / and its assets. It answers only GET
// and HEAD; every path it does not hold is 404.
func Handler() http.Handler {
	sub, err := fs.Sub(files, "dist")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
