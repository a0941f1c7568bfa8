package main

// Running wrk and reading its output.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
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
	before := machineCPU()
	out, err := cmd.CombinedOutput()
	after := machineCPU()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	r, err := parseWrk(string(out))
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var total float64
	for i := range after {
		total += after[i] - before[i]
	}
	if total > 0 && len(after) > 6 {
		r.Idle, r.SoftIRQ = (after[3]-before[3])/total, (after[6]-before[6])/total
	}
	return r, err
}

// machineCPU is the first line of /proc/stat: the clock ticks of all
// cores in user, nice, system, idle, iowait, irq, softirq, steal…; nil
// where /proc cannot be read.
func machineCPU() []float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "cpu" {
		return nil
	}
	out := make([]float64, len(f)-1)
	for i, x := range f[1:] {
		out[i], _ = strconv.ParseFloat(x, 64)
	}
	return out
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
