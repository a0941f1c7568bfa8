package main

// Running wrk and reading its output.

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/procfs"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests   int64
	Seconds    float64
	RPS        float64
	P50, P99   time.Duration
	Non2xx     int64
	SockErrors int64
	CPU        time.Duration // wrk's own CPU time (user + system)
	// Idle and SoftIRQ are the shares of the machine's CPU time (all
	// cores, /proc/stat) left idle and spent in softirq (the loopback
	// network stack) during the run.
	Idle, SoftIRQ float64
}

// perRequestWrk is wrk's CPU time per request.
func (r wrkResult) perRequestWrk() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return (r.CPU / time.Duration(r.Requests)).Round(100 * time.Nanosecond)
}

func wrk(o options, d time.Duration, url, script string) (wrkResult, error) {
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.connections), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	args = append(args, url)
	cmd := exec.Command("wrk", args...)
	before, okBefore := machineCPU()
	out, err := cmd.CombinedOutput()
	after, okAfter := machineCPU()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	r, err := parseWrk(string(out))
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if okBefore && okAfter {
		r.Idle, r.SoftIRQ = cpuShares(before, after)
	}
	return r, err
}

// machineCPU is the CPU time of all cores together (the "cpu" line of
// /proc/stat), in seconds per state; false where /proc cannot be read.
func machineCPU() (procfs.CPUStat, bool) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return procfs.CPUStat{}, false
	}
	st, err := fs.Stat()
	if err != nil {
		return procfs.CPUStat{}, false
	}
	return st.CPUTotal, true
}

// cpuShares is the share of the machine's CPU time between two
// machineCPU readings left idle and spent in softirq. Guest time is not
// added: the kernel counts it in user and nice already.
func cpuShares(before, after procfs.CPUStat) (idle, softIRQ float64) {
	total := func(c procfs.CPUStat) float64 {
		return c.User + c.Nice + c.System + c.Idle + c.Iowait + c.IRQ + c.SoftIRQ + c.Steal
	}
	d := total(after) - total(before)
	if d <= 0 {
		return 0, 0
	}
	return (after.Idle - before.Idle) / d, (after.SoftIRQ - before.SoftIRQ) / d
}

var (
	reTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(s|m)`)
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reP50     = regexp.MustCompile(`\s50%\s+([\d.]+)(us|ms|s)`)
	reP99     = regexp.MustCompile(`\s99%\s+([\d.]+)(us|ms|s)`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's text report (with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reTotal.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("cannot read wrk output:\n%s", out)
	}
	r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.Seconds, _ = strconv.ParseFloat(m[2], 64)
	if m[3] == "m" {
		r.Seconds *= 60
	}
	if m := reRPS.FindStringSubmatch(out); m != nil {
		r.RPS, _ = strconv.ParseFloat(m[1], 64)
	}
	r.P50 = latency(reP50.FindStringSubmatch(out))
	r.P99 = latency(reP99.FindStringSubmatch(out))
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.SockErrors += n
		}
	}
	return r, nil
}

func latency(m []string) time.Duration {
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
	return time.Duration(v * float64(unit)).Round(time.Microsecond)
}
