package bank

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// The order service prices and books orders. Single orders and batches go
// through the same processOrders, which holds one coarse lock for the whole
// batch: the order.batch hot spot, visible in the mutex profile.

const (
	ordersKept   = 20000
	maxBatch     = 100
	maxItems     = 50
	pricingUnits = 400 // base dynamic-pricing iterations per order item
	// journalPerUnit is the simulated journal write time per pricing unit:
	// the batch is persisted before the lock is released (200µs per item).
	journalPerUnit = 500 * time.Nanosecond
	taxRate        = 0.0825
	maxQuantity    = 10000
	maxUnitPrice   = 1e6
)

type orderItem struct {
	SKU       string   `json:"sku"`
	Quantity  int      `json:"quantity"`
	UnitPrice *float64 `json:"unit_price"`
}

type orderRequest struct {
	AccountID string      `json:"account_id"`
	Items     []orderItem `json:"items"`
}

type pricedItem struct {
	SKU       string  `json:"sku"`
	Quantity  int     `json:"quantity"`
	UnitPrice float64 `json:"unit_price"`
	Discount  float64 `json:"discount"`
	LineTotal float64 `json:"line_total"`
}

type order struct {
	ID        string       `json:"id"`
	AccountID string       `json:"account_id"`
	Status    string       `json:"status"`
	Items     []pricedItem `json:"items"`
	Subtotal  float64      `json:"subtotal"`
	Tax       float64      `json:"tax"`
	Total     float64      `json:"total"`
	CreatedAt time.Time    `json:"created_at"`
}

type orderBook struct {
	mu     sync.Mutex
	seq    int64
	orders map[string]*order
	fifo   []string
	demand map[string]float64 // per-SKU demand index feeding dynamic pricing
}

func newOrderBook() *orderBook {
	return &orderBook{orders: map[string]*order{}, demand: map[string]float64{}}
}

func (req *orderRequest) validate(prefix string) error {
	if err := checkID(prefix+"account_id", req.AccountID); err != nil {
		return err
	}
	if len(req.Items) == 0 {
		return errorf(http.StatusBadRequest, "%sitems: at least one item is required", prefix)
	}
	if len(req.Items) > maxItems {
		return errorf(http.StatusBadRequest, "%sitems: at most %d items, got %d", prefix, maxItems, len(req.Items))
	}
	for i, it := range req.Items {
		p := fmt.Sprintf("%sitems[%d].", prefix, i)
		if err := checkID(p+"sku", it.SKU); err != nil {
			return err
		}
		if it.Quantity <= 0 || it.Quantity > maxQuantity {
			return errorf(http.StatusBadRequest, "%squantity must be 1..%d, got %d", p, maxQuantity, it.Quantity)
		}
		if it.UnitPrice == nil {
			return errorf(http.StatusBadRequest, "%sunit_price is required", p)
		}
		if up := *it.UnitPrice; math.IsNaN(up) || up <= 0 || up > maxUnitPrice {
			return errorf(http.StatusBadRequest, "%sunit_price must be in (0, %v], got %v", p, maxUnitPrice, up)
		}
	}
	return nil
}

// processOrders is the order.batch hot spot: it prices and books a whole batch
// while holding the book's single lock. Pricing runs a dynamic-pricing
// iteration per item against the shared demand index, and the batch is
// journaled before the lock is released; injection scales both. Holding the
// lock for all of it is the contention the runbook describes.
//
//go:noinline
func (b *orderBook) processOrders(batch []orderRequest, ws *workScale) []order {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := 0
	for _, req := range batch {
		items += len(req.Items)
	}
	units := ws.units(pricingUnits * items)
	perItem := max(units/max(items, 1), 1)
	out := make([]order, 0, len(batch))
	now := time.Now().UTC()
	for _, req := range batch {
		b.seq++
		o := &order{ID: fmt.Sprintf("ord-%08d", b.seq), AccountID: req.AccountID, Status: "accepted", CreatedAt: now}
		var subtotal float64
		for _, it := range req.Items {
			d := b.demand[it.SKU]
			// Iterate the price elasticity model to its fixed point.
			disc := 0.0
			for k := 0; k < perItem; k++ {
				disc = 0.5*disc + 0.5*(0.15*(1-math.Exp(-float64(it.Quantity)/40))+0.02*math.Log1p(d)/(1+float64(k%8)))
			}
			if disc > 0.3 {
				disc = 0.3
			}
			line := math.Round(*it.UnitPrice*float64(it.Quantity)*(1-disc)*100) / 100
			o.Items = append(o.Items, pricedItem{SKU: it.SKU, Quantity: it.Quantity, UnitPrice: *it.UnitPrice,
				Discount: math.Round(disc*10000) / 10000, LineTotal: line})
			subtotal += line
			b.demand[it.SKU] = 0.99*d + float64(it.Quantity)
		}
		if len(b.demand) > ordersKept {
			clear(b.demand)
		}
		o.Subtotal = math.Round(subtotal*100) / 100
		o.Tax = math.Round(subtotal*taxRate*100) / 100
		o.Total = math.Round((o.Subtotal+o.Tax)*100) / 100
		b.orders[o.ID] = o
		b.fifo = append(b.fifo, o.ID)
		if len(b.fifo) > ordersKept {
			delete(b.orders, b.fifo[0])
			b.fifo = b.fifo[1:]
		}
		out = append(out, *o)
	}
	time.Sleep(time.Duration(units) * journalPerUnit) // journal write, under the lock
	return out
}

// decayDemand is the order book's background job: it ages the demand index a
// little every tick. It takes the same lock as processOrders, so batches make
// it wait, as any housekeeping job would in a real order service.
func (b *orderBook) decayDemand() {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for sku, d := range b.demand {
		b.demand[sku] = d * 0.999
		if n++; n == 32 {
			break
		}
	}
}

func (b *orderBook) get(id string) (order, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orders[id]
	if !ok {
		return order{}, false
	}
	return *o, true
}

func (s *Server) registerOrder() {
	s.orders = newOrderBook()
	s.orderKeys = newKeyedResults[order](ordersKept)
	s.mux.Handle("POST /orders", handle(s.createOrder))
	s.mux.Handle("POST /orders/batch", handle(s.createOrderBatch))
	s.mux.Handle("GET /orders/{id}", handle(s.getOrder))
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) error {
	var req orderRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := req.validate(""); err != nil {
		return err
	}
	key := r.Header.Get(IdempotencyHeader)
	if key != "" {
		if err := checkID(IdempotencyHeader+" header", key); err != nil {
			return err
		}
		o, replay, busy := s.orderKeys.claim(key)
		switch {
		case busy:
			return errKeyBusy(key)
		case replay:
			writeJSON(w, http.StatusOK, o) // booked before: the same order, not a new one
			return nil
		}
	}
	out := s.orders.processOrders([]orderRequest{req}, s.ws("order.batch"))
	if key != "" {
		s.orderKeys.finish(key, out[0])
	}
	writeJSON(w, http.StatusCreated, out[0])
	return nil
}

type batchRequest struct {
	Orders []orderRequest `json:"orders"`
}

type batchResponse struct {
	Count  int     `json:"count"`
	Total  float64 `json:"total"`
	Orders []order `json:"orders"`
}

func (s *Server) createOrderBatch(w http.ResponseWriter, r *http.Request) error {
	var req batchRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if len(req.Orders) == 0 {
		return errorf(http.StatusBadRequest, "orders: at least one order is required")
	}
	if len(req.Orders) > maxBatch {
		return errorf(http.StatusBadRequest, "orders: at most %d orders per batch, got %d", maxBatch, len(req.Orders))
	}
	for i := range req.Orders {
		if err := req.Orders[i].validate(fmt.Sprintf("orders[%d].", i)); err != nil {
			return err
		}
	}
	out := s.orders.processOrders(req.Orders, s.ws("order.batch"))
	resp := batchResponse{Count: len(out), Orders: out}
	for _, o := range out {
		resp.Total += o.Total
	}
	resp.Total = math.Round(resp.Total*100) / 100
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("order id", id); err != nil {
		return err
	}
	o, ok := s.orders.get(id)
	if !ok {
		return errorf(http.StatusNotFound, "order %q not found", id)
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}
