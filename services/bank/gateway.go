package bank

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The gateway is the public face of the bank: it validates requests, fans out
// to the other services with a timeout per call, and aggregates their JSON
// answers into one response (the gateway.json hot spot). A failing
// downstream turns into 502/503/504 naming that service, never a hang.

func (s *Server) registerGateway() {
	s.client = &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // services talk directly, never through an env proxy
			DialContext:         (&net.Dialer{Timeout: s.cfg.DownstreamTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	s.gatewayKeys = newKeyedResults[keyedAnswer](ordersKept)
	s.mux.Handle("POST /api/transfers", handle(s.transfer))
	s.mux.Handle("GET /api/accounts/{id}", handle(s.gatewayAccount))
	s.mux.Handle("POST /api/loans/quote", handle(s.gatewayLoan))
	s.mux.Handle("POST /api/orders", handle(s.gatewayOrder))
}

// downstreamResult is one downstream answer, kept raw for aggregation.
type downstreamResult struct {
	service string
	status  int
	body    []byte
}

// call makes one downstream request bounded by DownstreamTimeout. Transport
// failures become gateway errors naming the service: 504 on timeout, 503 when
// nothing listens, 502 for anything else (including a 5xx or non-JSON reply).
// A 4xx from downstream is the client's fault and is passed on as is.
func (s *Server) call(ctx context.Context, service, method, url string, body any) (downstreamResult, error) {
	return s.callKeyed(ctx, service, method, url, body, "")
}

// commit makes a call that books something (a payment, an order) under the
// idempotency key key. When the call fails in transport — no answer, so
// the outcome is unknown — it is made once more with the same key, which
// the service books at most once. If that fails too, the error says the
// outcome is unknown and how to retry safely.
func (s *Server) commit(ctx context.Context, service, url string, body any, key string) (downstreamResult, error) {
	res, err := s.callKeyed(ctx, service, http.MethodPost, url, body, key)
	if err == nil || res.status != 0 || ctx.Err() != nil {
		return res, err
	}
	res, err = s.callKeyed(ctx, service, http.MethodPost, url, body, key)
	if err != nil && res.status == 0 {
		var ae *apiError
		if errors.As(err, &ae) {
			return res, errorf(ae.Status, "%s; whether it was booked is unknown: retry with the same %s (%s), which cannot book it twice", ae.Msg, IdempotencyHeader, key)
		}
	}
	return res, err
}

// callKeyed is call with an idempotency key sent in IdempotencyHeader
// (none when key is empty).
func (s *Server) callKeyed(ctx context.Context, service, method, url string, body any, key string) (downstreamResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DownstreamTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return downstreamResult{}, errorf(http.StatusInternalServerError, "encoding request to %s: %v", service, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return downstreamResult{}, errorf(http.StatusInternalServerError, "request to %s: %v", service, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(IdempotencyHeader, key)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return downstreamResult{}, s.transportError(ctx, service, err, time.Since(start))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return downstreamResult{}, s.transportError(ctx, service, err, time.Since(start))
	}
	res := downstreamResult{service: service, status: resp.StatusCode, body: b}
	switch {
	case resp.StatusCode >= 500:
		return res, errorf(http.StatusBadGateway, "%s answered %d: %s", service, resp.StatusCode, truncate(downstreamMessage(b), 200))
	case resp.StatusCode >= 400:
		return res, errorf(resp.StatusCode, "%s: %s", service, truncate(downstreamMessage(b), 200))
	case !json.Valid(b):
		return res, errorf(http.StatusBadGateway, "%s answered %d with a body that is not JSON", service, resp.StatusCode)
	}
	return res, nil
}

func (s *Server) transportError(ctx context.Context, service string, err error, took time.Duration) error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return errorf(http.StatusGatewayTimeout, "%s did not answer within %s", service, s.cfg.DownstreamTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return errorf(http.StatusServiceUnavailable, "%s is unavailable (connection refused)", service)
	case errors.Is(ctx.Err(), context.Canceled):
		return errorf(http.StatusServiceUnavailable, "request cancelled while waiting for %s", service)
	default:
		return errorf(http.StatusBadGateway, "%s failed after %s: %v", service, took.Round(time.Millisecond), err)
	}
}

func downstreamMessage(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	return string(b)
}

// fanOut runs calls concurrently and returns their results in order, or the
// first error (by position, so the reported service is deterministic).
func (s *Server) fanOut(ctx context.Context, calls ...func(context.Context) (downstreamResult, error)) ([]downstreamResult, error) {
	res := make([]downstreamResult, len(calls))
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() { res[i], errs[i] = c(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// aggregatePart is one named piece of an aggregated response.
type aggregatePart struct {
	name string
	raw  []byte
}

const aggregateRounds = 1 // base decode/encode rounds per part

// encodeAggregate is the gateway.json hot spot: it decodes every downstream
// answer into generic JSON values (as a gateway that reshapes responses must),
// re-encodes each, and encodes the aggregate. Injection scales the number of
// decode/encode rounds.
//
//go:noinline
func encodeAggregate(kind string, parts []aggregatePart, meta map[string]any, ws *workScale) ([]byte, error) {
	encoded := make(map[string]json.RawMessage, len(parts))
	n := ws.units(len(parts) * aggregateRounds)
	for i := 0; i < n; i++ {
		p := parts[i%len(parts)]
		var v any
		if err := json.Unmarshal(p.raw, &v); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", p.name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", p.name, err)
		}
		encoded[p.name] = b
	}
	return json.Marshal(struct {
		Kind  string                     `json:"kind"`
		Meta  map[string]any             `json:"meta"`
		Parts map[string]json.RawMessage `json:"data"`
	}{kind, meta, encoded})
}

func (s *Server) respondAggregate(w http.ResponseWriter, status int, kind string, start time.Time, res ...downstreamResult) error {
	b, err := s.aggregate(kind, start, nil, res...)
	if err != nil {
		return err
	}
	writeRaw(w, status, b)
	return nil
}

// aggregate encodes the aggregated answer; extra adds to its meta.
func (s *Server) aggregate(kind string, start time.Time, extra map[string]any, res ...downstreamResult) ([]byte, error) {
	parts := make([]aggregatePart, len(res))
	services := make([]string, len(res))
	for i, r := range res {
		parts[i] = aggregatePart{name: r.service, raw: r.body}
		services[i] = r.service
	}
	meta := map[string]any{"gateway": s.cfg.Service, "services": services, "elapsed_ms": float64(time.Since(start).Microseconds()) / 1000}
	for k, v := range extra {
		meta[k] = v
	}
	b, err := encodeAggregate(kind, parts, meta, s.ws("gateway.json"))
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "aggregating responses: %v", err)
	}
	return b, nil
}

// keyedAnswer is the gateway's answer to a business request that booked
// something, kept to answer a retry with the same idempotency key the same
// way (the balance it was checked against has moved since).
type keyedAnswer struct {
	status int
	body   []byte
}

type transferRequest struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	Amount      *float64 `json:"amount"`
	Currency    string   `json:"currency"`
	Description string   `json:"description"`
	Merchant    string   `json:"merchant"`
	Country     string   `json:"country"`
}

// transfer runs account → fraud → payment → notification. Both accounts are
// looked up concurrently; a declined transfer is 422, funds missing 409.
//
// A transfer is one business request under one idempotency key (see
// IdempotencyHeader): the payment is booked under it at most once, and a
// retry of a transfer that paid gets the first answer again. Once the
// payment is made the transfer has happened: a notification that fails
// after it is reported in the answer (201, "incomplete"), never as a
// retryable 5xx that would invite paying again.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	key, fromClient, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	w.Header().Set(IdempotencyHeader, key)
	var req transferRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if !fromClient {
		// A key nobody can retry with needs no answer kept.
		answer, err := s.doTransfer(r.Context(), req, key, start)
		if err != nil {
			return err
		}
		writeRaw(w, answer.status, answer.body)
		return nil
	}
	prev, replay, busy := s.gatewayKeys.claim(key)
	switch {
	case busy:
		return errKeyBusy(key)
	case replay:
		writeRaw(w, prev.status, prev.body)
		return nil
	}
	answer, err := s.doTransfer(r.Context(), req, key, start)
	if err != nil {
		s.gatewayKeys.release(key)
		return err
	}
	s.gatewayKeys.finish(key, answer)
	writeRaw(w, answer.status, answer.body)
	return nil
}

func (s *Server) doTransfer(ctx context.Context, req transferRequest, key string, start time.Time) (keyedAnswer, error) {
	var none keyedAnswer
	amount, err := checkMove(req.From, req.To, req.Amount, &req.Currency)
	if err != nil {
		return none, err
	}
	if len(req.Description) > 500 {
		return none, errorf(http.StatusBadRequest, "description longer than 500 characters")
	}
	ds := s.cfg.Downstreams
	accts, err := s.fanOut(ctx,
		func(ctx context.Context) (downstreamResult, error) {
			return s.call(ctx, ServiceAccount, http.MethodGet, ds.Account+"/accounts/"+req.From, nil)
		},
		func(ctx context.Context) (downstreamResult, error) {
			return s.call(ctx, ServiceAccount, http.MethodGet, ds.Account+"/accounts/"+req.To, nil)
		})
	if err != nil {
		return none, err
	}
	var from struct {
		Balance float64 `json:"balance"`
		Owner   string  `json:"owner"`
	}
	if err := json.Unmarshal(accts[0].body, &from); err != nil {
		return none, errorf(http.StatusBadGateway, "%s: unreadable account: %v", ServiceAccount, err)
	}
	if int64(from.Balance*100) < amount {
		return none, errorf(http.StatusConflict, "insufficient funds in %s", req.From)
	}
	fraud, err := s.call(ctx, ServiceFraud, http.MethodPost, ds.Fraud+"/fraud/check", map[string]any{
		"account_id": req.From, "amount": *req.Amount, "currency": req.Currency,
		"merchant": req.Merchant, "country": req.Country, "description": req.Description,
	})
	if err != nil {
		return none, err
	}
	var verdict struct {
		Decision string  `json:"decision"`
		Score    float64 `json:"score"`
	}
	if err := json.Unmarshal(fraud.body, &verdict); err != nil {
		return none, errorf(http.StatusBadGateway, "%s: unreadable verdict: %v", ServiceFraud, err)
	}
	if verdict.Decision == "decline" {
		return none, errorf(http.StatusUnprocessableEntity, "transfer declined by %s (score %.3f)", ServiceFraud, verdict.Score)
	}
	payKey := downstreamKey(key, "pay")
	pay, err := s.commit(ctx, ServicePayment, ds.Payment+"/payments", map[string]any{
		"from": req.From, "to": req.To, "amount": *req.Amount, "currency": req.Currency, "idempotency_key": payKey,
	}, payKey)
	if err != nil {
		return none, err
	}
	// The payment is made: from here on the transfer succeeded.
	note, err := s.callKeyed(ctx, ServiceNotification, http.MethodPost, ds.Notification+"/notifications", map[string]any{
		"account_id": req.From, "channel": "email", "template": "transfer_sent",
		"params": map[string]string{"name": from.Owner, "amount": strconv.FormatFloat(*req.Amount, 'f', 2, 64), "currency": req.Currency, "to": req.To},
	}, downstreamKey(key, "notify"))
	parts := []downstreamResult{accts[0], fraud, pay, note}
	var extra map[string]any
	if err != nil {
		parts = parts[:3]
		extra = map[string]any{"incomplete": map[string]string{
			"service": ServiceNotification,
			"error":   err.Error(),
			"meaning": "the payment was made; only its notification was not sent. Do not retry the transfer to resend it.",
		}}
	}
	b, err := s.aggregate("transfer", start, extra, parts...)
	if err != nil {
		// The payment stands whatever went wrong in the encoding.
		b, _ = json.Marshal(map[string]any{"kind": "transfer", "payment": json.RawMessage(pay.body), "error": err.Error()})
	}
	return keyedAnswer{status: http.StatusCreated, body: b}, nil
}

func (s *Server) gatewayAccount(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	id := r.PathValue("id")
	if err := checkID("account id", id); err != nil {
		return err
	}
	acct, err := s.call(r.Context(), ServiceAccount, http.MethodGet, s.cfg.Downstreams.Account+"/accounts/"+id, nil)
	if err != nil {
		return err
	}
	return s.respondAggregate(w, http.StatusOK, "account", start, acct)
}

// gatewayLoan validates and forwards a quote; with an account_id, the account
// is fetched concurrently so the answer shows the customer's position too.
func (s *Server) gatewayLoan(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	var req loanRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Principal == nil || req.AnnualRate == nil {
		return errorf(http.StatusBadRequest, "principal and annual_rate are required")
	}
	if req.AccountID != "" {
		if err := checkID("account_id", req.AccountID); err != nil {
			return err
		}
	}
	ds := s.cfg.Downstreams
	calls := []func(context.Context) (downstreamResult, error){
		func(ctx context.Context) (downstreamResult, error) {
			return s.call(ctx, ServiceLoan, http.MethodPost, ds.Loan+"/loans/quote", req)
		},
	}
	if req.AccountID != "" {
		calls = append(calls, func(ctx context.Context) (downstreamResult, error) {
			return s.call(ctx, ServiceAccount, http.MethodGet, ds.Account+"/accounts/"+req.AccountID, nil)
		})
	}
	res, err := s.fanOut(r.Context(), calls...)
	if err != nil {
		return err
	}
	return s.respondAggregate(w, http.StatusOK, "loan_quote", start, res...)
}

func (s *Server) gatewayOrder(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	var req orderRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := req.validate(""); err != nil {
		return err
	}
	key, _, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	w.Header().Set(IdempotencyHeader, key)
	res, err := s.commit(r.Context(), ServiceOrder, s.cfg.Downstreams.Order+"/orders", req, downstreamKey(key, "order"))
	if err != nil {
		return err
	}
	return s.respondAggregate(w, http.StatusCreated, "order", start, res)
}
