package bank

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func startGroup(t *testing.T, base Config) *Group {
	t.Helper()
	if base.Logger == nil {
		base.Logger = quiet
	}
	g, err := StartGroup(context.Background(), base, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return g
}

type reply struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

func do(t *testing.T, method, url, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.json)
	return r
}

// path walks a decoded JSON value: path(m, "data", "bank-payment-service", "status").
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestHappyPaths(t *testing.T) {
	g := startGroup(t, Config{})
	u := g.URLs
	type tc struct {
		name, service, method, path, body string
		want                              int
		check                             func(t *testing.T, r reply)
	}
	eq := func(keys []string, want any) func(t *testing.T, r reply) {
		return func(t *testing.T, r reply) {
			if got := path(r.json, keys...); got != want {
				t.Errorf("%v = %v, want %v (body %s)", keys, got, want, truncate(r.raw, 300))
			}
		}
	}
	cases := []tc{
		{"account get", ServiceAccount, "GET", "/accounts/acc-0001", "", 200, eq([]string{"balance"}, 1e6)},
		{"account deposit", ServiceAccount, "POST", "/accounts/acc-0002/deposit", `{"amount":12.34,"reference":"salary"}`, 200, eq([]string{"balance"}, 1000012.34)},
		{"account withdraw", ServiceAccount, "POST", "/accounts/acc-0003/withdraw", `{"amount":0.5,"currency":"USD"}`, 200, eq([]string{"balance"}, 999999.5)},
		{"order create", ServiceOrder, "POST", "/orders", `{"account_id":"acc-0001","items":[{"sku":"sku-1","quantity":2,"unit_price":10}]}`, 201, eq([]string{"status"}, "accepted")},
		{"order batch", ServiceOrder, "POST", "/orders/batch", `{"orders":[{"account_id":"acc-0001","items":[{"sku":"a","quantity":1,"unit_price":1}]},{"account_id":"acc-0002","items":[{"sku":"b","quantity":3,"unit_price":2.5}]}]}`, 201, eq([]string{"count"}, 2.0)},
		{"payment", ServicePayment, "POST", "/payments", `{"from":"acc-0001","to":"acc-0002","amount":100}`, 201, eq([]string{"status"}, "settled")},
		{"fraud approve", ServiceFraud, "POST", "/fraud/check", `{"account_id":"acc-0001","amount":42,"merchant":"Corner Grocery","description":"weekly shopping"}`, 200, eq([]string{"decision"}, "approve")},
		{"fraud decline", ServiceFraud, "POST", "/fraud/check", `{"account_id":"acc-0001","amount":9000,"country":"KP","merchant":"Holdings 1234","description":"URGENT bitcoin gift cards, new bank details"}`, 200, eq([]string{"decision"}, "decline")},
		{"loan quote", ServiceLoan, "POST", "/loans/quote", `{"principal":200000,"annual_rate":0.06,"term_months":360}`, 200, func(t *testing.T, r reply) {
			sched, _ := path(r.json, "schedule").([]any)
			if len(sched) != 360 {
				t.Fatalf("schedule has %d rows, want 360", len(sched))
			}
			if last := path(sched[359], "balance"); last != 0.0 {
				t.Errorf("final balance %v, want 0", last)
			}
			if mp := path(r.json, "monthly_payment").(float64); mp < 1190 || mp > 1210 {
				t.Errorf("monthly payment %v, want about 1199", mp)
			}
		}},
		{"loan zero rate", ServiceLoan, "POST", "/loans/quote", `{"principal":1200,"annual_rate":0,"term_months":12}`, 200, eq([]string{"monthly_payment"}, 100.0)},
		{"notification", ServiceNotification, "POST", "/notifications", `{"account_id":"acc-0001","channel":"email","template":"transfer_sent","params":{"name":"Ada","amount":"5.00","currency":"USD","to":"acc-0002"}}`, 202, func(t *testing.T, r reply) {
			if b, _ := path(r.json, "body").(string); !strings.HasPrefix(b, "Hello Ada, you sent 5.00 USD to acc-0002.") {
				t.Errorf("body %q", b)
			}
		}},
		{"gateway transfer", ServiceGateway, "POST", "/api/transfers", `{"from":"acc-0010","to":"acc-0011","amount":25,"description":"rent"}`, 201, func(t *testing.T, r reply) {
			for _, s := range []string{ServiceAccount, ServiceFraud, ServicePayment, ServiceNotification} {
				if path(r.json, "data", s) == nil {
					t.Errorf("aggregate lacks %s: %s", s, truncate(r.raw, 400))
				}
			}
			if got := path(r.json, "data", ServicePayment, "status"); got != "settled" {
				t.Errorf("payment status %v", got)
			}
		}},
		{"gateway account", ServiceGateway, "GET", "/api/accounts/acc-0005", "", 200, eq([]string{"data", ServiceAccount, "id"}, "acc-0005")},
		{"gateway loan", ServiceGateway, "POST", "/api/loans/quote", `{"principal":10000,"annual_rate":0.05,"term_months":24,"account_id":"acc-0001"}`, 200, eq([]string{"data", ServiceAccount, "id"}, "acc-0001")},
		{"gateway order", ServiceGateway, "POST", "/api/orders", `{"account_id":"acc-0001","items":[{"sku":"x","quantity":1,"unit_price":3}]}`, 201, eq([]string{"data", ServiceOrder, "status"}, "accepted")},
		{"gateway declined", ServiceGateway, "POST", "/api/transfers", `{"from":"acc-0010","to":"acc-0011","amount":25,"country":"KP","description":"urgent bitcoin gift cards lottery winner"}`, 422, nil},
		{"gateway insufficient", ServiceGateway, "POST", "/api/transfers", `{"from":"acc-0010","to":"acc-0011","amount":5000000}`, 409, nil},
	}
	for _, s := range Services {
		cases = append(cases, tc{"health " + s.Short, s.Name, "GET", "/health", "", 200, eq([]string{"service"}, s.Name)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, u[c.service]+c.path, c.body)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, truncate(r.raw, 300))
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
	t.Run("order get", func(t *testing.T) {
		r := do(t, "POST", u[ServiceOrder]+"/orders", `{"account_id":"acc-0001","items":[{"sku":"s","quantity":4,"unit_price":2.5}]}`)
		id, _ := r.json["id"].(string)
		got := do(t, "GET", u[ServiceOrder]+"/orders/"+id, "")
		if got.status != 200 || got.json["id"] != id || got.json["total"] != r.json["total"] {
			t.Fatalf("GET order %q: %d %s", id, got.status, got.raw)
		}
	})
	t.Run("payment idempotent", func(t *testing.T) {
		body := `{"from":"acc-0001","to":"acc-0002","amount":7,"idempotency_key":"k-1"}`
		a := do(t, "POST", u[ServicePayment]+"/payments", body)
		b := do(t, "POST", u[ServicePayment]+"/payments", body)
		if a.status != 201 || b.status != 200 || a.json["payment_id"] != b.json["payment_id"] {
			t.Fatalf("replay: %d %v / %d %v", a.status, a.json["payment_id"], b.status, b.json["payment_id"])
		}
	})
	t.Run("metrics", func(t *testing.T) {
		r := do(t, "GET", u[ServiceAccount]+"/metrics", "")
		for _, want := range []string{
			`http_server_requests_total{code="200",method="GET",route="/accounts/{id}"}`,
			`http_server_request_duration_seconds_bucket{method="POST",route="/accounts/{id}/deposit",le="0.005"}`,
			"go_goroutines", "process_cpu_seconds_total", "go_gc_duration_seconds",
		} {
			if !strings.Contains(r.raw, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(r.raw, "acc-0001") {
			t.Error("raw path leaked into a route label")
		}
	})
}

func TestBadInput(t *testing.T) {
	g := startGroup(t, Config{MaxBodyBytes: 4096})
	u := g.URLs
	big := `{"account_id":"acc-0001","description":"` + strings.Repeat("x", 5000) + `"}`
	cases := []struct {
		name, service, method, path, body string
		want                              int
		contains                          string
		hdr                               []string
	}{
		{"malformed json", ServiceAccount, "POST", "/accounts/acc-0001/deposit", `{"amount":`, 400, "malformed JSON", nil},
		{"syntax error", ServicePayment, "POST", "/payments", `{"from" "a"}`, 400, "malformed JSON", nil},
		{"empty body", ServiceFraud, "POST", "/fraud/check", ``, 400, "empty request body", nil},
		{"not an object", ServiceLoan, "POST", "/loans/quote", `[1,2]`, 400, "want", nil},
		{"trailing data", ServiceAccount, "POST", "/accounts/acc-0001/deposit", `{"amount":1}{"amount":2}`, 400, "single JSON object", nil},
		{"unknown field", ServiceAccount, "POST", "/accounts/acc-0001/deposit", `{"amount":1,"amout":2}`, 400, "unknown field", nil},
		{"wrong type", ServiceOrder, "POST", "/orders", `{"account_id":"acc-0001","items":[{"sku":"a","quantity":"two","unit_price":1}]}`, 400, "quantity", nil},
		{"missing amount", ServicePayment, "POST", "/payments", `{"from":"acc-0001","to":"acc-0002"}`, 400, "amount is required", nil},
		{"negative amount", ServiceAccount, "POST", "/accounts/acc-0001/withdraw", `{"amount":-5}`, 400, "must be positive", nil},
		{"zero amount", ServiceFraud, "POST", "/fraud/check", `{"account_id":"acc-0001","amount":0}`, 400, "must be positive", nil},
		{"huge amount", ServicePayment, "POST", "/payments", `{"from":"a1","to":"a2","amount":1e300}`, 400, "at most", nil},
		{"tiny amount", ServiceAccount, "POST", "/accounts/acc-0001/deposit", `{"amount":0.001}`, 400, "more than two decimals", nil},
		{"bad currency", ServicePayment, "POST", "/payments", `{"from":"a1","to":"a2","amount":1,"currency":"XXX"}`, 400, "currency", nil},
		{"same accounts", ServicePayment, "POST", "/payments", `{"from":"a1","to":"a1","amount":1}`, 400, "must differ", nil},
		{"missing id", ServiceOrder, "POST", "/orders", `{"items":[{"sku":"a","quantity":1,"unit_price":1}]}`, 400, "account_id is required", nil},
		{"bad id", ServiceAccount, "GET", "/accounts/acc%20x", "", 400, "account id", nil},
		{"no items", ServiceOrder, "POST", "/orders", `{"account_id":"acc-0001","items":[]}`, 400, "at least one item", nil},
		{"negative quantity", ServiceOrder, "POST", "/orders", `{"account_id":"acc-0001","items":[{"sku":"a","quantity":-1,"unit_price":1}]}`, 400, "quantity", nil},
		{"empty batch", ServiceOrder, "POST", "/orders/batch", `{"orders":[]}`, 400, "at least one order", nil},
		{"bad order in batch", ServiceOrder, "POST", "/orders/batch", `{"orders":[{"account_id":"acc-0001","items":[{"sku":"a","quantity":1,"unit_price":0}]}]}`, 400, "orders[0].items[0].unit_price", nil},
		{"loan bad term", ServiceLoan, "POST", "/loans/quote", `{"principal":1000,"annual_rate":0.05,"term_months":0}`, 400, "term_months", nil},
		{"loan rate as percent", ServiceLoan, "POST", "/loans/quote", `{"principal":1000,"annual_rate":5.5,"term_months":12}`, 400, "annual_rate", nil},
		{"loan missing principal", ServiceLoan, "POST", "/loans/quote", `{"annual_rate":0.05,"term_months":12}`, 400, "principal is required", nil},
		{"loan bad date", ServiceLoan, "POST", "/loans/quote", `{"principal":1000,"annual_rate":0.05,"term_months":12,"start_date":"tomorrow"}`, 400, "start_date", nil},
		{"bad channel", ServiceNotification, "POST", "/notifications", `{"account_id":"acc-0001","channel":"pigeon","template":"low_balance"}`, 400, "channel", nil},
		{"bad template", ServiceNotification, "POST", "/notifications", `{"account_id":"acc-0001","channel":"sms","template":"nope"}`, 400, "template", nil},
		{"bad param key", ServiceNotification, "POST", "/notifications", `{"account_id":"acc-0001","channel":"sms","template":"low_balance","params":{"Bad Key":"x"}}`, 400, "params key", nil},
		{"bad country", ServiceFraud, "POST", "/fraud/check", `{"account_id":"acc-0001","amount":1,"country":"usa"}`, 400, "country", nil},
		{"oversize body", ServiceFraud, "POST", "/fraud/check", big, 413, "larger than", nil},
		{"oversize at gateway", ServiceGateway, "POST", "/api/transfers", big, 413, "larger than", nil},
		{"wrong content type", ServicePayment, "POST", "/payments", `{}`, 415, "content type", []string{"Content-Type", "application/xml"}},
		{"unknown account", ServiceAccount, "GET", "/accounts/acc-9999", "", 404, "not found", nil},
		{"deposit unknown account", ServiceAccount, "POST", "/accounts/nobody/deposit", `{"amount":1}`, 404, "not found", nil},
		{"unknown order", ServiceOrder, "GET", "/orders/ord-missing", "", 404, "not found", nil},
		{"insufficient funds", ServiceAccount, "POST", "/accounts/acc-0004/withdraw", `{"amount":2000000}`, 409, "insufficient funds", nil},
		{"unknown route", ServiceFraud, "GET", "/nope", "", 404, "no route", nil},
		{"wrong method", ServiceFraud, "GET", "/fraud/check", "", 405, "not allowed", nil},
		{"gateway bad json", ServiceGateway, "POST", "/api/transfers", `{"from":`, 400, "malformed JSON", nil},
		{"gateway unknown account", ServiceGateway, "GET", "/api/accounts/acc-9999", "", 404, ServiceAccount, nil},
		{"gateway missing amount", ServiceGateway, "POST", "/api/transfers", `{"from":"acc-0001","to":"acc-0002"}`, 400, "amount is required", nil},
		{"gateway loan invalid downstream", ServiceGateway, "POST", "/api/loans/quote", `{"principal":10,"annual_rate":0.05,"term_months":12}`, 400, ServiceLoan, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, u[c.service]+c.path, c.body, c.hdr...)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, truncate(r.raw, 300))
			}
			msg, _ := r.json["error"].(string)
			if msg == "" {
				t.Fatalf("no JSON error in %q", truncate(r.raw, 200))
			}
			if !strings.Contains(msg, c.contains) {
				t.Errorf("error %q lacks %q", msg, c.contains)
			}
			if c.want == 405 && r.header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", r.header.Get("Allow"))
			}
		})
	}
}

// TestGarbageNeverServerError throws random and mutated bodies at every POST
// endpoint: whatever comes in, the answer is a 4xx (or 2xx) with JSON, never a
// 5xx, and the service stays up.
func TestGarbageNeverServerError(t *testing.T) {
	g := startGroup(t, Config{PaymentLatency: -1})
	seeds := map[string]string{
		ServiceAccount + " /accounts/acc-0001/deposit": `{"amount":1.5,"reference":"r"}`,
		ServiceOrder + " /orders":                      `{"account_id":"acc-0001","items":[{"sku":"a","quantity":1,"unit_price":1}]}`,
		ServiceOrder + " /orders/batch":                `{"orders":[{"account_id":"acc-0001","items":[{"sku":"a","quantity":1,"unit_price":1}]}]}`,
		ServicePayment + " /payments":                  `{"from":"acc-0001","to":"acc-0002","amount":3}`,
		ServiceFraud + " /fraud/check":                 `{"account_id":"acc-0001","amount":3,"recent_amounts":[1,2]}`,
		ServiceLoan + " /loans/quote":                  `{"principal":1000,"annual_rate":0.05,"term_months":12}`,
		ServiceNotification + " /notifications":        `{"account_id":"acc-0001","channel":"sms","template":"low_balance","params":{"balance":"1"}}`,
		ServiceGateway + " /api/transfers":             `{"from":"acc-0001","to":"acc-0002","amount":3}`,
		ServiceGateway + " /api/loans/quote":           `{"principal":1000,"annual_rate":0.05,"term_months":12}`,
		ServiceGateway + " /api/orders":                `{"account_id":"acc-0001","items":[{"sku":"a","quantity":1,"unit_price":1}]}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := []string{"null", "-1", "1e999", "\"\"", "[]", "{}", "true", "\"\\u0000\"", "NaN", "0.000001", "9007199254740993", "\"acc-0001\""}
	n := 40
	if testing.Short() {
		n = 10
	}
	for key, seed := range seeds {
		service, p, _ := strings.Cut(key, " ")
		for i := 0; i < n; i++ {
			b := []byte(seed)
			switch i % 3 {
			case 0: // flip bytes
				for j := 0; j < 3; j++ {
					b[rng.IntN(len(b))] = byte(rng.IntN(256))
				}
			case 1: // truncate
				b = b[:rng.IntN(len(b))]
			case 2: // replace a value with a hostile token
				s := string(b)
				if k := strings.Index(s, ":"); k > 0 {
					s = s[:k+1] + tokens[rng.IntN(len(tokens))] + s[k+1+strings.IndexAny(s[k+1:], ",}")+0:]
				}
				b = []byte(s)
			}
			r := do(t, "POST", g.URLs[service]+p, string(b))
			if r.status >= 500 {
				t.Fatalf("%s %s with %q: status %d %s", service, p, b, r.status, r.raw)
			}
			if r.status >= 400 && r.json["error"] == nil {
				t.Fatalf("%s %s with %q: %d without JSON error: %q", service, p, b, r.status, r.raw)
			}
		}
	}
}

// gateway builds a gateway alone, with downstreams given per test.
func gateway(t *testing.T, ds Downstreams, timeout time.Duration) string {
	t.Helper()
	srv, err := New(Config{Service: "gateway", Downstreams: ds, DownstreamTimeout: timeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestGatewayDownstreamFailures(t *testing.T) {
	g := startGroup(t, Config{PaymentLatency: -1})
	real := Downstreams{
		Order: g.URLs[ServiceOrder], Payment: g.URLs[ServicePayment], Fraud: g.URLs[ServiceFraud],
		Account: g.URLs[ServiceAccount], Loan: g.URLs[ServiceLoan], Notification: g.URLs[ServiceNotification],
	}
	// A port that nothing listens on: bind, note it, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer broken.Close()
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>hello</html>"))
	}))
	defer notJSON.Close()

	transfer := `{"from":"acc-0001","to":"acc-0002","amount":5}`
	cases := []struct {
		name    string
		mutate  func(*Downstreams)
		method  string
		path    string
		body    string
		want    int
		service string
	}{
		{"account down", func(d *Downstreams) { d.Account = down }, "GET", "/api/accounts/acc-0001", "", 503, ServiceAccount},
		{"account slow", func(d *Downstreams) { d.Account = slow.URL }, "GET", "/api/accounts/acc-0001", "", 504, ServiceAccount},
		{"fraud down in transfer", func(d *Downstreams) { d.Fraud = down }, "POST", "/api/transfers", transfer, 503, ServiceFraud},
		{"payment slow in transfer", func(d *Downstreams) { d.Payment = slow.URL }, "POST", "/api/transfers", transfer, 504, ServicePayment},
		{"fraud 500 in transfer", func(d *Downstreams) { d.Fraud = broken.URL }, "POST", "/api/transfers", transfer, 502, ServiceFraud},
		{"loan not json", func(d *Downstreams) { d.Loan = notJSON.URL }, "POST", "/api/loans/quote", `{"principal":1000,"annual_rate":0.05,"term_months":12}`, 502, ServiceLoan},
		{"order slow", func(d *Downstreams) { d.Order = slow.URL }, "POST", "/api/orders", `{"account_id":"acc-0001","items":[{"sku":"a","quantity":1,"unit_price":1}]}`, 504, ServiceOrder},
	}
	const timeout = 300 * time.Millisecond
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := real
			c.mutate(&ds)
			url := gateway(t, ds, timeout)
			start := time.Now()
			r := do(t, c.method, url+c.path, c.body)
			took := time.Since(start)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.raw)
			}
			if msg, _ := r.json["error"].(string); !strings.Contains(msg, c.service) {
				t.Errorf("error %q does not name %s", msg, c.service)
			}
			if took > timeout+2*time.Second {
				t.Errorf("took %s, timeout is %s", took, timeout)
			}
		})
	}
}

func TestParseInject(t *testing.T) {
	cases := []struct {
		in      string
		want    map[string]float64
		wantErr string
	}{
		{"", map[string]float64{}, ""},
		{"  ", map[string]float64{}, ""},
		{"fraud.rules=1.3", map[string]float64{"fraud.rules": 1.3}, ""},
		{"fraud.rules=1.3, loan.amortize=2", map[string]float64{"fraud.rules": 1.3, "loan.amortize": 2}, ""},
		{"account.balance=0.5", map[string]float64{"account.balance": 0.5}, ""},
		{"fraud.rule=1.3", nil, "unknown hot spot"},
		{"fraud.rules", nil, "want name=factor"},
		{"fraud.rules=", nil, "want name=factor"},
		{"=2", nil, "want name=factor"},
		{"fraud.rules=abc", nil, "not a number"},
		{"fraud.rules=NaN", nil, "not a number"},
		{"fraud.rules=Inf", nil, "not a number"},
		{"fraud.rules=0", nil, "out of range"},
		{"fraud.rules=-1", nil, "out of range"},
		{"fraud.rules=21", nil, "out of range"},
		{"fraud.rules=1.3,fraud.rules=2", nil, "given twice"},
		{"fraud.rules=1.3,,", nil, "empty item"},
	}
	for _, c := range cases {
		got, err := ParseInject(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseInject(%q) error = %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseInject(%q): %v", c.in, err)
			continue
		}
		if FormatInject(got) != FormatInject(c.want) {
			t.Errorf("ParseInject(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	for _, h := range Hotspots {
		if _, err := ParseInject(h.Inject + "=1.3"); err != nil {
			t.Errorf("hot spot %s not injectable: %v", h.Inject, err)
		}
	}
}

func TestWorkScaleIsProportional(t *testing.T) {
	for _, c := range []struct {
		f    float64
		n    int
		want float64
	}{{1, 10, 10}, {1.3, 10, 13}, {1.25, 2, 2.5}, {2, 7, 14}, {1.05, 3, 3.15}, {0.5, 4, 2}} {
		ws := newWorkScale(c.f)
		total := 0
		const calls = 400
		for i := 0; i < calls; i++ {
			total += ws.units(c.n)
		}
		if got := float64(total) / calls; got < c.want-0.01 || got > c.want+0.01 {
			t.Errorf("factor %v on %d units: mean %v per call, want %v", c.f, c.n, got, c.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Service: "bank-nope"}, "unknown service"},
		{Config{Service: "fraud", Addr: "nocolon"}, "addr"},
		{Config{Service: "gateway", Downstreams: Downstreams{Fraud: "ftp://x"}}, "downstream URL"},
		{Config{Service: "fraud", Inject: map[string]float64{"fraud.rulez": 2}}, "unknown hot spot"},
		{Config{Service: "fraud", Inject: map[string]float64{"fraud.rules": -2}}, "out of range"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) error = %v, want %q", c.cfg, err, c.want)
		}
	}
}
