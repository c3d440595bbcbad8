// Package boards defines the bank stack's four Grafana dashboards as code,
// with the Grafana Foundation SDK.
//
// The JSON that Grafana provisions (config/grafana/provisioning/dashboards/)
// is generated from this package by `go run ./config/dashboards`; a test in
// config/configtest fails when the committed JSON and the code disagree.
//
// Conventions every dashboard follows, so that operators can move between
// them: the Prometheus `job` label is the service name and equals the
// `service_name` label the services push to Pyroscope; the `$service`
// variable holds it; data sources are referred to by uid only.
package boards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/grafanapyroscope"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Data source uids and types, as provisioned in
// config/grafana/provisioning/datasources/datasources.yml.
const (
	PrometheusUID  = "prometheus-ds"
	PrometheusType = "prometheus"
	PyroscopeUID   = "pyroscope-ds"
	PyroscopeType  = "grafana-pyroscope-datasource"
)

// Dashboard uids. Alert annotations and the runbook link to these.
const (
	UIDPyroscopeOverview = "pyroscope-overview"
	UIDGoRuntime         = "go-runtime-deep-dive"
	UIDHTTPPerformance   = "http-performance"
	UIDServiceComparison = "service-comparison"
)

// Pyroscope profile type IDs the bank services produce (docs/cli.md, "Profile types").
const (
	ProfileCPU         = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
	ProfileAllocSpace  = "memory:alloc_space:bytes:space:bytes"
	ProfileAllocObject = "memory:alloc_objects:count:space:bytes"
	ProfileInuseSpace  = "memory:inuse_space:bytes:space:bytes"
	ProfileMutexDelay  = "mutex:delay:nanoseconds:contentions:count"
	ProfileBlockDelay  = "block:delay:nanoseconds:contentions:count"
	ProfileGoroutines  = "goroutine:goroutine:count:goroutine:count"
)

// Services lists the seven bank services, in port order (8080–8086).
var Services = []string{
	"bank-api-gateway",
	"bank-order-service",
	"bank-payment-service",
	"bank-fraud-service",
	"bank-account-service",
	"bank-loan-service",
	"bank-notification-service",
}

// Board is one generated dashboard and the file it is provisioned from.
type Board struct {
	UID       string
	File      string // base name under config/grafana/provisioning/dashboards/
	Dashboard dashboard.Dashboard
}

// JSON renders the dashboard as Grafana provisions it: indented, with a
// trailing newline, stable from run to run, and PromQL's < and > left
// readable rather than escaped.
func (b Board) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b.Dashboard); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.UID, err)
	}
	return buf.Bytes(), nil
}

// All builds the four dashboards.
func All() ([]Board, error) {
	builders := []struct {
		uid   string
		build func() *dashboard.DashboardBuilder
	}{
		{UIDPyroscopeOverview, pyroscopeOverview},
		{UIDGoRuntime, goRuntime},
		{UIDHTTPPerformance, httpPerformance},
		{UIDServiceComparison, serviceComparison},
	}
	var boards []Board
	for _, b := range builders {
		d, err := b.build().Build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", b.uid, err)
		}
		numberPanels(&d)
		boards = append(boards, Board{UID: b.uid, File: b.uid + ".json", Dashboard: d})
	}
	return boards, nil
}

// numberPanels gives every panel and row a distinct id, in layout order, so
// that links to a panel (viewPanel=N) stay the same across regenerations.
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			id++
			p.Panel.Id = cog.ToPtr(id)
		case p.RowPanel != nil:
			id++
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = cog.ToPtr(id)
			}
		}
	}
}

func promDS() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(PrometheusType), Uid: cog.ToPtr(PrometheusUID)}
}

func pyroDS() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(PyroscopeType), Uid: cog.ToPtr(PyroscopeUID)}
}

// newDashboard sets what all four dashboards share: tags, time range,
// refresh, links to the other three, and the runbook's words in the
// description.
func newDashboard(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"profdiff", "bank"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("30s").
		Time("now-30m", "now").
		Timezone(common.TimeZoneBrowser).
		Link(dashboard.NewDashboardLinkBuilder("Bank dashboards").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"bank"}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true))
}

// serviceVariable is the `$service` variable: the bank jobs Prometheus knows.
// multi lets a dashboard compare several services; Pyroscope label selectors
// need a single value, so the overview uses a single-select variable.
func serviceVariable(multi bool) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder("service").
		Label("Service").
		Datasource(promDS()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(`label_values(up{job=~"bank-.+"}, job)`)}).
		Definition(`label_values(up{job=~"bank-.+"}, job)`).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		v = v.Multi(true).IncludeAll(true).AllValue("bank-.+").
			Current(dashboard.VariableOption{
				Selected: cog.ToPtr(true),
				Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
				Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")},
			})
	} else {
		v = v.Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr(Services[0])},
			Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(Services[0])},
		})
	}
	return v
}

// prom is one PromQL query, with the legend Grafana shows for each series.
func prom(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(promDS()).
		Expr(strings.TrimSpace(expr)).
		LegendFormat(legend).
		Range()
}

// timeSeries is a time series panel reading Prometheus.
func timeSeries(title, description, unit string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(promDS()).
		Unit(unit).
		Height(8).
		Span(12).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
	for i, q := range queries {
		p = p.WithTarget(q.RefId(refID(i)))
	}
	return p
}

// statPanel shows the latest value of each series, one tile per service.
func statPanel(title, description, unit string, q *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(promDS()).
		Unit(unit).
		Height(5).
		Span(24).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		WithTarget(q.RefId("A").Instant())
}

// flameGraph is a Pyroscope flame graph of one profile type for the
// services matched by labelSelector.
func flameGraph(title, description, profileType, labelSelector string) *dashboard.PanelBuilder {
	return dashboard.NewPanelBuilder().
		Type("flamegraph").
		Title(title).
		Description(description).
		Datasource(pyroDS()).
		Height(14).
		Span(24).
		WithTarget(grafanapyroscope.NewDataqueryBuilder().
			RefId("A").
			Datasource(pyroDS()).
			QueryType("profile").
			ProfileTypeId(profileType).
			LabelSelector(labelSelector).
			GroupBy([]string{}))
}

func refID(i int) string { return string(rune('A' + i)) }

func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }
