// Package web holds the review app's sources (Svelte + Vite, see
// package.json) and embeds its build output, web/dist, into the server
// binary. dist/ holds only a placeholder until `npm run build` has run, so
// `go build` works without Node; the server then explains how to build the
// UI instead of serving it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the built app: index.html, assets/, and files copied from public/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a literal directory of this package
	}
	return sub
}
