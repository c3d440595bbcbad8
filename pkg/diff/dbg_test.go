package diff
import ("testing";"fmt";"math";"github.com/profdiff/profdiff/pkg/baseline")
func TestDbgReal(t *testing.T) {
	base, err := baseline.Load("/work/cal/keep/baseline"); if err != nil { t.Fatal(err) }
	cur, err := baseline.Load("/work/cal/keep/run-001"); if err != nil { t.Fatal(err) }
	for _, x := range []struct{svc, typ, fn string}{
		{"bank-fraud-service","process_cpu:cpu:nanoseconds:cpu:nanoseconds","matchFraudRules"},
		{"bank-notification-service","memory:alloc_space:bytes:space:bytes","renderNotification"},
		{"bank-notification-service","memory:alloc_objects:count:space:bytes","renderNotification"},
		{"bank-order-service","mutex:delay:nanoseconds:contentions:count","processOrders"},
	} {
		b := base.Lookup(x.svc, x.typ); c := cur.Lookup(x.svc, x.typ)
		if b == nil || c == nil { fmt.Println("missing", x); continue }
		sc := &seriesCompare{base: b, cur: c, norm: Rate, params: DefaultParams().Merge(DefaultParams()), top: 5}
		sc.params.MinRunDrift = 0.05
		if x.typ[0] == 'm' && x.typ[1] == 'u' { sc.params.MinRunDrift = 0.10 }
		st := sc.prepare()
		if st.tests == nil { fmt.Println(x, st.sr.Reason); continue }
		fmt.Printf("%s %s: drift %+v windows b=%d c=%d runs %d\n", x.svc, x.typ, st.sr.RunNoise, st.sr.BaselineWindows, st.sr.CurrentWindows, len(st.sr.Base.Windows))
		for _, tt := range st.tests {
			name := st.funcs[tt.g].Name
			if !contains(name, x.fn) { continue }
			bs, _ := sc.accumulate(b, nil, 0); _ = bs
			fmt.Printf("  %s m=%d mb=%.4g mc=%.4g relSE0=%.4f df=%.1f vb=%.3g vc=%.3g own=%v p=%.3g\n", name, tt.m, tt.mb, tt.mc, tt.relSE0, tt.df, math.Sqrt(tt.vb)/tt.mb, math.Sqrt(tt.vc)/tt.mb, tt.ownRuns, tt.pUp)
		}
	}
}
func contains(s, sub string) bool { for i := 0; i+len(sub) <= len(s); i++ { if s[i:i+len(sub)] == sub { return true } }; return false }
