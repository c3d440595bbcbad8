package boards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Selectors used across dashboards. `$service` is single-valued on the
// overview (Pyroscope needs one service) and multi-valued elsewhere, where a
// regex match takes the "All" value `bank-.+` as well as a list.
const (
	oneService  = `job="$service"`
	someService = `job=~"$service"`
	allServices = `job=~"bank-.+"`
)

// pyroscopeOverview: where the playbooks start reading code. Flame graphs of
// the three profile types that the runbook's playbooks use (CPU, allocations,
// lock contention), plus the runtime numbers that tell which one to open.
func pyroscopeOverview() *dashboard.DashboardBuilder {
	sel := `{service_name="$service"}`
	return newDashboard(UIDPyroscopeOverview, "Pyroscope Overview",
		"Flame graphs per service (CPU, allocations, lock contention) next to the Go runtime numbers that say which to read. Pick the service at the top; the time range applies to the flame graphs too.").
		WithVariable(serviceVariable(false)).
		WithRow(row("Runtime at a glance")).
		WithPanel(timeSeries("CPU (cores)",
			"CPU seconds per second the process used; 1 = one full core.",
			"short",
			prom(`rate(process_cpu_seconds_total{`+oneService+`}[$__rate_interval])`, "cpu"),
			prom(`go_sched_gomaxprocs_threads{`+oneService+`}`, "GOMAXPROCS")).Span(6)).
		WithPanel(timeSeries("Heap in use",
			"Bytes in heap spans in use, and the GOMEMLIMIT the runtime works towards (absent when no limit is set).",
			"bytes",
			prom(`go_memstats_heap_inuse_bytes{`+oneService+`}`, "heap in use"),
			prom(`go_gc_gomemlimit_bytes{`+oneService+`} < 2^62`, "GOMEMLIMIT")).Span(6)).
		WithPanel(timeSeries("GC pause per second",
			"Stop-the-world GC pause time per second of wall time. HighGcPauseRate fires above 50ms/s.",
			"s",
			prom(`rate(go_gc_duration_seconds_sum{`+oneService+`}[$__rate_interval])`, "pause/s")).Span(6)).
		WithPanel(timeSeries("Goroutines",
			"Live goroutines; a steady climb under steady load points at a leak, a jump at blocking.",
			"short",
			prom(`go_goroutines{`+oneService+`}`, "goroutines")).Span(6)).
		WithRow(row("CPU")).
		WithPanel(flameGraph("CPU flame graph",
			"Where the service spends CPU. Wide frames are the hot functions; compare with a baseline using `profdiff compare` (docs/runbook.md).",
			ProfileCPU, sel)).
		WithRow(row("Memory")).
		WithPanel(flameGraph("Allocation flame graph (bytes)",
			"Bytes allocated per function over the range: the source of GC work.",
			ProfileAllocSpace, sel)).
		WithPanel(flameGraph("In-use heap flame graph",
			"Bytes still live at the last GC, by allocating function: the source of heap growth.",
			ProfileInuseSpace, sel)).
		WithRow(row("Lock contention")).
		WithPanel(flameGraph("Mutex contention flame graph (delay)",
			"Time goroutines waited for a sync.Mutex or RWMutex, charged to the code that released it.",
			ProfileMutexDelay, sel)).
		WithPanel(flameGraph("Blocking flame graph (delay)",
			"Time goroutines spent blocked on channels, selects and sync primitives.",
			ProfileBlockDelay, sel))
}

// goRuntime: CPU, memory, GC and scheduler numbers for one or more services.
func goRuntime() *dashboard.DashboardBuilder {
	return newDashboard(UIDGoRuntime, "Go Runtime Deep Dive",
		"Go runtime metrics of the bank services (client_golang Go and process collectors): CPU, heap against GOMEMLIMIT, GC pauses and frequency, goroutines, threads and file descriptors.").
		WithVariable(serviceVariable(true)).
		WithRow(row("CPU")).
		WithPanel(timeSeries("CPU (cores)",
			"CPU seconds per second; 1 = one full core.",
			"short",
			prom(`rate(process_cpu_seconds_total{`+someService+`}[$__rate_interval])`, "{{job}}"))).
		WithPanel(timeSeries("CPU share of GOMAXPROCS",
			"CPU divided by the number of Ps the scheduler may run. HighCpuUsage fires above 80% for 1m.",
			"percentunit",
			prom(`rate(process_cpu_seconds_total{`+someService+`}[$__rate_interval])
  / on (job, instance) go_sched_gomaxprocs_threads{`+someService+`}`, "{{job}}")).Min(0).Max(1)).
		WithRow(row("Memory")).
		WithPanel(timeSeries("Heap in use",
			"Bytes in in-use heap spans.",
			"bytes",
			prom(`go_memstats_heap_inuse_bytes{`+someService+`}`, "{{job}}"))).
		WithPanel(timeSeries("Heap in use / GOMEMLIMIT",
			"Share of the Go soft memory limit taken by the heap; services without a limit are not shown. HighHeapUsage fires above 85% for 2m.",
			"percentunit",
			prom(`go_memstats_heap_inuse_bytes{`+someService+`}
  / on (job, instance) (go_gc_gomemlimit_bytes{`+someService+`} < 2^62)`, "{{job}}")).Min(0).Max(1)).
		WithPanel(timeSeries("Allocation rate",
			"Bytes allocated on the heap per second: what drives GC frequency.",
			"Bps",
			prom(`rate(go_memstats_alloc_bytes_total{`+someService+`}[$__rate_interval])`, "{{job}}"))).
		WithPanel(timeSeries("Resident memory",
			"Resident set size of the process, as the kernel counts it.",
			"bytes",
			prom(`process_resident_memory_bytes{`+someService+`}`, "{{job}}"))).
		WithRow(row("Garbage collection")).
		WithPanel(timeSeries("GC pause per second",
			"Stop-the-world pause time per second. HighGcPauseRate fires above 50ms/s for 1m.",
			"s",
			prom(`rate(go_gc_duration_seconds_sum{`+someService+`}[$__rate_interval])`, "{{job}}"))).
		WithPanel(timeSeries("GC cycles per second",
			"Completed GC cycles per second.",
			"short",
			prom(`rate(go_gc_duration_seconds_count{`+someService+`}[$__rate_interval])`, "{{job}}"))).
		WithPanel(timeSeries("Longest GC pause",
			"Largest pause in the collector's recent window (quantile 1 of go_gc_duration_seconds).",
			"s",
			prom(`go_gc_duration_seconds{`+someService+`, quantile="1"}`, "{{job}}"))).
		WithPanel(timeSeries("GOGC",
			"The GC target percentage in force (GOGC).",
			"percent",
			prom(`go_gc_gogc_percent{`+someService+`}`, "{{job}}"))).
		WithRow(row("Goroutines, threads, descriptors")).
		WithPanel(timeSeries("Goroutines",
			"Live goroutines.",
			"short",
			prom(`go_goroutines{`+someService+`}`, "{{job}}")).Span(8)).
		WithPanel(timeSeries("OS threads",
			"OS threads the runtime created.",
			"short",
			prom(`go_threads{`+someService+`}`, "{{job}}")).Span(8)).
		WithPanel(timeSeries("Open file descriptors",
			"Open descriptors as a share of the limit.",
			"percentunit",
			prom(`process_open_fds{`+someService+`} / on (job, instance) process_max_fds{`+someService+`}`, "{{job}}")).Span(8))
}

// httpPerformance: rate, latency and errors by route.
func httpPerformance() *dashboard.DashboardBuilder {
	route := dashboard.NewQueryVariableBuilder("route").
		Label("Route").
		Datasource(promDS()).
		Query(dashboard.StringOrMap{String: ptr(`label_values(http_server_requests_total{job=~"$service"}, route)`)}).
		Definition(`label_values(http_server_requests_total{job=~"$service"}, route)`).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).IncludeAll(true).AllValue(".*").
		Current(dashboard.VariableOption{
			Selected: ptr(true),
			Text:     dashboard.StringOrArrayOfString{String: ptr("All")},
			Value:    dashboard.StringOrArrayOfString{String: ptr("$__all")},
		})
	sel := someService + `, route=~"$route"`
	return newDashboard(UIDHTTPPerformance, "HTTP Performance",
		"Request rate, latency percentiles and errors by service and route, from http_server_requests_total and the http_server_request_duration_seconds histogram.").
		WithVariable(serviceVariable(true)).
		WithVariable(route).
		WithRow(row("Traffic")).
		WithPanel(timeSeries("Request rate by route",
			"Requests per second, all status codes.",
			"reqps",
			prom(`sum by (job, route) (rate(http_server_requests_total{`+sel+`}[$__rate_interval]))`, "{{job}} {{route}}"))).
		WithPanel(timeSeries("Responses by status code",
			"Requests per second by status code.",
			"reqps",
			prom(`sum by (job, code) (rate(http_server_requests_total{`+sel+`}[$__rate_interval]))`, "{{job}} {{code}}"))).
		WithRow(row("Latency")).
		WithPanel(timeSeries("p99 latency by route",
			"99th percentile request duration. HighLatency fires when a service's p99 is above 2s for 2m.",
			"s",
			prom(`histogram_quantile(0.99, sum by (job, route, le) (rate(http_server_request_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "{{job}} {{route}}"))).
		WithPanel(timeSeries("Latency percentiles (all routes)",
			"p50, p95 and p99 of request duration per service.",
			"s",
			prom(`histogram_quantile(0.50, sum by (job, le) (rate(http_server_request_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "{{job}} p50"),
			prom(`histogram_quantile(0.95, sum by (job, le) (rate(http_server_request_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "{{job}} p95"),
			prom(`histogram_quantile(0.99, sum by (job, le) (rate(http_server_request_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "{{job}} p99"))).
		WithPanel(timeSeries("Mean latency by route",
			"Sum of durations over count of requests.",
			"s",
			prom(`sum by (job, route) (rate(http_server_request_duration_seconds_sum{`+sel+`}[$__rate_interval]))
  / sum by (job, route) (rate(http_server_request_duration_seconds_count{`+sel+`}[$__rate_interval]))`, "{{job}} {{route}}")).Span(24)).
		WithRow(row("Errors")).
		WithPanel(timeSeries("5xx share by route",
			"Share of requests answered 5xx. HighErrorRate fires when a service is above 5% for 1m.",
			"percentunit",
			prom(`sum by (job, route) (rate(http_server_requests_total{`+sel+`, code=~"5.."}[$__rate_interval]))
  / sum by (job, route) (rate(http_server_requests_total{`+sel+`}[$__rate_interval]))`, "{{job}} {{route}}"))).
		WithPanel(timeSeries("4xx rate by route",
			"Client errors per second: bad input is answered 4xx by design, so a rise means callers changed.",
			"reqps",
			prom(`sum by (job, route) (rate(http_server_requests_total{`+sel+`, code=~"4.."}[$__rate_interval]))`, "{{job}} {{route}}")))
}

// serviceComparison: the seven services side by side, to find which one an
// alert is about and whether others suffer with it.
func serviceComparison() *dashboard.DashboardBuilder {
	return newDashboard(UIDServiceComparison, "Service Comparison",
		"The seven bank services side by side: up/down, CPU, heap, GC, traffic, latency and errors, and one CPU flame graph per service.").
		WithVariable(serviceVariable(true)).
		WithRow(row("Health")).
		WithPanel(statPanel("Up",
			"1 when Prometheus's last scrape of the service succeeded. ServiceDown fires after 30s at 0.",
			"none",
			prom(`up{`+someService+`}`, "{{job}}"))).
		WithRow(row("Resources")).
		WithPanel(timeSeries("CPU share of GOMAXPROCS",
			"Process CPU over the cores the Go scheduler may use.",
			"percentunit",
			prom(`rate(process_cpu_seconds_total{`+someService+`}[$__rate_interval])
  / on (job, instance) go_sched_gomaxprocs_threads{`+someService+`}`, "{{job}}")).Span(8)).
		WithPanel(timeSeries("Heap in use",
			"Bytes in in-use heap spans.",
			"bytes",
			prom(`go_memstats_heap_inuse_bytes{`+someService+`}`, "{{job}}")).Span(8)).
		WithPanel(timeSeries("GC pause per second",
			"Stop-the-world pause time per second.",
			"s",
			prom(`rate(go_gc_duration_seconds_sum{`+someService+`}[$__rate_interval])`, "{{job}}")).Span(8)).
		WithRow(row("Traffic")).
		WithPanel(timeSeries("Request rate",
			"Requests per second per service.",
			"reqps",
			prom(`sum by (job) (rate(http_server_requests_total{`+someService+`}[$__rate_interval]))`, "{{job}}")).Span(8)).
		WithPanel(timeSeries("p99 latency",
			"99th percentile request duration per service.",
			"s",
			prom(`histogram_quantile(0.99, sum by (job, le) (rate(http_server_request_duration_seconds_bucket{`+someService+`}[$__rate_interval])))`, "{{job}}")).Span(8)).
		WithPanel(timeSeries("5xx share",
			"Share of requests answered 5xx per service.",
			"percentunit",
			prom(`sum by (job) (rate(http_server_requests_total{`+someService+`, code=~"5.."}[$__rate_interval]))
  / sum by (job) (rate(http_server_requests_total{`+someService+`}[$__rate_interval]))`, "{{job}}")).Span(8)).
		WithRow(row("Goroutines")).
		WithPanel(timeSeries("Goroutines",
			"Live goroutines per service.",
			"short",
			prom(`go_goroutines{`+allServices+`}`, "{{job}}")).Span(24)).
		WithRow(row("CPU flame graphs")).
		WithPanel(flameGraph("CPU flame graph: $service",
			"One CPU flame graph per selected service (the panel repeats for each).",
			ProfileCPU, `{service_name="$service"}`).
			Repeat("service").
			RepeatDirection(dashboard.PanelRepeatDirectionH).
			MaxPerRow(2).
			Span(12))
}

func ptr[T any](v T) *T { return &v }
