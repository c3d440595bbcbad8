package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/profdiff/profdiff/services/bank"
)

// request is one HTTP request to send.
type request struct {
	method, path string
	body         []byte
	endpoint     string // "POST /orders/batch": the row it is counted under
	onBody       func([]byte)
}

// endpoint generates requests for one route of a service.
type endpoint struct {
	name   string // method and route pattern, e.g. "GET /accounts/{id}"
	weight int
	gen    func(g *generator) request
}

// generator makes realistic, valid requests. It is deterministic for a seed,
// so two runs send the same mix of work.
type generator struct {
	mu     sync.Mutex
	rng    *rand.Rand
	orders []string // recently created order IDs, for GET /orders/{id}
}

func (g *generator) intn(n int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rng.IntN(n)
}

func (g *generator) account() string { return bank.AccountID(1 + g.intn(bank.SeedAccounts)) }

func (g *generator) amount(max int) float64 { return float64(100+g.intn(max*100)) / 100 }

func (g *generator) pick(list []string) string { return list[g.intn(len(list))] }

func (g *generator) rememberOrder(body []byte) {
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &o) != nil || o.ID == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.orders) >= 256 {
		g.orders = g.orders[1:]
	}
	g.orders = append(g.orders, o.ID)
}

func (g *generator) knownOrder() (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.orders) == 0 {
		return "", false
	}
	return g.orders[g.rng.IntN(len(g.orders))], true
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own literal values are encoded here
	}
	return b
}

var (
	merchants    = []string{"Corner Grocery", "City Transit", "Blue Bottle Cafe", "Northwind Books", "Acme Hardware", "Air Tickets Ltd", "Streaming Plus", "Green Energy Co"}
	descriptions = []string{"weekly groceries", "monthly rent", "dinner with friends", "train ticket", "birthday present", "electricity bill", "gym membership", "book order"}
	countries    = []string{"US", "US", "US", "GB", "DE", "FR", "CA", "NL"}
	skus         = []string{"book-001", "pen-blue", "laptop-13", "mouse-usb", "coffee-1kg", "desk-lamp", "chair-ergo", "cable-hdmi"}
	templateArgs = []struct {
		name   string
		params func(g *generator) map[string]string
	}{
		{"transfer_sent", func(g *generator) map[string]string {
			return map[string]string{"name": "Ada", "amount": fmt.Sprintf("%.2f", g.amount(300)), "currency": "USD", "to": g.account(), "reference": g.pick(descriptions)}
		}},
		{"order_confirmed", func(g *generator) map[string]string {
			return map[string]string{"name": "Grace", "order_id": "ord-" + strconv.Itoa(g.intn(99999)), "total": fmt.Sprintf("%.2f", g.amount(500)), "currency": "USD"}
		}},
		{"loan_quote", func(g *generator) map[string]string {
			return map[string]string{"name": "Alan", "monthly_payment": fmt.Sprintf("%.2f", g.amount(2000)), "term_months": "360"}
		}},
		{"low_balance", func(g *generator) map[string]string {
			return map[string]string{"name": "Edsger", "balance": fmt.Sprintf("%.2f", g.amount(20)), "currency": "USD"}
		}},
	}
)

func (g *generator) items() []map[string]any {
	n := 1 + g.intn(4)
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"sku": g.pick(skus), "quantity": 1 + g.intn(5), "unit_price": g.amount(200)}
	}
	return out
}

func (g *generator) loan() map[string]any {
	terms := []int{36, 60, 120, 180, 240, 360}
	return map[string]any{"principal": float64(5000 + 1000*g.intn(400)), "annual_rate": float64(300+g.intn(700)) / 10000, "term_months": terms[g.intn(len(terms))]}
}

// Endpoints lists, per service, what the generator sends and how often
// (relative weights within the service). Every service gets an equal share of
// the rate; the gateway's transfers also load four services behind it.
var catalog = map[string][]endpoint{
	bank.ServiceGateway: {
		{"POST /api/transfers", 4, func(g *generator) request {
			from, to := g.account(), g.account()
			for to == from {
				to = g.account()
			}
			return request{method: "POST", path: "/api/transfers", body: mustJSON(map[string]any{
				"from": from, "to": to, "amount": g.amount(300), "description": g.pick(descriptions),
				"merchant": g.pick(merchants), "country": g.pick(countries)})}
		}},
		{"GET /api/accounts/{id}", 3, func(g *generator) request {
			return request{method: "GET", path: "/api/accounts/" + g.account()}
		}},
		{"POST /api/loans/quote", 1, func(g *generator) request {
			l := g.loan()
			l["account_id"] = g.account()
			return request{method: "POST", path: "/api/loans/quote", body: mustJSON(l)}
		}},
		{"POST /api/orders", 2, func(g *generator) request {
			return request{method: "POST", path: "/api/orders", body: mustJSON(map[string]any{"account_id": g.account(), "items": g.items()})}
		}},
	},
	bank.ServiceOrder: {
		{"POST /orders", 5, func(g *generator) request {
			return request{method: "POST", path: "/orders", body: mustJSON(map[string]any{"account_id": g.account(), "items": g.items()}), onBody: g.rememberOrder}
		}},
		{"POST /orders/batch", 2, func(g *generator) request {
			orders := make([]map[string]any, 5+g.intn(16))
			for i := range orders {
				orders[i] = map[string]any{"account_id": g.account(), "items": g.items()}
			}
			return request{method: "POST", path: "/orders/batch", body: mustJSON(map[string]any{"orders": orders})}
		}},
		{"GET /orders/{id}", 3, func(g *generator) request {
			id, ok := g.knownOrder()
			if !ok { // nothing created yet: create one instead
				return request{method: "POST", path: "/orders", endpoint: "POST /orders", body: mustJSON(map[string]any{"account_id": g.account(), "items": g.items()}), onBody: g.rememberOrder}
			}
			return request{method: "GET", path: "/orders/" + id}
		}},
	},
	bank.ServicePayment: {
		{"POST /payments", 1, func(g *generator) request {
			from, to := g.account(), g.account()
			for to == from {
				to = g.account()
			}
			return request{method: "POST", path: "/payments", body: mustJSON(map[string]any{"from": from, "to": to, "amount": g.amount(500)})}
		}},
	},
	bank.ServiceFraud: {
		{"POST /fraud/check", 1, func(g *generator) request {
			return request{method: "POST", path: "/fraud/check", body: mustJSON(map[string]any{
				"account_id": g.account(), "amount": g.amount(2000), "merchant": g.pick(merchants),
				"country": g.pick(countries), "description": g.pick(descriptions)})}
		}},
	},
	bank.ServiceAccount: {
		{"GET /accounts/{id}", 4, func(g *generator) request {
			return request{method: "GET", path: "/accounts/" + g.account()}
		}},
		{"POST /accounts/{id}/deposit", 3, func(g *generator) request {
			return request{method: "POST", path: "/accounts/" + g.account() + "/deposit", body: mustJSON(map[string]any{"amount": g.amount(300), "reference": "loadgen"})}
		}},
		{"POST /accounts/{id}/withdraw", 3, func(g *generator) request {
			return request{method: "POST", path: "/accounts/" + g.account() + "/withdraw", body: mustJSON(map[string]any{"amount": g.amount(300), "reference": "loadgen"})}
		}},
	},
	bank.ServiceLoan: {
		{"POST /loans/quote", 1, func(g *generator) request {
			return request{method: "POST", path: "/loans/quote", body: mustJSON(g.loan())}
		}},
	},
	bank.ServiceNotification: {
		{"POST /notifications", 1, func(g *generator) request {
			ta := templateArgs[g.intn(len(templateArgs))]
			return request{method: "POST", path: "/notifications", body: mustJSON(map[string]any{
				"account_id": g.account(), "channel": g.pick([]string{"email", "email", "sms", "push"}),
				"template": ta.name, "locale": g.pick([]string{"en", "en", "de", "fr", "es"}), "params": ta.params(g)})}
		}},
	},
}

// Endpoints returns the endpoints the generator drives for a service, as
// "METHOD /route" strings.
func Endpoints(service string) []string {
	var out []string
	for _, e := range catalog[service] {
		out = append(out, e.name)
	}
	return out
}
