package noticeimport

import (
	"context"
	"html"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentd/consentd/server/servertest"
)

// TestImportRenders serves the draft of every fixture, as written, from
// a real consentd and reads each one's page /n/<id>: it must be there,
// in the notice's language, with the facts of its controller.
func TestImportRenders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and consentd")
	}
	fxs := fixtures(t)
	drafts := map[string]*Result{}
	for _, fx := range fxs {
		drafts[fx.name] = importFixture(t, fx)
	}
	env := servertest.Start(t, servertest.Options{Sites: func(string) map[string]string {
		files := map[string]string{}
		for _, r := range drafts {
			files[r.Site.ID+".yaml"] = string(r.YAML)
		}
		return files
	}})
	for name, r := range drafts {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Get(env.URL + "/n/" + r.Site.ID)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /n/%s: %d %s", r.Site.ID, resp.StatusCode, body)
			}
			page := string(body)
			if !strings.Contains(page, `lang="`+r.Lang+`"`) {
				t.Errorf("page is not in %s", r.Lang)
			}
			n := r.Site.Notice
			for _, c := range n.Controllers {
				for _, want := range []string{c.Name, c.Email, c.BusinessID} {
					if want != "" && !strings.Contains(page, html.EscapeString(want)) {
						t.Errorf("page lacks the controller's %q", want)
					}
				}
			}
			for _, s := range n.Sections {
				if !strings.Contains(page, html.EscapeString(s.Title[r.Lang])) {
					t.Errorf("page lacks the extra section %q", s.Title[r.Lang])
				}
			}
		})
	}
}

// TestImportPDF prints a fixture web page to PDF with Chromium and
// imports it through pdftotext. PDF text has no list marks or heading
// levels, so fewer facts land in their fields than from the page itself;
// the test reports how many, and checks that the draft loads and that
// the contact details are read.
func TestImportPDF(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed (apt-get install poppler-utils)")
	}
	src, err := filepath.Abs("testdata/verkkokauppa.html")
	if err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(t.TempDir(), "verkkokauppa.pdf")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+t.TempDir(), "--print-to-pdf="+pdf, "file://"+src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	data, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(context.Background(), pdf, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatPDF {
		t.Errorf("format %s, want pdf", res.Format)
	}
	doc := noticeJSON(t, res)
	facts := readFacts(t, "testdata/verkkokauppa.facts")
	placed := 0
	for _, f := range facts {
		if ok, _ := f.check(doc); ok {
			placed++
		} else if strings.HasPrefix(f.path, "controllers[0]") {
			t.Errorf("%s: not placed from the PDF", f.path)
		}
	}
	t.Logf("verkkokauppa as PDF: %d/%d facts placed", placed, len(facts))
}

// TestImportNoPdftotext checks the message when pdftotext is missing.
func TestImportNoPdftotext(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Import(context.Background(), "x.pdf", []byte("%PDF-1.4\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "poppler-utils") {
		t.Fatalf("err = %v, want one naming poppler-utils", err)
	}
}
