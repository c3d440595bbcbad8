package bank

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func realDownstreams(g *Group) Downstreams {
	return Downstreams{
		Order: g.URLs[ServiceOrder], Payment: g.URLs[ServicePayment], Fraud: g.URLs[ServiceFraud],
		Account: g.URLs[ServiceAccount], Loan: g.URLs[ServiceLoan], Notification: g.URLs[ServiceNotification],
	}
}

func ledgerSeq(t *testing.T, r reply) float64 {
	t.Helper()
	seq, ok := path(r.json, "data", ServicePayment, "ledger_seq").(float64)
	if !ok {
		t.Fatalf("no ledger_seq in %s", r.raw)
	}
	return seq
}

// lateProxy forwards to target, but answers its first n requests only after
// the gateway has given up: the downstream books, the gateway sees a timeout.
func lateProxy(t *testing.T, target string, n int32, delay time.Duration) *atomic.Int32 {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			body, _ := io.ReadAll(r.Body)
			req, _ := http.NewRequest(r.Method, target+r.URL.Path, bytes.NewReader(body))
			req.Header = r.Header.Clone()
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	proxies[target] = srv.URL
	return &seen
}

// proxies maps a downstream URL to the lateProxy in front of it.
var proxies = map[string]string{}

// TestGatewayCommitIsNotReportedAsFailure: once the payment is made, a
// failing notification is reported in a 201 answer, not as a retryable
// 503; a payment or order whose answer came too late is retried with the
// same idempotency key and booked once; a client's retry with its key gets
// the first answer and pays nothing more.
func TestGatewayCommitIsNotReportedAsFailure(t *testing.T) {
	g := startGroup(t, Config{PaymentLatency: -1})
	real := realDownstreams(g)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + ln.Addr().String()
	ln.Close()
	transfer := `{"from":"acc-0001","to":"acc-0002","amount":5}`

	ref := do(t, "POST", gateway(t, real, time.Second)+"/api/transfers", transfer)
	if ref.status != 201 {
		t.Fatalf("reference transfer: %d %s", ref.status, ref.raw)
	}
	seq := ledgerSeq(t, ref)

	t.Run("notification down after payment", func(t *testing.T) {
		ds := real
		ds.Notification = down
		gw := gateway(t, ds, time.Second)
		for i := range 3 {
			r := do(t, "POST", gw+"/api/transfers", transfer)
			if r.status != 201 {
				t.Fatalf("transfer %d: status %d, want 201 (the payment was made): %s", i, r.status, r.raw)
			}
			if got := path(r.json, "meta", "incomplete", "service"); got != ServiceNotification {
				t.Errorf("transfer %d: meta.incomplete.service = %v, want %s: %s", i, got, ServiceNotification, r.raw)
			}
			seq++
			if got := ledgerSeq(t, r); got != seq {
				t.Errorf("transfer %d: ledger_seq %v, want %v", i, got, seq)
			}
		}
	})

	t.Run("client retry with its key", func(t *testing.T) {
		gw := gateway(t, real, time.Second)
		first := do(t, "POST", gw+"/api/transfers", transfer, IdempotencyHeader, "client-key-1")
		again := do(t, "POST", gw+"/api/transfers", transfer, IdempotencyHeader, "client-key-1")
		if first.status != 201 || again.status != 201 || ledgerSeq(t, first) != ledgerSeq(t, again) {
			t.Fatalf("retry with the same key: %d %s / %d %s", first.status, first.raw, again.status, again.raw)
		}
		if first.header.Get(IdempotencyHeader) != "client-key-1" {
			t.Errorf("key not echoed: %v", first.header)
		}
		seq++
		if ledgerSeq(t, first) != seq {
			t.Errorf("ledger_seq %v, want %v", ledgerSeq(t, first), seq)
		}
		if r := do(t, "POST", gw+"/api/transfers", transfer, IdempotencyHeader, "bad key!"); r.status != 400 {
			t.Errorf("malformed key: %d %s", r.status, r.raw)
		}
	})

	t.Run("payment answered too late", func(t *testing.T) {
		ds := real
		seen := lateProxy(t, real.Payment, 1, 3*time.Second)
		ds.Payment = proxies[real.Payment]
		r := do(t, "POST", gateway(t, ds, 300*time.Millisecond)+"/api/transfers", transfer)
		if r.status != 201 {
			t.Fatalf("status %d, want 201 after a retry with the same key: %s", r.status, r.raw)
		}
		seq++
		if got := ledgerSeq(t, r); got != seq {
			t.Errorf("ledger_seq %v, want %v: the payment was booked %v times", got, seq, got-seq+1)
		}
		if seen.Load() != 2 {
			t.Errorf("payment called %d times, want 2", seen.Load())
		}
	})

	t.Run("order answered too late", func(t *testing.T) {
		ds := real
		lateProxy(t, real.Order, 1, 3*time.Second)
		ds.Order = proxies[real.Order]
		body := `{"account_id":"acc-0001","items":[{"sku":"a","quantity":1,"unit_price":1}]}`
		r := do(t, "POST", gateway(t, ds, 300*time.Millisecond)+"/api/orders", body)
		if r.status != 201 {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
		id, _ := path(r.json, "data", ServiceOrder, "id").(string)
		// The order service booked one order: the next one has the next ID.
		next := do(t, "POST", gateway(t, real, time.Second)+"/api/orders", body)
		nid, _ := path(next.json, "data", ServiceOrder, "id").(string)
		if id == "" || nid == "" || nid <= id || nextID(id) != nid {
			t.Errorf("orders %q then %q: the late order was booked twice", id, nid)
		}
	})

	t.Run("unknown outcome says how to retry", func(t *testing.T) {
		ds := real
		lateProxy(t, real.Payment, 2, 3*time.Second)
		ds.Payment = proxies[real.Payment]
		r := do(t, "POST", gateway(t, ds, 200*time.Millisecond)+"/api/transfers", transfer)
		msg, _ := r.json["error"].(string)
		if r.status != 504 || !strings.Contains(msg, "retry with the same "+IdempotencyHeader) {
			t.Errorf("status %d, error %q", r.status, msg)
		}
	})
}

// nextID returns the order ID after id ("ord-00000007" -> "ord-00000008").
func nextID(id string) string {
	b := []byte(id)
	for i := len(b) - 1; i >= 0 && b[i] >= '0' && b[i] <= '9'; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return string(b)
}

// TestStrictRequestBodies: sub-cent amounts, duplicate keys and keys that
// match a field only ignoring case are refused with 400.
func TestStrictRequestBodies(t *testing.T) {
	g := startGroup(t, Config{PaymentLatency: -1})
	gw := g.URLs[ServiceGateway]
	cases := []struct{ name, path, body, want string }{
		{"sub-cent amount", "/api/transfers", `{"from":"acc-0001","to":"acc-0002","amount":0.005}`, "more than two decimals"},
		{"three decimals", "/api/transfers", `{"from":"acc-0001","to":"acc-0002","amount":1.234}`, "more than two decimals"},
		{"duplicate key", "/api/transfers", `{"from":"acc-0001","to":"acc-0002","amount":1,"amount":1000}`, `key "amount" appears twice`},
		{"case-variant duplicate", "/api/transfers", `{"from":"acc-0001","to":"acc-0002","amount":1,"AMOUNT":1000}`, "differ only in case"},
		{"case-variant key", "/api/transfers", `{"from":"acc-0001","to":"acc-0002","Amount":1}`, `did you mean "amount"`},
		{"Kelvin sign", "/api/orders", `{"account_id":"acc-0001","items":[{"s\u212au":"a","quantity":1,"unit_price":1}]}`, `did you mean "sku"`},
		{"nested duplicate", "/api/orders", `{"account_id":"acc-0001","items":[{"sku":"a","sku":"b","quantity":1,"unit_price":1}]}`, `key "sku" appears twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, "POST", gw+c.path, c.body)
			msg, _ := r.json["error"].(string)
			if r.status != 400 || !strings.Contains(msg, c.want) {
				t.Errorf("status %d, error %q: want 400 with %q", r.status, msg, c.want)
			}
		})
	}
	for _, amount := range []string{"0.29", "1.1", "1000000", "0.01", "19.99"} {
		r := do(t, "POST", gw+"/api/transfers", `{"from":"acc-0001","to":"acc-0002","amount":`+amount+`}`)
		if r.status != 201 {
			t.Errorf("amount %s: %d %s", amount, r.status, r.raw)
		}
	}
}

// TestNotificationSentOncePerKey: a notification repeated with its
// idempotency key is not sent again (the first one comes back, 200); a
// different key or no key sends a new one (202); a request refused before
// sending leaves its key free, and a malformed key is refused.
func TestNotificationSentOncePerKey(t *testing.T) {
	g := startGroup(t, Config{PaymentLatency: -1})
	url := g.URLs[ServiceNotification] + "/notifications"
	const good = `{"account_id":"acc-0001","channel":"email","template":"transfer_sent","params":{"name":"Ada","amount":"5.00","currency":"USD","to":"acc-0002"}}`
	const bad = `{"account_id":"acc-0001","channel":"pigeon","template":"transfer_sent"}`
	type step struct {
		key, body string
		status    int
		sameAs    int // index of the earlier step whose notification this one must be; -1: a new one
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"retry with the same key", []step{{"ntf-k1", good, 202, -1}, {"ntf-k1", good, 200, 0}, {"ntf-k1", good, 200, 0}}},
		{"a different key sends again", []step{{"ntf-k2", good, 202, -1}, {"ntf-k3", good, 202, -1}, {"ntf-k2", good, 200, 0}}},
		{"no key sends every time", []step{{"", good, 202, -1}, {"", good, 202, -1}}},
		{"a refused request leaves its key free", []step{{"ntf-k4", bad, 400, -1}, {"ntf-k4", good, 202, -1}, {"ntf-k4", good, 200, 1}}},
		{"malformed key", []step{{"bad key!", good, 400, -1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := make([]string, len(c.steps))
			for i, s := range c.steps {
				before := notificationSeq.Load()
				var hdr []string
				if s.key != "" {
					hdr = []string{IdempotencyHeader, s.key}
				}
				r := do(t, "POST", url, s.body, hdr...)
				if r.status != s.status {
					t.Fatalf("step %d: status %d, want %d: %s", i, r.status, s.status, r.raw)
				}
				sent := notificationSeq.Load() - before
				ids[i], _ = r.json["notification_id"].(string)
				switch {
				case s.status >= 400:
					if sent != 0 {
						t.Errorf("step %d: refused, yet %d notification(s) sent", i, sent)
					}
				case s.sameAs >= 0:
					if ids[i] != ids[s.sameAs] || sent != 0 {
						t.Errorf("step %d: notification %q (%d sent), want step %d's %q and none sent", i, ids[i], sent, s.sameAs, ids[s.sameAs])
					}
				default:
					if sent != 1 || ids[i] == "" {
						t.Errorf("step %d: %d sent (id %q), want one new notification", i, sent, ids[i])
					}
					for j := range i {
						if ids[j] == ids[i] {
							t.Errorf("step %d: notification %q is step %d's again, want a new one", i, ids[i], j)
						}
					}
				}
			}
		})
	}
}

// TestTransferRetryAfterLostAnswer: a client retries a transfer with its
// key on a gateway that no longer has the first answer (restarted, or
// another replica): the payment and the notification are each made once,
// and a new key makes both again.
func TestTransferRetryAfterLostAnswer(t *testing.T) {
	g := startGroup(t, Config{PaymentLatency: -1})
	real := realDownstreams(g)
	transfer := `{"from":"acc-0003","to":"acc-0004","amount":3}`
	notification := func(r reply) string {
		id, _ := path(r.json, "data", ServiceNotification, "notification_id").(string)
		return id
	}
	cases := []struct {
		name, firstKey, retryKey string
		same                     bool
	}{
		{"same key", "xfer-retry-1", "xfer-retry-1", true},
		{"new key", "xfer-retry-2", "xfer-retry-3", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := do(t, "POST", gateway(t, real, time.Second)+"/api/transfers", transfer, IdempotencyHeader, c.firstKey)
			again := do(t, "POST", gateway(t, real, time.Second)+"/api/transfers", transfer, IdempotencyHeader, c.retryKey)
			if first.status != 201 || again.status != 201 {
				t.Fatalf("statuses %d, %d: %s / %s", first.status, again.status, first.raw, again.raw)
			}
			if notification(first) == "" || notification(again) == "" {
				t.Fatalf("no notification in %s / %s", first.raw, again.raw)
			}
			samePay := ledgerSeq(t, first) == ledgerSeq(t, again)
			sameNote := notification(first) == notification(again)
			if samePay != c.same || sameNote != c.same {
				t.Errorf("same payment %v (ledger_seq %v, %v), same notification %v (%s, %s); want both %v",
					samePay, ledgerSeq(t, first), ledgerSeq(t, again), sameNote, notification(first), notification(again), c.same)
			}
		})
	}
}

// TestKeyedResultsBounds: the answers kept stay within the number of keys
// and, when sized, the bytes, forgetting the oldest first.
func TestKeyedResultsBounds(t *testing.T) {
	cases := []struct {
		name     string
		max      int
		maxBytes int64
		values   []string // kept under keys k0, k1, ...
		want     []string // keys still remembered
	}{
		{"count", 2, 0, []string{"a", "b", "c"}, []string{"k1", "k2"}},
		{"bytes", 10, 12, []string{"aaaa", "bbbb", "cccc"}, []string{"k1", "k2"}}, // 2+4 bytes each
		{"one over the byte bound is kept", 10, 4, []string{"aaaaaaaa"}, []string{"k0"}},
		{"within both", 3, 100, []string{"a", "b", "c"}, []string{"k0", "k1", "k2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var k *keyedResults[string]
			if c.maxBytes > 0 {
				k = newKeyedResultsSized(c.max, c.maxBytes, func(v string) int64 { return int64(len(v)) })
			} else {
				k = newKeyedResults[string](c.max)
			}
			for i, v := range c.values {
				key := fmt.Sprintf("k%d", i)
				if _, replay, busy := k.claim(key); replay || busy {
					t.Fatalf("%s: replay %v busy %v on first claim", key, replay, busy)
				}
				k.finish(key, v)
			}
			var kept []string
			for i := range c.values {
				key := fmt.Sprintf("k%d", i)
				if _, replay, _ := k.claim(key); replay {
					kept = append(kept, key)
				} else {
					k.release(key)
				}
			}
			if fmt.Sprint(kept) != fmt.Sprint(c.want) {
				t.Errorf("kept %v, want %v", kept, c.want)
			}
			if c.maxBytes > 0 && k.bytes > c.maxBytes && len(k.fifo) > 1 {
				t.Errorf("%d bytes kept, over the %d bound", k.bytes, c.maxBytes)
			}
		})
	}
}

// TestBalanceChangeBookedOncePerKey: a deposit or withdrawal repeated with
// its idempotency key moves the balance once; a new key, or the same key
// on the other direction, moves it again; a refused change leaves its key
// free.
func TestBalanceChangeBookedOncePerKey(t *testing.T) {
	g := startGroup(t, Config{PaymentLatency: -1})
	acct := g.URLs[ServiceAccount] + "/accounts/acc-0005"
	balance := func() float64 {
		b, _ := do(t, "GET", acct, "").json["balance"].(float64)
		return b
	}
	steps := []struct {
		op, key, amount string
		status          int
		moved           float64 // change of the balance this step must make
	}{
		{"deposit", "dep-1", "10", 200, 10},
		{"deposit", "dep-1", "10", 200, 0},
		{"deposit", "dep-2", "10", 200, 10},
		{"withdraw", "dep-1", "5", 200, -5},
		{"withdraw", "dep-1", "5", 200, 0},
		{"withdraw", "wd-big", "1e9", 409, 0},
		{"withdraw", "wd-big", "1", 200, -1},
		{"deposit", "", "2", 200, 2},
		{"deposit", "", "2", 200, 2},
		{"deposit", "bad key!", "2", 400, 0},
	}
	for i, s := range steps {
		before := balance()
		var hdr []string
		if s.key != "" {
			hdr = []string{IdempotencyHeader, s.key}
		}
		r := do(t, "POST", acct+"/"+s.op, `{"amount":`+s.amount+`,"reference":"test"}`, hdr...)
		if r.status != s.status {
			t.Fatalf("step %d (%s %s key %q): status %d, want %d: %s", i, s.op, s.amount, s.key, r.status, s.status, r.raw)
		}
		if got := balance() - before; got != s.moved {
			t.Errorf("step %d (%s %s key %q): balance moved %v, want %v", i, s.op, s.amount, s.key, got, s.moved)
		}
	}
}
