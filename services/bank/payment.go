package bank

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"
	"time"
)

// The payment service settles payments against one shared ledger. Settlement
// (idempotency, exposure, audit hash chain) runs under the ledger lock: the
// payment.state hot spot. Before settling, it waits for a simulated external
// payment gateway, outside the lock, as a real processor would.

const (
	ledgerKept      = 20000
	auditChainUnits = 48 // base hash-chain links verified per settlement
	// commitPerUnit is the simulated ledger commit time per audit unit: the
	// ledger is made durable before the lock is released (480µs per payment).
	commitPerUnit = 10 * time.Microsecond
)

type payment struct {
	ID        string    `json:"payment_id"`
	Status    string    `json:"status"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Amount    float64   `json:"amount"`
	Currency  string    `json:"currency"`
	Fee       float64   `json:"fee"`
	LedgerSeq int64     `json:"ledger_seq"`
	Audit     string    `json:"audit_hash"`
	SettledAt time.Time `json:"settled_at"`
}

type paymentLedger struct {
	mu       sync.Mutex
	seq      int64
	byKey    map[string]*payment
	keys     []string // FIFO of idempotency keys, to bound memory
	exposure map[string]int64
	chain    [][32]byte // recent audit hashes, newest last
}

func newPaymentLedger() *paymentLedger {
	return &paymentLedger{byKey: map[string]*payment{}, exposure: map[string]int64{}}
}

// settle is the payment.state hot spot. Under the ledger lock it deduplicates
// by idempotency key, books the exposure, and extends and re-verifies the audit
// hash chain over the recent links; the verification is the work injection
// scales, together with the ledger commit that follows; holding the lock
// through both is what makes the state contended.
//
//go:noinline
func (l *paymentLedger) settle(key, from, to string, amount int64, currency string, ws *workScale) (payment, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if key != "" {
		if p, ok := l.byKey[key]; ok {
			return *p, true
		}
	}
	l.seq++
	fee := amount / 400 // 0.25%
	if fee < 25 {
		fee = 25
	}
	l.exposure[from] -= amount + fee
	l.exposure[to] += amount
	if len(l.exposure) > ledgerKept {
		clear(l.exposure)
	}
	var rec [64]byte
	binary.BigEndian.PutUint64(rec[0:], uint64(l.seq))
	binary.BigEndian.PutUint64(rec[8:], uint64(amount))
	copy(rec[16:], from)
	copy(rec[40:], to)
	var prev [32]byte
	if n := len(l.chain); n > 0 {
		prev = l.chain[n-1]
	}
	link := sha256.Sum256(append(prev[:], rec[:]...))
	l.chain = append(l.chain, link)
	if len(l.chain) > 256 {
		l.chain = append(l.chain[:0], l.chain[len(l.chain)-128:]...)
	}
	// Re-verify the recent chain, as an auditor would before acknowledging.
	n := ws.units(auditChainUnits)
	acc := link
	for i := 0; i < n; i++ {
		c := l.chain[len(l.chain)-1-i%len(l.chain)]
		acc = sha256.Sum256(append(acc[:], c[:]...))
	}
	time.Sleep(time.Duration(n) * commitPerUnit) // ledger commit, under the lock
	p := &payment{
		ID: fmt.Sprintf("pay-%08d", l.seq), Status: "settled", From: from, To: to,
		Amount: cents(amount), Currency: currency, Fee: cents(fee), LedgerSeq: l.seq,
		Audit: hex.EncodeToString(acc[:8]), SettledAt: time.Now().UTC(),
	}
	if key != "" {
		l.byKey[key] = p
		l.keys = append(l.keys, key)
		if len(l.keys) > ledgerKept {
			old := l.keys[0]
			l.keys = l.keys[1:]
			delete(l.byKey, old)
		}
	}
	return *p, false
}

// sweepExposure is the ledger's background job: it recomputes the net
// exposure every tick under the ledger lock, so settlements make it wait.
func (l *paymentLedger) sweepExposure() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var net int64
	n := 0
	for _, v := range l.exposure {
		net += v
		if n++; n == 64 {
			break
		}
	}
	return net
}

func (s *Server) registerPayment() {
	s.ledger = newPaymentLedger()
	s.mux.Handle("POST /payments", handle(s.createPayment))
}

type paymentRequest struct {
	From           string   `json:"from"`
	To             string   `json:"to"`
	Amount         *float64 `json:"amount"`
	Currency       string   `json:"currency"`
	IdempotencyKey string   `json:"idempotency_key"`
}

func (s *Server) createPayment(w http.ResponseWriter, r *http.Request) error {
	var req paymentRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	c, err := checkMove(req.From, req.To, req.Amount, &req.Currency)
	if err != nil {
		return err
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = r.Header.Get(IdempotencyHeader)
	}
	if req.IdempotencyKey != "" {
		if err := checkID("idempotency_key", req.IdempotencyKey); err != nil {
			return err
		}
	}
	if d := s.cfg.PaymentLatency; d > 0 {
		// Simulated external gateway: latency varies 0.5x-1.5x with the
		// payment, deterministic for a given payment.
		h := fnv.New32a()
		_, _ = h.Write([]byte(req.From + req.To))
		jitter := time.Duration(h.Sum32()%1000) * d / 1000
		t := time.NewTimer(d/2 + jitter)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return errorf(http.StatusServiceUnavailable, "request cancelled while waiting for the payment gateway")
		}
	}
	p, replay := s.ledger.settle(req.IdempotencyKey, req.From, req.To, c, req.Currency, s.ws("payment.state"))
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
	}
	writeJSON(w, status, p)
	return nil
}
