// Package assets holds the static files shipped inside the consentd
// binary: the demo site served by `make run` and the controllers'
// dashboard served at /admin.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed demo admin
var files embed.FS

// Demo returns the demo site's files (index.html, demo.css, demo.js).
func Demo() fs.FS {
	sub, err := fs.Sub(files, "demo")
	if err != nil {
		panic(err) // "demo" is embedded above; this cannot fail
	}
	return sub
}

// Admin returns the dashboard's files (index.html, admin.js, admin.css).
func Admin() fs.FS {
	sub, err := fs.Sub(files, "admin")
	if err != nil {
		panic(err) // "admin" is embedded above; this cannot fail
	}
	return sub
}
