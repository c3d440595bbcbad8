package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/testenv"
	"github.com/profdiff/profdiff/testenv/calibration"
)

func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("calibrate", "measure verdict quality: false alarms on A/A runs and detection of injected regressions, against one baseline",
		"go run ./testenv/cmd/bankstack calibrate --aa 20 --runs 10 --magnitudes 1.5,1.25,1.1,1.05 --json cal.json.gz --keep cal-runs --max-time 90m", stdout)
	sf := addStackFlags(fs)
	lf := addLoadFlags(fs)
	aa := fs.Int("aa", 10, "A/A runs (same build as the baseline)")
	runs := fs.Int("runs", 5, "runs per magnitude, each injecting every chosen hot spot at once")
	mags := fs.String("magnitudes", "1.5,1.25,1.1,1.05", "injection factors, comma-separated (1.5 = +50% work in the hot spot); FACTOR:N runs that one N times instead of --runs")
	hots := fs.StringSlice("hotspots", calibration.DefaultHotspots, "hot spots to inject (injection names, one per service)")
	baseRuns := fs.Int("baseline-runs", testenv.DefaultBaselineRuns, "runs the baseline is recorded over, as the harness records one (each for --duration)")
	gateRuns := fs.Int("gate-runs", testenv.DefaultGateRuns, "fresh stacks each A/A or A/B trial is measured over, merged into one current side, as bankstack gate --runs")
	gateDur := fs.Duration("gate-duration", 0, "measured load of each of a trial's runs, as bankstack gate --duration (default --duration, the baseline's runs')")
	jsonOut := fs.String("json", "", "write the full calibration (every run, series and trial, and the summary) as JSON to this file")
	maxTime := fs.Duration("max-time", 45*time.Minute, "bound on the whole calibration; it stops early and reports what was done")
	verbose := fs.Bool("verbose", false, "show the stacks' own progress on stderr")
	fromJSON := fs.String("from-json", "", "print the tables of a calibration written by --json, without running anything")
	thresholds := fs.String("thresholds", "", "also evaluate the whole gate with these thresholds per profile group, e.g. cpu=10%,alloc=10%,lock=50% (from the runs' credible increases; nothing is rerun)")
	baseDir := fs.String("baseline", "", "gate every run against this existing baseline directory instead of recording one")
	keep := fs.String("keep", "", "keep the baseline and every run's snapshot under this directory, for --replay")
	replay := fs.String("replay", "", "with --from-json: re-gate the runs kept under this directory (--keep) with the current code's gate, without starting anything")
	storedFrom := fs.Int("stored-from", 0, "with --replay of a duet calibration: gate every later trial's candidate against the base sides of its first N A/A trials merged, as a stored baseline recorded at the start, so both gates are judged on the same runs")
	curRuns := fs.Int("current-runs", 1, "with --replay: merge this many consecutive kept runs of one condition into each gated current side, as gate --runs does; of a duet calibration, this many consecutive trials of one condition, bases and candidates pair for pair, judged as one duet of that many times the pairs")
	duetPairs := fs.Int("duet-pairs", 0, "make every trial a duet of this many pairs (base and candidate the same build, the injection on the candidate only) instead of a run against a stored baseline; --gate-duration is then each block's load (default 30s)")
	duetMode := fs.String("duet-mode", string(testenv.DefaultDuetMode), "with --duet-pairs: interleaved, simultaneous or reuse")
	config := fs.String("config", "", "gate the runs with this rules file (YAML, as profdiff compare --config) instead of the harness's own (testenv.HarnessRules); with --replay, to try other rules on kept runs")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	var rulesText string
	if *config != "" {
		b, err := os.ReadFile(*config)
		if err != nil {
			return fail(stderr, "calibrate", fmt.Errorf("--config: %w", err))
		}
		if _, err := testenv.GateOptionsWithRules(string(b), *config); err != nil {
			return fail(stderr, "calibrate", fmt.Errorf("--config: %w", err))
		}
		rulesText = string(b)
	}
	th, err := calibration.ParseThresholds(*thresholds)
	if err != nil {
		return fail(stderr, "calibrate", fmt.Errorf("--thresholds: %w", err))
	}
	if *gateRuns < 1 {
		return fail(stderr, "calibrate", fmt.Errorf("--gate-runs=%d: want at least 1", *gateRuns))
	}
	if *gateDur < 0 {
		return fail(stderr, "calibrate", fmt.Errorf("--gate-duration=%s: want a positive duration, or 0 for --duration", *gateDur))
	}
	if *curRuns < 1 || (*curRuns > 1 && *replay == "") {
		return fail(stderr, "calibrate", fmt.Errorf("--current-runs=%d: want a positive count, and more than 1 only with --replay", *curRuns))
	}
	if *storedFrom < 0 || (*storedFrom > 0 && (*replay == "" || *curRuns > 1)) {
		return fail(stderr, "calibrate", fmt.Errorf("--stored-from=%d: want a positive count of A/A trials, only with --replay of a duet calibration and --current-runs 1", *storedFrom))
	}
	if *fromJSON != "" {
		b, err := readMaybeGzip(*fromJSON)
		if err != nil {
			return fail(stderr, "calibrate", err)
		}
		var c calibration.Result
		if err := json.Unmarshal(b, &c); err != nil {
			return fail(stderr, "calibrate", fmt.Errorf("%s: %w", *fromJSON, err))
		}
		c.Summary = c.Summarize()
		if *replay != "" {
			var rc *calibration.Result
			if *storedFrom > 0 {
				rc, err = calibration.ReplayStored(&c, *replay, rulesText, *storedFrom)
			} else {
				rc, err = calibration.Replay(&c, *replay, rulesText, *curRuns)
			}
			if err != nil {
				return fail(stderr, "calibrate", err)
			}
			c = *rc
			if *storedFrom > 0 {
				fmt.Fprintf(stdout, "Replayed %d kept duet candidates from %s against a stored baseline of the first %d A/A trials' bases, with the current gate%s.\n\n", len(c.Runs), *replay, *storedFrom, rulesNote(*config))
			} else if *curRuns > 1 {
				fmt.Fprintf(stdout, "Replayed the runs kept in %s with the current gate%s, %d runs merged into each current side: %d gated runs.\n\n", *replay, rulesNote(*config), *curRuns, len(c.Runs))
			} else {
				fmt.Fprintf(stdout, "Replayed %d kept runs from %s with the current gate%s.\n\n", len(c.Runs), *replay, rulesNote(*config))
			}
			if *jsonOut != "" {
				if err := writeCalibrationJSON(*jsonOut, &c); err != nil {
					return fail(stderr, "calibrate", err)
				}
			}
		}
		c.WriteTable(stdout)
		c.WriteSweep(stdout, th)
		return 0
	}
	if sf.inject != "" {
		return fail(stderr, "calibrate", fmt.Errorf("--inject is set per run by calibrate; use --hotspots and --magnitudes"))
	}
	var magnitudes []float64
	var magRuns []int
	for _, m := range strings.Split(*mags, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		m, n, hasN := strings.Cut(m, ":")
		f, err := strconv.ParseFloat(m, 64)
		if err != nil {
			return fail(stderr, "calibrate", fmt.Errorf("--magnitudes: %q is not a number", m))
		}
		k := 0
		if hasN {
			if k, err = strconv.Atoi(n); err != nil || k < 1 {
				return fail(stderr, "calibrate", fmt.Errorf("--magnitudes: %s:%s: the run count must be a positive integer", m, n))
			}
		}
		magnitudes = append(magnitudes, f)
		magRuns = append(magRuns, k)
	}
	o := calibration.Options{
		AA: *aa, Runs: *runs, Magnitudes: magnitudes, MagnitudeRuns: magRuns, Hotspots: *hots, BaselineRuns: *baseRuns, Baseline: *baseDir, KeepDir: *keep,
		Stack: sf.options(nil), Load: lf.options(), MaxTime: *maxTime, Progress: stdout, Rules: rulesText,
		GateRuns: *gateRuns, GateDuration: *gateDur, DuetPairs: *duetPairs, DuetMode: testenv.DuetMode(*duetMode),
	}
	if *duetPairs < 0 {
		return fail(stderr, "calibrate", fmt.Errorf("--duet-pairs=%d: want a positive count of pairs, or 0 for runs against a stored baseline", *duetPairs))
	}
	if *duetPairs > 0 && (*baseDir != "" || fs.Changed("baseline-runs")) {
		return fail(stderr, "calibrate", fmt.Errorf("--duet-pairs: a duet calibration records no baseline; drop --baseline and --baseline-runs"))
	}
	if *duetPairs > 0 {
		duetStack(fs, &o.Stack)
	}
	if *verbose {
		o.StackProgress = stderr
	}
	if *jsonOut != "" {
		// Fail now rather than after the calibration's hour.
		f, err := os.CreateTemp(filepath.Dir(*jsonOut), ".calibrate-*")
		if err != nil {
			return fail(stderr, "calibrate", fmt.Errorf("--json: %w", err))
		}
		f.Close()
		os.Remove(f.Name())
	}
	c, err := calibration.Calibrate(ctx, o)
	if err != nil {
		return fail(stderr, "calibrate", err)
	}
	fmt.Fprintln(stdout)
	c.WriteTable(stdout)
	c.WriteSweep(stdout, th)
	if *jsonOut != "" {
		if err := writeCalibrationJSON(*jsonOut, c); err != nil {
			return fail(stderr, "calibrate", err)
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", *jsonOut)
	}
	return 0
}

// rulesNote names the rules file a replay used, if not the harness's.
func rulesNote(config string) string {
	if config == "" {
		return ""
	}
	return " and the rules in " + config
}

// writeCalibrationJSON writes c as JSON, atomically: indented, or
// compact and gzip-compressed when path ends in ".gz" (a full calibration
// is a few megabytes of JSON, a few hundred kilobytes compressed).
func writeCalibrationJSON(path string, c *calibration.Result) error {
	if !strings.HasSuffix(path, ".gz") {
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		return report.WriteFileAtomic(path, append(b, '\n'))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(c); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return report.WriteFileAtomic(path, buf.Bytes())
}

// readMaybeGzip reads a file, decompressing it when it is gzip-compressed.
func readMaybeGzip(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
