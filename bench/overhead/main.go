// Command overhead measures what continuous profiling costs the bank
// services, in throughput and in CPU per request, with a confidence interval
// that holds on a shared machine.
//
// Each service runs twice, as two processes of one bank binary: one with
// profiling off and one profiled as the harness profiles it (all event kinds,
// 100 Hz CPU, allocations sampled every 64 KiB, uploads every 5 s to a local
// sink). Load goes to one process and then the other in blocks, in pairs
// whose order alternates (off on, on off, …), so drift of the machine's speed
// cancels within a pair instead of landing on one side. Each block is a
// closed loop (a fixed number of clients, each sending its next request when
// the last is answered): its throughput is the service's capacity, and its
// CPU per request is the service process's own user+system time (from
// /proc/PID/stat) over the requests it answered — the client's CPU is not in
// it. A pair gives one log ratio on/off for each figure; the change is the
// mean of those ratios with a Student t interval over pairs. The gateway's
// six downstream services run once, unprofiled, shared by both gateways, so
// its figures are the gateway process's own cost.
//
// Run it from the repository root (it builds ./services/cmd/bank unless
// --bank names a binary):
//
//	go run ./bench/overhead                      # every service, 10 pairs of 5 s blocks
//	go run ./bench/overhead --services fraud,loan --pairs 20
//	go run ./bench/overhead --aa                 # both processes unprofiled: intervals should hold 0
//
// --aa is the check of the method itself: with profiling off on both sides
// the stated 95% intervals should contain 0 for about 19 services in 20.
// Exit status: 0 when every block ran without errors, 1 when a block had
// failed requests or the profiled process uploaded nothing, 2 for bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/profdiff/profdiff/internal/childproc"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/services/loadgen"
)

// options are the command's flags.
type options struct {
	bankBin        string
	services       []bank.ServiceInfo
	pairs          int
	block, warmup  time.Duration
	concurrency    int
	uploadInterval time.Duration
	allocRate      int
	events         string
	aa             bool
	jsonOut        string
	fromJSON       string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "overhead:", err)
		return 2
	}
	if opts.fromJSON != "" {
		m, err := readJSON(opts.fromJSON)
		if err != nil {
			fmt.Fprintln(stderr, "overhead:", err)
			return 2
		}
		writeTable(stdout, m, opts.services)
		return 0
	}
	m, err := measure(ctx, opts, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "overhead:", err)
		return 1
	}
	if opts.jsonOut != "" {
		if err := writeJSON(opts.jsonOut, m); err != nil {
			fmt.Fprintln(stderr, "overhead:", err)
			return 1
		}
	}
	writeTable(stdout, m, opts.services)
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("overhead", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	services := fs.String("services", "all", "services to measure, comma-separated short names (gateway,order,…) or all")
	fs.StringVar(&o.bankBin, "bank", "", "bank service binary (default: go build ./services/cmd/bank)")
	fs.IntVar(&o.pairs, "pairs", 10, "pairs of blocks per service (at least 3, for an interval)")
	fs.DurationVar(&o.block, "block", 5*time.Second, "length of one block of load (at least the upload interval, so each profiled block holds an upload)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "untimed load on each process before the first block")
	fs.IntVar(&o.concurrency, "concurrency", 8, "closed-loop clients")
	fs.DurationVar(&o.uploadInterval, "upload-interval", 5*time.Second, "profile upload interval of the profiled process (the harness's)")
	fs.IntVar(&o.allocRate, "alloc-rate", 64<<10, "allocation sampling rate in bytes of the profiled process (the harness's)")
	fs.StringVar(&o.events, "events", "", "PYROSCOPE_PROFILER_EVENT of the profiled process (default: every kind)")
	fs.BoolVar(&o.aa, "aa", false, "A/A: both processes unprofiled, to check the method")
	fs.StringVar(&o.jsonOut, "json", "", "also write every block's figures to this file")
	fs.StringVar(&o.fromJSON, "from-json", "", "print the table of a measurement written by --json, without running anything")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if *services == "all" {
		o.services = bank.Services
	} else {
		for _, n := range strings.Split(*services, ",") {
			s, err := bank.LookupService(n)
			if err != nil {
				return o, fmt.Errorf("--services: %w", err)
			}
			o.services = append(o.services, s)
		}
	}
	switch {
	case o.pairs < 3:
		return o, fmt.Errorf("--pairs %d: want at least 3 (an interval needs pairs to vary)", o.pairs)
	case o.block < time.Second:
		return o, fmt.Errorf("--block %s: want at least 1s", o.block)
	case o.concurrency < 1:
		return o, fmt.Errorf("--concurrency %d: want at least 1", o.concurrency)
	case o.uploadInterval < 100*time.Millisecond:
		return o, fmt.Errorf("--upload-interval %s: want at least 100ms", o.uploadInterval)
	case o.allocRate < 1:
		return o, fmt.Errorf("--alloc-rate %d: want a positive number of bytes", o.allocRate)
	}
	if _, err := bank.ParseEvents(o.events); err != nil {
		return o, fmt.Errorf("--events: %w", err)
	}
	return o, nil
}

// block is one block of load on one process.
type block struct {
	Service   string  `json:"service"`
	Pair      int     `json:"pair"`
	Profiled  bool    `json:"profiled"`
	Seconds   float64 `json:"seconds"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	CPUSecond float64 `json:"cpu_seconds"`
	Uploads   int     `json:"uploads"`
}

func (b block) rate() float64      { return float64(b.Requests) / b.Seconds }
func (b block) cpuPerReq() float64 { return b.CPUSecond / float64(b.Requests) }
func (b block) String() string {
	return fmt.Sprintf("%s pair %d profiled=%v", b.Service, b.Pair, b.Profiled)
}

// measurement is a whole run's blocks and where it ran.
type measurement struct {
	Started     time.Time     `json:"started"`
	Machine     string        `json:"machine"`
	AA          bool          `json:"aa"`
	Concurrency int           `json:"concurrency"`
	Pairs       int           `json:"pairs"`
	Block       time.Duration `json:"block_ns"`
	Blocks      []block       `json:"blocks"`
}

// sink stands in for Pyroscope: it takes uploads, counts them per
// application and throws them away, so the profiled side pays the SDK's
// whole cost (collect, encode, send) and nothing of a server's.
type sink struct {
	mu      sync.Mutex
	uploads map[string]int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.uploads[r.URL.Query().Get("name")]++
	s.mu.Unlock()
}

// count is the uploads so far from the application whose name starts with
// app (the SDK appends the profile type, e.g. ".cpu", and labels).
func (s *sink) count(app string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for name, c := range s.uploads {
		if name == app || strings.HasPrefix(name, app+".") || strings.HasPrefix(name, app+"{") {
			n += c
		}
	}
	return n
}

func measure(ctx context.Context, o options, progress io.Writer) (measurement, error) {
	m := measurement{Started: time.Now().UTC(), Machine: machine(), AA: o.aa, Concurrency: o.concurrency, Pairs: o.pairs, Block: o.block}
	bin := o.bankBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "overhead-")
		if err != nil {
			return m, err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "bank")
		fmt.Fprintln(progress, "building ./services/cmd/bank")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./services/cmd/bank")
		cmd.Stderr = progress
		if err := cmd.Run(); err != nil {
			return m, fmt.Errorf("go build ./services/cmd/bank (run from the repository root, or give --bank): %w", err)
		}
	}
	up := &sink{uploads: map[string]int{}}
	ingest := httptest.NewServer(up)
	defer ingest.Close()

	st := &starter{bin: bin}
	defer st.stopAll()
	var downstreams []string
	for _, s := range o.services {
		if s.Name == bank.ServiceGateway {
			var err error
			if downstreams, err = st.downstreams(ctx); err != nil {
				return m, err
			}
		}
	}
	for _, s := range o.services {
		fmt.Fprintf(progress, "%s: %d pairs of %s blocks\n", s.Short, o.pairs, o.block)
		blocks, err := measureService(ctx, o, st, s, downstreams, ingest.URL, up)
		m.Blocks = append(m.Blocks, blocks...)
		if err != nil {
			return m, fmt.Errorf("%s: %w", s.Short, err)
		}
	}
	return m, nil
}

func measureService(ctx context.Context, o options, st *starter, s bank.ServiceInfo, downstreams []string, ingestURL string, up *sink) ([]block, error) {
	env := downstreams
	app := "overhead-" + s.Short
	profiledEnv := append(slices.Clip(env),
		"PYROSCOPE_SERVER_ADDRESS="+ingestURL,
		"PYROSCOPE_APPLICATION_NAME="+app,
		"PYROSCOPE_UPLOAD_INTERVAL="+o.uploadInterval.String(),
		"PYROSCOPE_PROFILER_ALLOC="+strconv.Itoa(o.allocRate),
		"PYROSCOPE_CPU_RATE=100",
	)
	if o.events != "" {
		profiledEnv = append(profiledEnv, "PYROSCOPE_PROFILER_EVENT="+o.events)
	}
	if o.aa {
		profiledEnv = env
	}
	urls, procs, err := st.start(ctx, []string{s.Name, s.Name}, [][]string{env, profiledEnv})
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, p := range procs {
			p.Stop(5 * time.Second)
		}
	}()
	side := func(profiled bool) int {
		if profiled {
			return 1
		}
		return 0
	}
	load := func(profiled bool, d time.Duration) (*loadgen.Result, float64, error) {
		i := side(profiled)
		cpu0, err := processCPU(procs[i].Pid())
		if err != nil {
			return nil, 0, err
		}
		res, err := loadgen.Run(ctx, loadgen.Config{
			Targets:     map[string]string{s.Name: urls[i]},
			ClosedLoop:  true,
			Concurrency: o.concurrency,
			Duration:    d,
		})
		if err != nil {
			return nil, 0, err
		}
		cpu1, err := processCPU(procs[i].Pid())
		if err != nil {
			return nil, 0, err
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return res, (cpu1 - cpu0).Seconds(), nil
	}
	for _, profiled := range []bool{false, true} {
		if _, _, err := load(profiled, o.warmup); err != nil {
			return nil, err
		}
	}
	var blocks []block
	for pair := range o.pairs {
		order := []bool{false, true}
		if pair%2 == 1 {
			order = []bool{true, false}
		}
		for _, profiled := range order {
			before := up.count(app)
			res, cpu, err := load(profiled, o.block)
			if err != nil {
				return blocks, err
			}
			b := block{Service: s.Short, Pair: pair, Profiled: profiled, Seconds: res.Elapsed.Seconds(),
				Requests: res.Requests, Errors: res.Errors, CPUSecond: cpu, Uploads: up.count(app) - before}
			blocks = append(blocks, b)
			if b.Errors > 0 || b.Requests == 0 {
				return blocks, fmt.Errorf("%s: %d of %d requests failed", b, b.Errors, b.Requests)
			}
		}
	}
	if !o.aa && up.count(app) == 0 {
		return blocks, fmt.Errorf("the profiled process uploaded nothing to the sink in %d blocks", o.pairs)
	}
	return blocks, nil
}

// starter starts bank processes on ports of their own.
type starter struct {
	bin   string
	procs []*childproc.Process
}

// start starts one process per service name, with that process's extra
// environment, and returns their base URLs once each answers GET /health as
// the service it should be.
func (st *starter) start(ctx context.Context, services []string, envs [][]string) ([]string, []*childproc.Process, error) {
	ports, err := freePorts(len(services))
	if err != nil {
		return nil, nil, err
	}
	urls := make([]string, len(services))
	procs := make([]*childproc.Process, len(services))
	for i, name := range services {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i]))
		out := &childproc.Buffer{Max: 64 << 10}
		p, err := childproc.Start(name, out, envs[i], st.bin, "--service", name, "--addr", addr)
		if err != nil {
			return nil, nil, err
		}
		st.procs = append(st.procs, p)
		procs[i], urls[i] = p, "http://"+addr
		if err := waitHealthy(ctx, p, out, name, urls[i]); err != nil {
			return nil, nil, err
		}
	}
	return urls, procs, nil
}

// downstreams starts the gateway's six downstream services, unprofiled, and
// returns the gateway's environment naming them.
func (st *starter) downstreams(ctx context.Context) ([]string, error) {
	names := []string{bank.ServiceOrder, bank.ServicePayment, bank.ServiceFraud, bank.ServiceAccount, bank.ServiceLoan, bank.ServiceNotification}
	vars := []string{"BANK_ORDER_URL", "BANK_PAYMENT_URL", "BANK_FRAUD_URL", "BANK_ACCOUNT_URL", "BANK_LOAN_URL", "BANK_NOTIFICATION_URL"}
	urls, _, err := st.start(ctx, names, make([][]string, len(names)))
	if err != nil {
		return nil, err
	}
	env := make([]string, len(names))
	for i := range names {
		env[i] = vars[i] + "=" + urls[i]
	}
	return env, nil
}

func (st *starter) stopAll() {
	for _, p := range st.procs {
		p.Stop(5 * time.Second)
	}
}

// freePorts holds n listeners at once, so the kernel cannot hand one port
// out twice, and returns their ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitHealthy waits up to 15 s for url to answer GET /health as service,
// and fails at once if the process exits.
func waitHealthy(ctx context.Context, p *childproc.Process, out *childproc.Buffer, service, url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		if done, err := p.Exited(); done {
			return fmt.Errorf("%s exited while starting (%v): %s", service, err, lastLine(out.String()))
		}
		got, err := loadgen.Identify(ctx, nil, []string{url})
		if err == nil {
			if _, ok := got[service]; ok {
				return nil
			}
			return fmt.Errorf("%s: another service answers at %s", service, url)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %s/health in 15s: %v", service, url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// processCPU is the user+system CPU time of process pid and its ended
// threads, from /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s,
// Linux's USER_HZ on every architecture Go supports).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %d: %w (this measurement needs Linux's /proc)", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime+stime from a /proc/PID/stat line. The command
// name (field 2) is in parentheses and may hold spaces or parentheses, so
// fields are counted from the last ')'.
func parseStatCPU(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat line %.40q: no command name", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat line %.40q: %d fields after the command name, want at least 13", line, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc stat line: CPU ticks %q are not a count", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}

// change is a paired estimate: the mean over pairs of log(profiled/off),
// back-transformed, with a two-sided 95% Student t interval.
type change struct {
	Pairs         int
	Est, Lo, Hi   float64 // relative change: 0.02 is +2%
	OffMed, OnMed float64 // medians of the figure on each side
	// LogMean and SE are the mean log ratio and its standard error, for
	// the mean over services.
	LogMean, SE float64
}

// meanChange is the unweighted mean over services of their mean log
// ratios: the cost of profiling for a service picked at random from the
// stack. Its standard error comes from the services' own (they were
// measured in separate blocks), with Welch–Satterthwaite degrees of
// freedom for the t interval.
func meanChange(cs []change) change {
	k := float64(len(cs))
	var mean, v, dfDen float64
	for _, c := range cs {
		mean += c.LogMean / k
		v += c.SE * c.SE / (k * k)
		dfDen += math.Pow(c.SE/k, 4) / float64(c.Pairs-1)
	}
	out := change{LogMean: mean, SE: math.Sqrt(v), Est: math.Expm1(mean)}
	for _, c := range cs {
		out.Pairs += c.Pairs
	}
	if v == 0 || dfDen == 0 {
		out.Lo, out.Hi = out.Est, out.Est
		return out
	}
	half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: v * v / dfDen}.Quantile(0.975) * out.SE
	out.Lo, out.Hi = math.Expm1(mean-half), math.Expm1(mean+half)
	return out
}

// pairedChange pairs the blocks of one service by pair index and compares
// figure(profiled) with figure(off).
func pairedChange(blocks []block, figure func(block) float64) (change, error) {
	off, on := map[int]float64{}, map[int]float64{}
	for _, b := range blocks {
		if b.Profiled {
			on[b.Pair] = figure(b)
		} else {
			off[b.Pair] = figure(b)
		}
	}
	var logs, offs, ons []float64
	for p, a := range off {
		b, ok := on[p]
		if !ok {
			continue
		}
		if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
			return change{}, fmt.Errorf("pair %d: figures %v and %v are not positive and finite", p, a, b)
		}
		logs = append(logs, math.Log(b/a))
		offs, ons = append(offs, a), append(ons, b)
	}
	n := len(logs)
	if n < 2 {
		return change{}, fmt.Errorf("%d complete pairs, want at least 2", n)
	}
	mean, sd := stat.MeanStdDev(logs, nil)
	se := sd / math.Sqrt(float64(n))
	half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975) * se
	slices.Sort(offs)
	slices.Sort(ons)
	return change{Pairs: n, Est: math.Expm1(mean), Lo: math.Expm1(mean - half), Hi: math.Expm1(mean + half), LogMean: mean, SE: se,
		OffMed: stat.Quantile(0.5, stat.Empirical, offs, nil), OnMed: stat.Quantile(0.5, stat.Empirical, ons, nil)}, nil
}

func writeTable(w io.Writer, m measurement, services []bank.ServiceInfo) {
	on := "on"
	if m.AA {
		on = "off (A/A)"
	}
	fmt.Fprintf(w, "\n%s, %s; closed loop, %d clients, %d pairs of %s blocks a service; profiling %s vs off\n",
		m.Started.Format("2006-01-02 15:04 UTC"), m.Machine, m.Concurrency, m.Pairs, m.Block, on)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "service\tpairs\treq/s off\treq/s on\tthroughput on vs off [95% CI]\tCPU µs/req off\tCPU µs/req on\tCPU per request on vs off [95% CI]\tuploads\t")
	pct := func(c change) string { return fmt.Sprintf("%+.1f%% [%+.1f%%, %+.1f%%]", 100*c.Est, 100*c.Lo, 100*c.Hi) }
	var tps, cpus []change
	for _, s := range services {
		var bs []block
		uploads := 0
		for _, b := range m.Blocks {
			if b.Service == s.Short {
				bs = append(bs, b)
				uploads += b.Uploads
			}
		}
		if len(bs) == 0 {
			continue // not measured
		}
		tp, err1 := pairedChange(bs, block.rate)
		cpu, err2 := pairedChange(bs, block.cpuPerReq)
		if err := errors.Join(err1, err2); err != nil {
			fmt.Fprintf(tw, "%s\t%v\t\n", s.Short, err)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%s\t%.0f\t%.0f\t%s\t%d\t\n", s.Short, tp.Pairs, tp.OffMed, tp.OnMed, pct(tp),
			1e6*cpu.OffMed, 1e6*cpu.OnMed, pct(cpu), uploads)
		tps, cpus = append(tps, tp), append(cpus, cpu)
	}
	if len(tps) > 1 {
		fmt.Fprintf(tw, "mean of %d services\t%d\t\t\t%s\t\t\t%s\t\t\n", len(tps), meanChange(tps).Pairs, pct(meanChange(tps)), pct(meanChange(cpus)))
	}
	tw.Flush()
}

func readJSON(path string) (measurement, error) {
	var m measurement
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: not a measurement written by --json: %w", path, err)
	}
	if len(m.Blocks) == 0 {
		return m, fmt.Errorf("%s: no blocks", path)
	}
	return m, nil
}

func writeJSON(path string, m measurement) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// machine describes this machine in one line: CPU model, cores, memory,
// kernel, Go version.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s", model, runtime.NumCPU(), mem, kernel, runtime.Version())
}
