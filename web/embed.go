// Package web holds argus's browser UI, embedded in the binary so that go
// build alone yields a working node. For now it is the minimal live viewer
// (viewer/): sign in, list cameras, play one live over WHEP with LL-HLS as
// the fallback. Third-party browser code is vendored from pinned npm
// packages by build.sh.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed viewer
var files embed.FS

// Handler serves the UI: the viewer page at / and its assets. It answers
// only GET and HEAD; every path it does not hold is 404.
func Handler() http.Handler {
	sub, err := fs.Sub(files, "viewer")
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
		w.Header().Set("Content-Security-Policy", "default-src 'self'; media-src 'self' blob:; connect-src 'self'; img-src 'self' data:; worker-src 'self' blob:")
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
