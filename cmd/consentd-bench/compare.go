package main

import (
	"fmt"
	"runtime"
	"time"
)

// runCompare measures chained+signed ingest of two consentd binaries in
// turns, A B A B …, o.rounds runs each, against one Redis (so both meet
// the same growing data set and the same AOF rewrites), and prints every
// run and the means: what a change to consentd buys, measured in one
// sitting. Every run must store every record it acknowledged.
func runCompare(o options) error {
	if o.rounds < 1 {
		return fmt.Errorf("-rounds %d: need at least 1", o.rounds)
	}
	r, err := newRig(o)
	if err != nil {
		return err
	}
	defer r.close()
	bins := [2]string{o.consentd, o.compare}
	fmt.Printf("compare: A = %s, B = %s; %d CPUs, %s; wrk -t%d -c%d -d%s (warm-up %s) per run, %d runs each, chained+signed\n\n",
		bins[0], bins[1], runtime.NumCPU(), runtime.Version(), o.threads, o.connections, o.duration, o.warmup, o.rounds)
	fmt.Printf("%-4s %12s %10s %10s %22s %7s\n", "run", "records/s", "p50", "p99", "CPU/req consentd+Redis", "AOF rw")
	var runs [2][]ingestRun
	for i := 0; i < o.rounds; i++ {
		for b, bin := range bins {
			srv, err := startServer(o, bin, r)
			if err != nil {
				return err
			}
			res, err := measureIngest(o, srv, r.rdb)
			srv.stop()
			if err == nil {
				err = res.check(o)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", bin, err)
			}
			runs[b] = append(runs[b], res)
			fmt.Printf("%-4s %12.0f %10s %10s %22s %7d\n", string(rune('A'+b)), res.ackRate, res.P50, res.P99,
				res.cpu[0].String()+"+"+res.cpu[1].String(), res.rewrites)
		}
	}
	var mean [2]ingestRun
	var cpu [2][2]time.Duration
	for b := range runs {
		mean[b] = average(runs[b])
		for _, x := range runs[b] {
			for k := range cpu[b] {
				cpu[b][k] += x.cpu[k] / time.Duration(len(runs[b]))
			}
		}
	}
	wins := 0
	for i := range runs[0] {
		if runs[1][i].ackRate > runs[0][i].ackRate {
			wins++
		}
	}
	fmt.Println()
	for b := range mean {
		fmt.Printf("%s mean: %.0f records/s, p50 %s, CPU per request consentd %s + Redis %s\n", string(rune('A'+b)),
			mean[b].ackRate, mean[b].P50.Round(10*time.Microsecond), cpu[b][0].Round(100*time.Nanosecond), cpu[b][1].Round(100*time.Nanosecond))
	}
	fmt.Printf("B/A: %.3f records/s; B faster in %d of %d pairs\n", mean[1].ackRate/mean[0].ackRate, wins, o.rounds)
	return nil
}
