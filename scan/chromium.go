package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium: no Chromium to drive. The message says how to get one.
var ErrNoChromium = errors.New("chromium not found: install it (Debian and Ubuntu: apt-get install chromium) or give its path with --chromium")

// chromiumNames are the commands tried, in order, on $PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// FindChromium returns the browser to run: path when given (it must be
// an executable file), else the first of chromium, chromium-browser,
// google-chrome… on $PATH. The error wraps ErrNoChromium.
func FindChromium(path string) (string, error) {
	if path != "" {
		st, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoChromium, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%w: %s is not an executable file", ErrNoChromium, path)
		}
		return path, nil
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// profilePreferences is the Preferences file of the scan's profile:
// third-party cookies allowed (profile.cookie_controls_mode 0, the
// setting "Allow third-party cookies"). Without it, headless Chromium 156
// blocks them in its default profile (mode 1) as in every browser
// context made from it, and refuses each one with the reason
// UserPreferences; with it, the browser contexts of the passes store them
// like a visitor's browser that allows them.
const profilePreferences = `{"profile": {"cookie_controls_mode": 0}}` + "\n"

// startBrowser starts headless Chromium and returns a context holding it;
// cancel stops it and removes its profile. The profile is a new
// temporary user-data-dir whose preferences allow third-party cookies
// (profilePreferences). hostRules are Chromium's --host-resolver-rules
// (tests map names to loopback with them). Site isolation is off so that
// the frames of other sites run in the page's own process: their
// requests, cookie writes and scripts reach the scan through the page's
// target.
func startBrowser(ctx context.Context, execPath, hostRules string) (context.Context, context.CancelFunc, error) {
	dir, err := newProfile()
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "site-per-process,IsolateOrigins,Translate,MediaRouter,OptimizationHints"),
		chromedp.WindowSize(1280, 800),
	)
	if hostRules != "" {
		opts = append(opts, chromedp.Flag("host-resolver-rules", hostRules))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	// cancelAlloc waits for the browser to exit before the profile goes.
	cancel := func() { cancelBrowser(); cancelAlloc(); removeProfile(dir) }
	// The first Run starts the browser and binds it to bctx: no timeout here.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int]("1")); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start %s: %w", execPath, err)
	}
	return bctx, cancel, nil
}

// newProfile makes a temporary user-data-dir holding Default/Preferences.
func newProfile() (string, error) {
	dir, err := os.MkdirTemp("", "consentd-scan-")
	if err != nil {
		return "", fmt.Errorf("browser profile: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "Default"), 0o700); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("browser profile: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(profilePreferences), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("browser profile: %w", err)
	}
	return dir, nil
}

// removeProfile removes the profile of a browser that has exited. A
// helper process (the crash handler) may still write in it for a moment,
// so it tries again for up to two seconds; a directory that stays is
// left in the temporary directory.
func removeProfile(dir string) {
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if os.RemoveAll(dir) == nil || time.Now().After(deadline) {
			return
		}
	}
}
