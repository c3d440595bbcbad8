package rules_test

import (
	"fmt"
	"log"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/rules"
)

// Rules tune the gate per service, profile type and function, and accept
// known regressions for a while.
func Example() {
	r, err := rules.Parse([]byte(`
defaults:
  threshold: 15%
overrides:
  - name: fraud engine
    service: bank-fraud-service
    function: "*fraud.(*Engine).*"
    threshold: 30%
ignore:
  - function: "text/template.*"
    reason: template rewrite pending (PAY-123)
    expires: 2026-01-31
`), "profdiff.yaml")
	if err != nil {
		log.Fatal(err)
	}
	p := r.Policy(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	const cpu = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
	sp, _ := p.SeriesParams("bank-fraud-service", cpu, diff.DefaultParams())
	fp, rule := p.FunctionParams("bank-fraud-service", cpu, "github.com/bank/fraud.(*Engine).matchRules", sp)
	fmt.Printf("series threshold %.0f%%, matchRules threshold %.0f%% (%s)\n", 100*sp.Threshold, 100*fp.Threshold, rule)
	_, ignored := p.Ignore("bank-notification-service", cpu, "text/template.(*state).walk")
	fmt.Println("template ignored:", ignored)
	fmt.Println(p.Warnings()[0])
	// Output:
	// series threshold 15%, matchRules threshold 30% (fraud engine)
	// template ignored: false
	// ignore rule ignore[0] (profdiff.yaml line 10: "template rewrite pending (PAY-123)") expired on 2026-01-31 and no longer applies; remove it or extend it
}
