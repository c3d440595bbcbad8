package bank

import (
	"hash/fnv"
	"math"
	"net/http"
	"regexp"
	"strings"
	"unicode"
)

// The fraud service scores a transaction with two deliberately expensive
// detectors the runbook names: rule matching that compiles its regular
// expressions inside the loop (fraud.rules), and a recursive search for
// structured payments (fraud.score).

type fraudRule struct {
	name, pattern string
	weight        float64
}

// fraudRules are matched against "merchant|country|description". They are kept
// as strings and compiled on every check: the anti-pattern on purpose.
var fraudRules = []fraudRule{
	{"gift-cards", `(?i)\b(gift\s*cards?|itunes|steam\s*wallet)\b`, 0.25},
	{"crypto", `(?i)\b(bitcoin|btc|crypto|usdt|ethereum|wallet\s+0x[0-9a-f]{6,})\b`, 0.2},
	{"wire-urgency", `(?i)\b(urgent|immediately|asap|wire\s+now)\b`, 0.15},
	{"high-risk-country", `\|(KP|IR|SY|CU|VE)\|`, 0.3},
	{"shell-merchant", `(?i)^(llc|ltd|holdings?|trading)[\s-]*\d{3,}`, 0.2},
	{"card-testing", `(?i)\b(test|verify|validation)\s*(charge|payment|txn)\b`, 0.2},
	{"refund-scam", `(?i)\b(refund|overpay(ment)?|reimburse)\b.*\b(return|send\s+back)\b`, 0.25},
	{"lottery", `(?i)\b(lottery|prize|winner|jackpot|sweepstakes)\b`, 0.2},
	{"romance", `(?i)\b(darling|sweetheart|my\s+love|visa\s+fee|plane\s+ticket)\b`, 0.15},
	{"invoice-change", `(?i)\b(new|updated|changed)\s+(bank|account)\s+(details|number)\b`, 0.25},
	{"iban-in-text", `\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b`, 0.1},
	{"email-in-text", `(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`, 0.05},
	{"phone-in-text", `\+?\d[\d\s().-]{8,}\d`, 0.05},
	{"round-trip", `(?i)\b(loan\s+repay(ment)?|cash\s*back|return\s+transfer)\b`, 0.1},
}

// matchFraudRules is the fraud.rules hot spot: every rule is compiled and
// matched against every field of every transaction. Injection scales the
// number of rule evaluations (extra ones re-check rules already evaluated).
//
//go:noinline
func matchFraudRules(fields []string, ws *workScale) (hits []string, weight float64) {
	per := len(fraudRules) * len(fields)
	n := ws.units(per)
	seen := make(map[string]bool, len(fraudRules))
	for i := 0; i < n; i++ {
		rule := fraudRules[i%len(fraudRules)]
		field := fields[(i/len(fraudRules))%len(fields)]
		re, err := regexp.Compile(rule.pattern)
		if err != nil {
			continue // patterns are constants; a bad one is skipped, not fatal
		}
		if re.MatchString(field) && !seen[rule.name] {
			seen[rule.name] = true
			hits = append(hits, rule.name)
			weight += rule.weight
		}
	}
	return hits, weight
}

// structuringThreshold is the reporting limit structured payments stay under.
const structuringThreshold = 10_000_00 // cents

// structSearch carries the state of one recursive structuring search.
type structSearch struct {
	amounts []int64
	budget  int // nodes left to visit
	found   int // subsets that land just under the threshold
	ws      *workScale
}

const structuringNodes = 150_000 // base nodes visited per check

// scoreStructuring is the fraud.score hot spot: a recursive search over
// subsets of the account's recent amounts for groups that sum to just under
// the reporting threshold (structuring). The search visits a fixed budget of
// nodes; injection scales the budget.
//
//go:noinline
func scoreStructuring(st *structSearch, i int, sum int64, depth int) {
	if i == 0 && depth == 0 && st.budget < 0 {
		st.budget = st.ws.units(structuringNodes)
	}
	if st.budget <= 0 {
		return
	}
	st.budget--
	if depth >= 2 && sum >= structuringThreshold*9/10 && sum < structuringThreshold {
		st.found++
	}
	if i == len(st.amounts) {
		return
	}
	scoreStructuring(st, i+1, sum+st.amounts[i], depth+1)
	scoreStructuring(st, i+1, sum, depth)
}

// recentAmounts stands in for the account's transaction history: 18 amounts
// between 100 and 2,600 (cents), fixed for an account so that scores are
// reproducible.
func recentAmounts(accountID string) []int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(accountID))
	x := h.Sum64() | 1
	out := make([]int64, 18)
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out[i] = 100_00 + int64(x%2500_00)
	}
	return out
}

type fraudRequest struct {
	TransactionID string    `json:"transaction_id"`
	AccountID     string    `json:"account_id"`
	Amount        *float64  `json:"amount"`
	Currency      string    `json:"currency"`
	Merchant      string    `json:"merchant"`
	Country       string    `json:"country"`
	Description   string    `json:"description"`
	RecentAmounts []float64 `json:"recent_amounts"`
}

type fraudResponse struct {
	TransactionID   string   `json:"transaction_id,omitempty"`
	AccountID       string   `json:"account_id"`
	Score           float64  `json:"score"`
	Decision        string   `json:"decision"`
	RulesMatched    []string `json:"rules_matched"`
	StructuringHits int      `json:"structuring_hits"`
	RulesEvaluated  int      `json:"rules_evaluated"`
	SearchNodes     int      `json:"search_nodes"`
}

func (s *Server) registerFraud() {
	s.mux.Handle("POST /fraud/check", handle(s.fraudCheck))
}

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

func (s *Server) fraudCheck(w http.ResponseWriter, r *http.Request) error {
	var req fraudRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := checkID("account_id", req.AccountID); err != nil {
		return err
	}
	amount, err := toCents("amount", req.Amount)
	if err != nil {
		return err
	}
	if err := checkCurrency(&req.Currency); err != nil {
		return err
	}
	if req.Country == "" {
		req.Country = "US"
	}
	if !countryPattern.MatchString(req.Country) {
		return errorf(http.StatusBadRequest, "country %q: want an ISO 3166 alpha-2 code", truncate(req.Country, 8))
	}
	if len(req.Merchant) > 200 || len(req.Description) > 1000 {
		return errorf(http.StatusBadRequest, "merchant (200) or description (1000 characters) too long")
	}
	if len(req.RecentAmounts) > 24 {
		return errorf(http.StatusBadRequest, "recent_amounts: at most 24 values, got %d", len(req.RecentAmounts))
	}
	var recent []int64
	if len(req.RecentAmounts) > 0 {
		for i := range req.RecentAmounts {
			c, err := toCents("recent_amounts[]", &req.RecentAmounts[i])
			if err != nil {
				return err
			}
			recent = append(recent, c)
		}
	} else {
		recent = recentAmounts(req.AccountID)
	}
	// Rules see each free-text field alone and the whole record joined, so
	// patterns that span fields (country between bars) match too.
	record := strings.Join([]string{req.Merchant, req.Country, req.Description}, "|")
	// Rules see each field as written and normalized (lower case, punctuation
	// and repeated spaces removed), so "G.I.F.T  cards" is caught too.
	fields := []string{record, req.Merchant, req.Description}
	for _, f := range fields[:3] {
		fields = append(fields, normalizeText(f))
	}
	hits, weight := matchFraudRules(fields, s.ws("fraud.rules"))
	st := &structSearch{amounts: append(recent, amount), budget: -1, ws: s.ws("fraud.score")}
	scoreStructuring(st, 0, 0, 0)
	// Structuring evidence saturates: a few subsets are suspicious, thousands
	// are what any long history produces.
	structural := 0.2 * (1 - math.Exp(-float64(st.found)/50000))
	size := 0.15 * math.Min(1, float64(amount)/float64(50_000_00))
	score := math.Min(1, weight+structural+size)
	score = math.Round(score*1000) / 1000
	decision := "approve"
	switch {
	case score >= 0.8:
		decision = "decline"
	case score >= 0.5:
		decision = "review"
	}
	if hits == nil {
		hits = []string{}
	}
	writeJSON(w, http.StatusOK, fraudResponse{
		TransactionID: req.TransactionID, AccountID: req.AccountID, Score: score, Decision: decision,
		RulesMatched: hits, StructuringHits: st.found, RulesEvaluated: len(fraudRules), SearchNodes: structuringNodes,
	})
	return nil
}

// normalizeText lowers s and drops punctuation and repeated spaces, the usual
// first defence against rule evasion by spelling ("G.I.F.T  c-a-r-d-s").
func normalizeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '|' || r == '@' || r == '+':
			b.WriteRune(r)
			space = false
		case unicode.IsSpace(r) && !space:
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}
