package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

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

// startBrowser starts headless Chromium and returns a context holding it;
// cancel stops it. hostRules are Chromium's --host-resolver-rules (tests
// map names to loopback with them). Site isolation is off so that the
// frames of other sites run in the page's own process: their requests,
// cookie writes and scripts reach the scan through the page's target.
func startBrowser(ctx context.Context, execPath, hostRules string) (context.Context, context.CancelFunc, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
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
	cancel := func() { cancelBrowser(); cancelAlloc() }
	// The first Run starts the browser and binds it to bctx: no timeout here.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int]("1")); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start %s: %w", execPath, err)
	}
	return bctx, cancel, nil
}
