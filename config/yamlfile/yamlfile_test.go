package yamlfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadAppend: a file is read whole after what dst holds, up to
// MaxSize bytes; a larger or missing file is an error naming it.
func TestReadAppend(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("a", size)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name string
		size int
		dst  string
		err  string
	}{
		{"empty", 0, "", ""},
		{"small after dst", 10, "kept", ""},
		{"a page and more", 5000, "", ""},
		{"at the limit", MaxSize, "", ""},
		{"over the limit", MaxSize + 1, "", "file is larger than 1048576 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "-")+".yaml", tt.size)
			got, err := ReadAppend([]byte(tt.dst), p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), p+": "+tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.dst+strings.Repeat("a", tt.size) {
				t.Fatalf("%d bytes, %v; want %q and %d bytes", len(got), err, tt.dst, tt.size)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "absent.yaml")); err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}
