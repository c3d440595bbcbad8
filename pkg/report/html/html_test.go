package html

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/internal/reporttest"
	"github.com/profdiff/profdiff/internal/strict"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report/sarif"
)

var update = flag.Bool("update", false, "copy the browser test's screenshot to docs/images/html-report.png")

func render(t *testing.T, r *diff.Result, opts Options) []byte {
	t.Helper()
	if opts.RepoRoot == "" {
		opts.RepoRoot, opts.ModulePath = reporttest.Repo, reporttest.Module
	}
	if opts.ToolVersion == "" {
		opts.ToolVersion = "v0.0.0-test"
	}
	var buf bytes.Buffer
	if err := Write(&buf, r, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteContent(t *testing.T) {
	out := string(render(t, reporttest.Result(), Options{}))
	for _, want := range []string{
		"<!DOCTYPE html>",
		`<span class="badge v-regression">regression</span>`,
		"bank-fraud-service",
		"bank.(*fraudRules).match",                  // findings table, short name
		"services/bank/fraud.go:142",                // repository-relative location
		"no data in the current run",                // inconclusive reason
		`ignore rule &#34;legacy-json&#34; expired`, // warning, escaped
		`id="flame-1"`,                              // fraud cpu graph
		`id="flame-3"`,                              // notification alloc graph
		`<script type="application/json" id="profdiff-data">`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Only regressed series get a graph by default; all with AllSeries.
	if strings.Contains(out, `id="flame-4"`) {
		t.Error("inconclusive series without stacks got a graph")
	}
	if n := strings.Count(out, `<div class="graph"`); n != 2 {
		t.Errorf("%d graphs, want 2 (the two regressed series with stacks)", n)
	}
}

// TestValuesLine: the page says what its values are, for each
// normalization.
func TestValuesLine(t *testing.T) {
	for norm, want := range map[string]string{
		"share": "share of each profile window",
		"rate":  "rate per second (fixed load)",
		"rest":  "ratio to the rest of each profile window",
		"mixed": "per series: rates, shares or ratios to the rest",
	} {
		r := reporttest.Result()
		r.Normalization = norm
		if out := string(render(t, r, Options{})); !strings.Contains(out, want) {
			t.Errorf("%s: page lacks %q", norm, want)
		}
	}
}

// TestSelfContained: the page must load nothing. Any src, href or CSS url()
// that is not a fragment or data: URL would be a network request (or a
// broken reference once the file is downloaded from CI).
func TestSelfContained(t *testing.T) {
	out := string(render(t, reporttest.Result(), Options{AllSeries: true}))
	refs := regexp.MustCompile(`(?i)(?:\b(?:src|href|action|poster|srcset)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?)([^"'\s)>]*)`)
	for _, m := range refs.FindAllStringSubmatch(out, -1) {
		if ref := m[1]; !strings.HasPrefix(ref, "#") && !strings.HasPrefix(ref, "data:") {
			t.Errorf("external reference %q in %q", ref, m[0])
		}
	}
	for _, bad := range []string{"http://", "https://", "//cdn", "<link", "<iframe", "fetch(", "XMLHttpRequest", "@font-face"} {
		if strings.Contains(out, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

// TestEmbeddedData checks the JSON the script reads: it parses, and the
// differential tree is right for the fixture's fraud CPU profile.
func TestEmbeddedData(t *testing.T) {
	out := render(t, reporttest.Result(), Options{})
	m := regexp.MustCompile(`(?s)<script type="application/json" id="profdiff-data">(.*?)</script>`).FindSubmatch(out)
	if m == nil {
		t.Fatal("no data block")
	}
	var data struct {
		Graphs []struct {
			ID    string   `json:"id"`
			Names []string `json:"names"`
			Files []string `json:"files"`
			Hot   []int32  `json:"hot"`
			Root  jsonNode `json:"root"`
			// Evidence is keyed by name index, as JSON writes an
			// integer key.
			Evidence map[string]string `json:"evidence"`
		} `json:"graphs"`
	}
	if err := json.Unmarshal(m[1], &data); err != nil {
		t.Fatalf("data block is not JSON: %v", err)
	}
	g := data.Graphs[0]
	if g.ID != "flame-1" {
		t.Fatalf("first graph %q", g.ID)
	}
	name := func(n *jsonNode) string { return g.Names[n.N] }
	var find func(n *jsonNode, fn string) *jsonNode
	find = func(n *jsonNode, fn string) *jsonNode {
		if n.N >= 0 && name(n) == fn {
			return n
		}
		for i := range n.K {
			if f := find(&n.K[i], fn); f != nil {
				return f
			}
		}
		return nil
	}
	root := &g.Root
	if root.B < 0.999 || root.C < 0.999 {
		t.Errorf("root shares %v / %v, want 1 each side", root.B, root.C)
	}
	match := find(root, reporttest.RegressedFunction)
	if match == nil {
		t.Fatal("regressed function not in the tree")
	}
	if !(match.C > match.B) {
		t.Errorf("match: current %v not above baseline %v", match.C, match.B)
	}
	hot := false
	for _, h := range g.Hot {
		hot = hot || g.Names[h] == reporttest.RegressedFunction
	}
	if !hot {
		t.Error("regressed function not marked hot")
	}
	// The tooltip's finding: the measure, change, interval and kind.
	if e := g.Evidence[strconv.Itoa(int(match.N))]; e != "self +52.7% [+41.0%, +65.0%], regression" {
		t.Errorf("evidence of match %q", e)
	}
	if f := g.Files[match.N]; f != "services/bank/fraud.go:1" {
		t.Errorf("file of match %q", f)
	}
	gone := find(root, "github.com/profdiff/profdiff/services/bank.legacyScore")
	if gone == nil || gone.C != 0 || gone.B == 0 || gone.W != gone.B {
		t.Errorf("baseline-only frame: %+v, want current 0 and width = baseline share", gone)
	}
	newFrame := find(root, "regexp.MustCompile")
	if newFrame == nil || newFrame.B != 0 || newFrame.C == 0 {
		t.Errorf("current-only frame: %+v", newFrame)
	}
	// Widths: every frame holds its children.
	var check func(n *jsonNode)
	check = func(n *jsonNode) {
		var sum float64
		for i := range n.K {
			sum += n.K[i].W
			check(&n.K[i])
		}
		if sum > n.W*1.0001+1e-9 {
			t.Errorf("frame %d: children %v wider than frame %v", n.N, sum, n.W)
		}
		if n.C > 0 && n.W < n.C*0.9999 {
			t.Errorf("frame %d: width %v below its current share %v", n.N, n.W, n.C)
		}
	}
	check(root)
}

type jsonNode struct {
	N  int32      `json:"n"`
	B  float64    `json:"b"`
	C  float64    `json:"c"`
	BS float64    `json:"bs"`
	CS float64    `json:"cs"`
	W  float64    `json:"w"`
	K  []jsonNode `json:"k"`
}

func TestPrune(t *testing.T) {
	big := reporttest.Series("s", "process_cpu:cpu:nanoseconds:cpu:nanoseconds", map[string]int64{
		"a;b": 9990, "a;tiny": 1, "a;b;tiny2": 9,
	}, nil)
	tree := diff.BuildCallTree(&diff.SeriesResult{Base: big, Cur: big}, 0.0005)
	_, _, root, frames, pruned := buildFlame(tree, sarif.Locator{}, 0.0005)
	if frames != 4 || pruned != 1 { // all, a, b, tiny2 (0.09%) kept; tiny (0.01%) pruned
		t.Errorf("frames %d pruned %d, want 4 and 1", frames, pruned)
	}
	// Drawn coarser than the tree keeps, the frames the tree left out
	// still count as pruned.
	if _, _, _, frames, pruned = buildFlame(tree, sarif.Locator{}, 0.001); frames != 3 || pruned != 2 {
		t.Errorf("at 0.1%%: frames %d pruned %d, want 3 and 2", frames, pruned)
	}
	if root.Children[0].Children[0].w > root.Children[0].w {
		t.Error("child wider than parent")
	}
}

func TestShortName(t *testing.T) {
	tests := map[string]string{
		"github.com/org/repo/pkg.(*T).M": "pkg.(*T).M",
		"main.main":                      "main.main",
		"net/http.(*conn).serve":         "http.(*conn).serve",
		"example.com/a.F[go.shape.struct{x example.com/b.T}]": "a.F[go.shape.struct{x example.com/b.T}]",
		"runtime.goexit": "runtime.goexit",
	}
	for in, want := range tests {
		if got := shortName(in); got != want {
			t.Errorf("shortName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscaping(t *testing.T) {
	r := reporttest.Result()
	r.Warnings = []string{`<script>alert(1)</script>`}
	r.Series[0].Findings[0].Function = `evil</script><script>alert(2)</script>`
	r.Series[0].Base.Functions[0].Name = `</script><img src=x onerror=alert(3)>`
	out := string(render(t, r, Options{}))
	for _, bad := range []string{"<script>alert(1)", "<script>alert(2)", "<img src=x"} {
		if strings.Contains(out, bad) {
			t.Errorf("unescaped %q in page", bad)
		}
	}
}

// chromiumPath finds a Chromium or Chrome binary: $PROFDIFF_CHROMIUM, then
// the names Debian, Ubuntu and GitHub's runners install it under. Without
// one the browser test skips, unless PROFDIFF_STRICT=1 (CI), where a skip
// would let a broken page through.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("PROFDIFF_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	strict.SkipOrFail(t, "no chromium found: install Debian's chromium (or set PROFDIFF_CHROMIUM) to run the browser check")
	return ""
}

// runChromium runs headless Chromium with a private profile directory, so
// that concurrent runs do not share state, and returns stdout and stderr.
func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--disable-extensions", "--no-first-run", "--mute-audio",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0",
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, tail(errb.String(), 3000))
	}
	return out.String(), errb.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// consoleProblems picks the console messages Chromium logged that are
// errors: uncaught exceptions, console.error, failed loads.
func consoleProblems(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, "CONSOLE") && !strings.Contains(line, "Uncaught") {
			continue
		}
		l := strings.ToLower(line)
		if strings.Contains(l, "error") || strings.Contains(l, "uncaught") || strings.Contains(l, "failed") {
			out = append(out, line)
		}
	}
	return out
}

// TestChromium opens the page in headless Chromium. The page's own script
// marks <html data-rendered="ok"> when every graph has drawn and counts any
// script error (uncaught exception, rejected promise, console.error) on
// <html data-errors> and in the #errors box, so the dumped DOM says whether
// it rendered and whether anything went wrong; Chromium's console log on
// stderr is checked as well. A screenshot is written to the test's artifact
// directory (kept with go test -artifacts).
func TestChromium(t *testing.T) {
	bin := chromiumPath(t)
	page := filepath.Join(t.ArtifactDir(), "report.html")
	if err := os.WriteFile(page, render(t, reporttest.Result(), Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(page)
	causesPage := filepath.Join(t.ArtifactDir(), "causes.html")
	if err := os.WriteFile(causesPage, render(t, scenario(t, reporttest.CPUAndAlloc), Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	causesURL := "file://" + filepath.ToSlash(causesPage)

	dom, stderr := runChromium(t, bin, "--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom", url)
	if !strings.Contains(dom, `data-rendered="ok"`) {
		t.Errorf("page did not finish rendering (no data-rendered=\"ok\" on <html>); DOM head:\n%s\nchromium:\n%s", tail(dom, 2000), tail(stderr, 2000))
	}
	if m := regexp.MustCompile(`data-errors="(\d+)"`).FindStringSubmatch(dom); m != nil {
		box := regexp.MustCompile(`(?s)<div id="errors".*?</div>`).FindString(dom)
		t.Errorf("page reported %s script error(s): %s", m[1], box)
	}
	if p := consoleProblems(stderr); len(p) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(p, "\n"))
	}
	// The regressed function's frame is drawn, outlined as a finding.
	frame := regexp.MustCompile(`<div class="fr[^"]*\bhot\b[^"]*"[^>]*data-fn="` + regexp.QuoteMeta(strings.ReplaceAll(reporttest.RegressedFunction, "*", "*")) + `"`)
	if !frame.MatchString(strings.ReplaceAll(dom, "&amp;", "&")) {
		t.Errorf("no hot frame for %s in the rendered DOM", reporttest.RegressedFunction)
	}
	if n := strings.Count(dom, `class="fr`); n < 20 {
		t.Errorf("only %d frames drawn", n)
	}
	// Frames only in the baseline are drawn too.
	if !strings.Contains(dom, `data-fn="github.com/profdiff/profdiff/services/bank.legacyScore"`) {
		t.Error("baseline-only frame legacyScore not drawn")
	}

	// Interaction: the page's self-test drives hover, zoom, reset and
	// search through DOM events and reports on <html data-selftest>; it
	// also measures every label against its frame (see labelFigures), at a
	// wide window and at a narrow one, where most frames are too narrow for
	// their whole name.
	for _, size := range []string{"1400,1000", "640,1000"} {
		dom, _ = runChromium(t, bin, "--virtual-time-budget=5000", "--window-size="+size, "--dump-dom", url+"#profdiff-selftest")
		if m := regexp.MustCompile(`data-selftest="([^"]*)"`).FindStringSubmatch(dom); m == nil || m[1] != "ok" {
			t.Errorf("interaction self-test at %s: %v", size, m)
		}
		if strings.Contains(dom, "data-errors=") {
			t.Errorf("script errors during the self-test: %s", regexp.MustCompile(`(?s)<div id="errors".*?</div>`).FindString(dom))
		}
		if short := labelFigures(t, "fixture page at "+size, dom); size == "640,1000" && short == 0 {
			t.Error("at 640 px no label is shortened: the narrow case was not exercised")
		}
	}

	// The causes page: the headline graph starts within the first screen,
	// clicking a cause zooms to it (the self-test), frames without a
	// credible change are grey ("quiet"), and only causes are outlined.
	dom, stderr = runChromium(t, bin, "--virtual-time-budget=5000", "--window-size=640,1000", "--dump-dom", causesURL+"#profdiff-selftest")
	if m := regexp.MustCompile(`data-selftest="([^"]*)"`).FindStringSubmatch(dom); m == nil || m[1] != "ok" {
		t.Errorf("causes page self-test at 640 px: %v\n%s", m, tail(stderr, 1000))
	}
	labelFigures(t, "causes page at 640,1000", dom)
	dom, stderr = runChromium(t, bin, "--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom", causesURL+"#profdiff-selftest")
	if m := regexp.MustCompile(`data-selftest="([^"]*)"`).FindStringSubmatch(dom); m == nil || m[1] != "ok" {
		t.Errorf("causes page self-test: %v\n%s", m, tail(stderr, 1000))
	}
	labelFigures(t, "causes page at 1400,1000", dom)
	if m := regexp.MustCompile(`data-graph-top="(\d+)"`).FindStringSubmatch(dom); m == nil {
		t.Error("the causes page did not report where its first graph starts")
	} else if y, _ := strconv.Atoi(m[1]); y > 700 {
		t.Errorf("the headline flame graph starts %d px down, want it on the first screen (≤ 700 px)", y)
	}
	dom = strings.ReplaceAll(dom, "&amp;", "&")
	if !regexp.MustCompile(`<div class="fr[^"]*\bquiet\b[^"]*"[^>]*data-fn="runtime.goexit"`).MatchString(dom) {
		t.Error("runtime.goexit (no credible change) is not drawn grey")
	}
	causeFns := map[string]bool{}
	for _, c := range scenario(t, reporttest.CPUAndAlloc).Causes {
		causeFns[c.Function] = true
	}
	hot := regexp.MustCompile(`<div class="fr[^"]*\bhot\b[^"]*"[^>]*data-fn="([^"]*)"`).FindAllStringSubmatch(dom, -1)
	if len(hot) == 0 {
		t.Error("no cause is outlined")
	}
	for _, m := range hot {
		if !causeFns[m[1]] {
			t.Errorf("frame %s is outlined but is no cause", m[1])
		}
	}

	// 1400x1000 holds the header, the causes and the headline cause's
	// flame graph: the picture the README shows.
	shot := filepath.Join(t.ArtifactDir(), "html-report.png")
	runChromium(t, bin, "--virtual-time-budget=5000", "--window-size=1400,1000", "--screenshot="+shot, causesURL)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 700 {
		t.Errorf("screenshot is %v", b)
	}
	// A blank page would be one colour; count distinct colours in a sample.
	colours := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot has %d colours: blank page?", len(colours))
	}
	t.Logf("ran headless %s; screenshot: %s", filepath.Base(bin), shot)
	if *update {
		dst := filepath.Join("..", "..", "..", "docs", "images", "html-report.png")
		data, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", dst)
	}
}

// labelFigures reads what the page's self-test measured of its flame
// graphs' labels (<html data-labels>, over every graph as first drawn and
// the first graph zoomed to a cause): how many frames and labels, how many
// labels are shorter than the short name, how many overflow their frame
// (text wider than the frame less padding and border, or scrollWidth over
// clientWidth) and how many were shortened although the short name fitted.
// Overflowing or needlessly shortened labels fail the test; the figures are
// logged, and the number of shortened labels returned.
func labelFigures(t *testing.T, what, dom string) int {
	t.Helper()
	m := regexp.MustCompile(`data-labels="frames=(\d+) labelled=(\d+) shortened=(\d+) overflow=(\d+) unneeded=(\d+) min-slack=([^"]*)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Errorf("%s: the self-test did not measure the labels", what)
		return 0
	}
	t.Logf("%s: %s frames, %s labelled, %s shortened, %s overflow, %s shortened needlessly, least room left %s", what, m[1], m[2], m[3], m[4], m[5], m[6])
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	if n(2) < 10 {
		t.Errorf("%s: only %d labels drawn", what, n(2))
	}
	if n(4) != 0 || n(5) != 0 {
		t.Errorf("%s: %d labels overflow their frames, %d are shortened needlessly", what, n(4), n(5))
	}
	return n(3)
}

// TestCausesPage: on a comparison of synthetic snapshots, the page opens
// with the causes and the headline cause's flame graph, before the summary;
// each cause row links its graph; the graph outlines only causes and colours
// only the functions with a credible change.
func TestCausesPage(t *testing.T) {
	r := scenario(t, reporttest.CPUAndAlloc)
	out := string(render(t, r, Options{}))
	causes := strings.Index(out, `<section class="causes">`)
	top := strings.Index(out, `<section class="series top"><div class="graph"`)
	summary := strings.Index(out, "<h2>Summary</h2>")
	if causes < 0 || top < causes || summary < top {
		t.Errorf("order: causes at %d, headline graph at %d, summary at %d; want causes, graph, summary", causes, top, summary)
	}
	if !strings.Contains(out, `data-graph="flame-`) || !strings.Contains(out, `data-fn="`+reporttest.MatchFraudRules+`"`) {
		t.Error("the cause rows do not link a graph and a function")
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="profdiff-data">(.*?)</script>`).FindStringSubmatch(out)
	var data struct {
		Graphs []struct {
			Names    []string `json:"names"`
			Hot      []int32  `json:"hot"`
			Credible []int32  `json:"credible"`
		} `json:"graphs"`
	}
	if err := json.Unmarshal([]byte(m[1]), &data); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, s := range r.Series {
		for _, f := range s.Findings {
			if f.Kind != diff.KindUnchanged {
				listed[f.Function] = true
			}
		}
	}
	causeFns := map[string]bool{}
	for _, c := range r.Causes {
		causeFns[c.Function] = true
	}
	for _, g := range data.Graphs {
		for _, i := range g.Hot {
			if !causeFns[g.Names[i]] {
				t.Errorf("%s is outlined but is no cause", g.Names[i])
			}
		}
		for _, i := range g.Credible {
			if !listed[g.Names[i]] {
				t.Errorf("%s is coloured without a credible change", g.Names[i])
			}
		}
		if len(g.Credible) == 0 || len(g.Credible) >= len(g.Names) {
			t.Errorf("%d of %d functions coloured", len(g.Credible), len(g.Names))
		}
	}
}

func scenario(t *testing.T, sc func() (*baseline.Snapshot, *baseline.Snapshot)) *diff.Result {
	t.Helper()
	b, c := sc()
	r, err := diff.Compare(b, c, diff.Options{Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWriteEdgeCases(t *testing.T) {
	// A pass without stacks: tables only, no graph, still a whole page.
	pass := &diff.Result{Verdict: diff.Pass, Normalization: "rate", Summary: diff.Summary{Series: 1},
		Series: []*diff.SeriesResult{{Service: "svc", ProfileType: "process_cpu:cpu:nanoseconds:cpu:nanoseconds", Verdict: diff.Pass, MinDetectable: 0.08}}}
	out := string(render(t, pass, Options{}))
	for _, want := range []string{"PASS: 0 failing causes, 0 ignored, 0 improvements in 1 series", "rate per second", "&#43;8.0%", `"graphs":[]`, "</html>"} {
		if !strings.Contains(out, want) {
			t.Errorf("pass page lacks %q", want)
		}
	}
	// A regressed series whose current side has no stacks (e.g. from a
	// JSON result, which does not carry them) still draws the baseline.
	r := reporttest.Result()
	r.Series[0].Cur = nil
	out = string(render(t, r, Options{}))
	if !strings.Contains(out, "One side has no stacks") {
		t.Error("no note for a one-sided graph")
	}
	var buf bytes.Buffer
	if err := Write(&buf, nil, Options{}); err == nil {
		t.Error("Write(nil) succeeded")
	}
}
