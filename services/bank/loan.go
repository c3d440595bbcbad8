package bank

import (
	"math"
	"net/http"
	"time"
)

// The loan service quotes loans with a full amortization schedule, plus the
// cost of the loan under rising-rate stress scenarios. Schedule computation
// is the loan.amortize hot spot.

const (
	maxPrincipal    = 1e8
	maxTermMonths   = 480
	stressScenarios = 24 // the quoted rate plus 23 shocks of +0.25 points
)

type loanRequest struct {
	Principal  *float64 `json:"principal"`
	AnnualRate *float64 `json:"annual_rate"`
	TermMonths int      `json:"term_months"`
	AccountID  string   `json:"account_id"`
	StartDate  string   `json:"start_date"`
}

type scheduleRow struct {
	Month     int     `json:"month"`
	Date      string  `json:"date"`
	Payment   float64 `json:"payment"`
	Principal float64 `json:"principal"`
	Interest  float64 `json:"interest"`
	Balance   float64 `json:"balance"`
}

type stressResult struct {
	RateShock      float64 `json:"rate_shock"`
	MonthlyPayment float64 `json:"monthly_payment"`
	TotalInterest  float64 `json:"total_interest"`
}

type loanQuote struct {
	AccountID      string         `json:"account_id,omitempty"`
	Principal      float64        `json:"principal"`
	AnnualRate     float64        `json:"annual_rate"`
	TermMonths     int            `json:"term_months"`
	MonthlyPayment float64        `json:"monthly_payment"`
	TotalInterest  float64        `json:"total_interest"`
	TotalPaid      float64        `json:"total_paid"`
	Schedule       []scheduleRow  `json:"schedule"`
	Stress         []stressResult `json:"stress"`
}

// amortizationSchedule is the loan.amortize hot spot. For each scenario it
// computes the level payment and walks the schedule month by month with
// interest accrued daily over the actual days of each calendar month, the way
// a loan servicer does. Scenario 0 is the quote; the rest are stress shocks.
// Injection scales the number of scenario schedules computed.
//
//go:noinline
func amortizationSchedule(principal, rate float64, months int, start time.Time, ws *workScale) ([]scheduleRow, []stressResult) {
	n := ws.units(stressScenarios)
	var rows []scheduleRow
	stress := make([]stressResult, 0, stressScenarios)
	for sc := 0; sc < n; sc++ {
		shock := 0.0025 * float64(sc%stressScenarios)
		r := rate + shock
		monthly := r / 12
		payment := principal / float64(months)
		if monthly > 0 {
			payment = principal * monthly / (1 - math.Pow(1+monthly, -float64(months)))
		}
		payment = math.Round(payment*100) / 100
		balance := principal
		var totalInterest float64
		keep := sc == 0
		if keep {
			rows = make([]scheduleRow, 0, months)
		}
		d := start
		for m := 1; m <= months; m++ {
			next := d.AddDate(0, 1, 0)
			days := next.Sub(d).Hours() / 24
			interest := balance * (math.Pow(1+r/365, days) - 1)
			interest = math.Round(interest*100) / 100
			pay := payment
			if m == months || pay > balance+interest {
				pay = math.Round((balance+interest)*100) / 100
			}
			princ := pay - interest
			balance = math.Max(0, math.Round((balance-princ)*100)/100)
			totalInterest += interest
			if keep {
				rows = append(rows, scheduleRow{Month: m, Date: next.Format("2006-01-02"), Payment: pay,
					Principal: math.Round(princ*100) / 100, Interest: interest, Balance: balance})
			}
			d = next
		}
		if sc < stressScenarios {
			stress = append(stress, stressResult{RateShock: shock, MonthlyPayment: payment, TotalInterest: math.Round(totalInterest*100) / 100})
		}
	}
	return rows, stress
}

func (s *Server) registerLoan() {
	s.mux.Handle("POST /loans/quote", handle(s.loanQuote))
}

func (s *Server) loanQuote(w http.ResponseWriter, r *http.Request) error {
	var req loanRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Principal == nil {
		return errorf(http.StatusBadRequest, "principal is required")
	}
	p := *req.Principal
	if math.IsNaN(p) || p < 100 || p > maxPrincipal {
		return errorf(http.StatusBadRequest, "principal must be between 100 and %v, got %v", maxPrincipal, p)
	}
	if req.AnnualRate == nil {
		return errorf(http.StatusBadRequest, "annual_rate is required (a fraction: 0.055 for 5.5%%)")
	}
	rate := *req.AnnualRate
	if math.IsNaN(rate) || rate < 0 || rate > 1 {
		return errorf(http.StatusBadRequest, "annual_rate must be a fraction in [0, 1], got %v", rate)
	}
	if req.TermMonths < 1 || req.TermMonths > maxTermMonths {
		return errorf(http.StatusBadRequest, "term_months must be 1..%d, got %d", maxTermMonths, req.TermMonths)
	}
	if req.AccountID != "" {
		if err := checkID("account_id", req.AccountID); err != nil {
			return err
		}
	}
	start := time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)
	if req.StartDate != "" {
		t, err := time.Parse("2006-01-02", req.StartDate)
		if err != nil || t.Year() < 1900 || t.Year() > 2200 {
			return errorf(http.StatusBadRequest, "start_date %q: want YYYY-MM-DD between 1900 and 2200", truncate(req.StartDate, 20))
		}
		start = t
	}
	rows, stress := amortizationSchedule(p, rate, req.TermMonths, start, s.ws("loan.amortize"))
	q := loanQuote{AccountID: req.AccountID, Principal: p, AnnualRate: rate, TermMonths: req.TermMonths,
		MonthlyPayment: stress[0].MonthlyPayment, TotalInterest: stress[0].TotalInterest, Schedule: rows, Stress: stress}
	q.TotalPaid = math.Round((p+q.TotalInterest)*100) / 100
	writeJSON(w, http.StatusOK, q)
	return nil
}
