package bank

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// The account service keeps balances in memory. All accounts share one lock:
// the deliberate coarse design whose contention the account.balance hot spot
// shows in the mutex profile.

const (
	seedAccounts = 1000
	seedBalance  = 1_000_000_00 // cents
	historyKept  = 32
	historyShown = 10
	accrualUnits = 384 // base accrual steps per balance change
	// walPerUnit is the simulated write-ahead-log sync time per accrual unit:
	// the change is durable before the lock is released (384µs per change).
	walPerUnit     = time.Microsecond
	savingsRateAPR = 0.0325
)

type ledgerEntry struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Amount  float64   `json:"amount"`
	Balance float64   `json:"balance"`
	Ref     string    `json:"reference,omitempty"`
}

type account struct {
	id, owner, currency string
	balance             int64
	accrued             float64
	history             []ledgerEntry
}

type accountStore struct {
	mu       sync.Mutex
	accounts map[string]*account
}

// AccountID returns the ID of the i-th seeded account (1-based), the IDs the
// load generator and examples use: acc-0001 ... acc-1000.
func AccountID(i int) string { return fmt.Sprintf("acc-%04d", i) }

// SeedAccounts is the number of accounts every account service starts with.
const SeedAccounts = seedAccounts

var owners = []string{"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson", "Frances Allen", "John McCarthy"}

func newAccountStore() *accountStore {
	st := &accountStore{accounts: make(map[string]*account, seedAccounts)}
	for i := 1; i <= seedAccounts; i++ {
		id := AccountID(i)
		st.accounts[id] = &account{id: id, owner: owners[i%len(owners)], currency: "USD", balance: seedBalance}
	}
	return st
}

type accountView struct {
	ID       string        `json:"id"`
	Owner    string        `json:"owner"`
	Currency string        `json:"currency"`
	Balance  float64       `json:"balance"`
	Accrued  float64       `json:"accrued_interest"`
	History  []ledgerEntry `json:"history"`
}

func (a *account) view() accountView {
	h := a.history
	if len(h) > historyShown {
		h = h[len(h)-historyShown:]
	}
	return accountView{ID: a.id, Owner: a.owner, Currency: a.currency, Balance: cents(a.balance),
		Accrued: math.Round(a.accrued*100) / 100, History: append([]ledgerEntry(nil), h...)}
}

func (st *accountStore) get(id string) (accountView, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	a, ok := st.accounts[id]
	if !ok {
		return accountView{}, false
	}
	return a.view(), true
}

// applyBalanceChange is the account.balance hot spot: it applies a deposit
// (delta > 0) or withdrawal (delta < 0), records it, and re-accrues savings
// interest over the recent history and syncs its log, all under the
// store-wide lock. The accrual loop and the log sync are the work injection
// scales; doing them under the lock is what makes the lock contended.
//
//go:noinline
func (st *accountStore) applyBalanceChange(id string, delta int64, ref string, ws *workScale) (accountView, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	a, ok := st.accounts[id]
	if !ok {
		return accountView{}, errorf(http.StatusNotFound, "account %q not found", id)
	}
	if a.balance+delta < 0 {
		return accountView{}, errorf(http.StatusConflict, "insufficient funds in %s: balance %.2f, withdrawal %.2f", id, cents(a.balance), cents(-delta))
	}
	if a.balance+delta > 100*maxAmount*100 {
		return accountView{}, errorf(http.StatusConflict, "balance limit exceeded for %s", id)
	}
	a.balance += delta
	kind := "deposit"
	if delta < 0 {
		kind = "withdrawal"
	}
	a.history = append(a.history, ledgerEntry{At: time.Now().UTC(), Kind: kind, Amount: cents(delta), Balance: cents(a.balance), Ref: ref})
	if len(a.history) > historyKept {
		a.history = append(a.history[:0], a.history[len(a.history)-historyKept:]...)
	}
	// Daily-compounded accrual of each historical balance over a sliding
	// window of days: real compound-interest math, done once per unit.
	n := ws.units(accrualUnits)
	daily := savingsRateAPR / 365
	var accrued float64
	for i := 0; i < n; i++ {
		e := a.history[i%len(a.history)]
		days := float64(1 + i%31)
		accrued += e.Balance * (math.Pow(1+daily, days) - 1) / float64(n)
	}
	a.accrued = accrued
	time.Sleep(time.Duration(n) * walPerUnit) // WAL sync, under the lock
	return a.view(), nil
}

// accrualTick is the store's background job: it advances interest accrual on
// one account per tick under the store lock, so balance changes make it wait.
func (st *accountStore) accrualTick(i int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if a := st.accounts[AccountID(1+i%seedAccounts)]; a != nil {
		a.accrued += float64(a.balance) * savingsRateAPR / 365 / 86400 / 100
	}
}

func (s *Server) registerAccount() {
	s.accounts = newAccountStore()
	s.balanceKeys = newKeyedResultsSized(balanceChangesKept, balanceBytesKept, accountViewSize)
	s.mux.Handle("GET /accounts/{id}", handle(s.getAccount))
	s.mux.Handle("POST /accounts/{id}/deposit", handle(s.changeBalance(+1)))
	s.mux.Handle("POST /accounts/{id}/withdraw", handle(s.changeBalance(-1)))
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("account id", id); err != nil {
		return err
	}
	v, ok := s.accounts.get(id)
	if !ok {
		return errorf(http.StatusNotFound, "account %q not found", id)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Balance changes remembered per idempotency key: the last
// balanceChangesKept, within balanceBytesKept of kept answers (each holds
// the account's recent history), oldest forgotten first.
const (
	balanceChangesKept = 20000
	balanceBytesKept   = 16 << 20
)

// accountViewSize approximates the memory a kept account answer holds.
func accountViewSize(v accountView) int64 {
	n := int64(len(v.ID)+len(v.Owner)+len(v.Currency)) + 96
	for _, e := range v.History {
		n += int64(len(e.Kind)+len(e.Ref)) + 64
	}
	return n
}

type balanceChange struct {
	Amount    *float64 `json:"amount"`
	Currency  string   `json:"currency"`
	Reference string   `json:"reference"`
}

func (s *Server) changeBalance(sign int64) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		if err := checkID("account id", id); err != nil {
			return err
		}
		var req balanceChange
		if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
			return err
		}
		c, err := toCents("amount", req.Amount)
		if err != nil {
			return err
		}
		if err := checkCurrency(&req.Currency); err != nil {
			return err
		}
		if req.Currency != "USD" {
			return errorf(http.StatusBadRequest, "account %s holds USD, not %s", id, req.Currency)
		}
		if len(req.Reference) > 128 {
			return errorf(http.StatusBadRequest, "reference longer than 128 characters")
		}
		// A change sent under an idempotency key is booked once: a repeat
		// gets the account as that change left it. The key is scoped to
		// the account and the direction, so reusing it elsewhere books
		// that change and replays nothing of another.
		key := r.Header.Get(IdempotencyHeader)
		if key != "" {
			if err := checkID(IdempotencyHeader+" header", key); err != nil {
				return err
			}
			key = fmt.Sprintf("%s/%+d/%s", id, sign, key)
			v, replay, busy := s.balanceKeys.claim(key)
			switch {
			case busy:
				return errKeyBusy(r.Header.Get(IdempotencyHeader))
			case replay:
				writeJSON(w, http.StatusOK, v)
				return nil
			}
		}
		v, err := s.accounts.applyBalanceChange(id, sign*c, req.Reference, s.ws("account.balance"))
		if key != "" {
			if err != nil {
				s.balanceKeys.release(key)
			} else {
				s.balanceKeys.finish(key, v)
			}
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}
