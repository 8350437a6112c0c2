package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Caller signs and sends the order agent's calls (*caller.Client is one).
type Caller interface {
	Call(ctx context.Context, method, url, callee, action string, body []byte) (*http.Response, error)
	Pick(callee, action string) (caller.Contract, error)
}

// The downstream actions.
const (
	ActionCreate       = "order:create"
	ActionReserve      = "inventory:reserve"
	ActionRelease      = "inventory:release"
	ActionConsume      = "inventory:consume"
	ActionCharge       = "payment:charge"
	ActionRefund       = "payment:refund"
	ActionLabel        = "fulfillment:label"
	ActionNotify       = "fulfillment:notify"
	maxResponseBytes   = 1 << 20
	reasonUnreachable  = "unreachable"
	reasonNoContract   = "no_contract"
	reasonBadResponse  = "bad_response"
	reasonNotSucceeded = "not_succeeded"
)

// result is a downstream call's outcome.
type result struct {
	status  int     // 0 when no answer came
	body    []byte  // the answer's body
	receipt *uint64 // the callee's Ledger-Receipt index
	reason  string  // why it failed: the callee's "error", or ours
	detail  string
}

func (r result) ok() bool { return r.reason == "" && r.status/100 == 2 }

// call posts req as JSON to the callee's url for action, signed under the
// contract the caller picks.
func (s *Service) call(ctx context.Context, url, callee, action string, req any) result {
	body, err := json.Marshal(req)
	if err != nil {
		return result{reason: reasonBadResponse, detail: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.caller.Call(ctx, http.MethodPost, url, callee, action, body)
	if err != nil {
		if errors.Is(err, caller.ErrNoContract) {
			return result{reason: reasonNoContract, detail: err.Error()}
		}
		return result{reason: reasonUnreachable, detail: err.Error()}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	r := result{status: resp.StatusCode, body: out}
	if v := resp.Header.Get(contractref.ReceiptHeader); v != "" {
		if idx, _, perr := contractref.ParseReceipt(v); perr == nil {
			r.receipt = &idx
		}
	}
	if err != nil {
		r.reason, r.detail = reasonUnreachable, "reading the answer: "+err.Error()
		return r
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(out, &e)
		r.reason, r.detail = e.Error, e.Message
		if r.reason == "" {
			r.reason = fmt.Sprintf("http_%d", resp.StatusCode)
		}
	}
	return r
}

// decode reads a successful answer into v; a body that does not parse
// turns r into a failure.
func (r *result) decode(v any) bool {
	if !r.ok() {
		return false
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		r.reason, r.detail = reasonBadResponse, err.Error()
		return false
	}
	return true
}

// step is the record of r.
func (s *Service) step(action string, r result) Step {
	st := Step{Action: action, Outcome: OutcomeOK, HTTPStatus: r.status, Receipt: r.receipt, Time: s.now().UTC()}
	if !r.ok() {
		st.Outcome, st.Error = OutcomeFailed, r.reason
		if r.detail != "" {
			st.Error += ": " + r.detail
		}
	}
	return st
}

// covers reports whether the contract the caller would use for action at
// callee grants amount in currency.
func (s *Service) covers(callee, action string, amount int64, currency string) bool {
	return s.grants(callee, scope.Request{Action: action, Amount: amount, Currency: currency, HasAmount: true})
}

// coversQty reports whether the contract the caller would use for action
// at callee grants a quantity of qty.
func (s *Service) coversQty(callee, action string, qty int64) bool {
	return s.grants(callee, scope.Request{Action: action, Quantity: qty, HasQuantity: true})
}

func (s *Service) grants(callee string, req scope.Request) bool {
	k, err := s.caller.Pick(callee, req.Action)
	if err != nil {
		return false
	}
	return scope.Grants(k.Statement.Scopes, req).Allowed
}

// Inventory.

type reserveLine struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

func (s *Service) reserve(ctx context.Context, o *Order) (string, result) {
	lines := make([]reserveLine, len(o.Items))
	for i, it := range o.Items {
		lines[i] = reserveLine{SKU: it.SKU, Qty: it.Qty}
	}
	req := struct {
		OrderID    string        `json:"order_id"`
		Lines      []reserveLine `json:"lines"`
		TTLSeconds int64         `json:"ttl_seconds"`
	}{o.Ref, lines, int64(s.cfg.ReservationTTL.seconds())}
	r := s.retry(ctx, time.Duration(s.cfg.StepRetry), s.cfg.InventoryURL+"/v1/inventory/reserve", s.cfg.InventoryDID, ActionReserve, req)
	var resp struct {
		ReservationID string `json:"reservation_id"`
	}
	if r.decode(&resp) && resp.ReservationID == "" {
		r.reason = reasonBadResponse
	}
	return resp.ReservationID, r
}

func (s *Service) release(ctx context.Context, o *Order) result {
	req := struct {
		ReservationID string `json:"reservation_id"`
	}{o.ReservationID}
	return s.retry(ctx, time.Duration(s.cfg.StepRetry), s.cfg.InventoryURL+"/v1/inventory/release", s.cfg.InventoryDID, ActionRelease, req)
}

// consume takes the order's paid-for stock out of inventory. It is
// idempotent at the callee, so it is retried like a release.
func (s *Service) consume(ctx context.Context, o *Order) result {
	req := struct {
		ReservationID string `json:"reservation_id"`
	}{o.ReservationID}
	return s.retry(ctx, time.Duration(s.cfg.StepRetry), s.cfg.InventoryURL+"/v1/inventory/consume", s.cfg.InventoryDID, ActionConsume, req)
}

// Payment. The idempotency keys derive from the order's ref, so a retry
// never charges (or refunds) twice.

func (s *Service) charge(ctx context.Context, o *Order, card string) (string, result) {
	req := struct {
		OrderID        string `json:"order_id"`
		IdempotencyKey string `json:"idempotency_key"`
		Amount         int64  `json:"amount"`
		Currency       string `json:"currency"`
		Card           string `json:"card"`
	}{o.Ref, "charge-" + o.Ref, o.Amount, o.Currency, card}
	// The idempotency key makes a retry safe, so a payment agent that is
	// down or restarting is retried with backoff before the order is
	// compensated: whatever it did before it went away, the retry gets
	// that first answer and charges nothing more.
	r := s.retry(ctx, time.Duration(s.cfg.ChargeRetry), s.cfg.PaymentURL+"/v1/payment/charge", s.cfg.PaymentDID, ActionCharge, req)
	var resp struct {
		ChargeID string `json:"charge_id"`
		Status   string `json:"status"`
	}
	if r.decode(&resp) && (resp.ChargeID == "" || resp.Status != "succeeded") {
		r.reason, r.detail = reasonNotSucceeded, "charge status "+resp.Status
	}
	return resp.ChargeID, r
}

// retry calls until the answer is not transient or window has passed,
// backing off from 100ms to 2s between calls. Only idempotent calls may
// be retried: the callee may have acted on an attempt whose answer was
// lost.
func (s *Service) retry(ctx context.Context, window time.Duration, url, callee, action string, req any) result {
	for delay, deadline := 100*time.Millisecond, time.Now().Add(window); ; delay = min(2*delay, 2*time.Second) {
		r := s.call(ctx, url, callee, action, req)
		if !transient(r) || time.Now().Add(delay).After(deadline) || ctx.Err() != nil {
			return r
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
}

// transient reports whether a call failed in a way a retry may fix: no
// answer, or the callee (or its ledger) unavailable.
func transient(r result) bool {
	return r.reason == reasonUnreachable || r.status == http.StatusServiceUnavailable || r.status == http.StatusBadGateway
}

func (s *Service) refund(ctx context.Context, o *Order) (string, result) {
	req := struct {
		ChargeID       string `json:"charge_id"`
		Amount         int64  `json:"amount"`
		Currency       string `json:"currency"`
		IdempotencyKey string `json:"idempotency_key"`
	}{o.ChargeID, o.Amount, o.Currency, "refund-" + o.Ref}
	r := s.retry(ctx, time.Duration(s.cfg.StepRetry), s.cfg.PaymentURL+"/v1/payment/refund", s.cfg.PaymentDID, ActionRefund, req)
	var resp struct {
		RefundID string `json:"refund_id"`
		Status   string `json:"status"`
	}
	if r.decode(&resp) && (resp.RefundID == "" || resp.Status != "succeeded") {
		r.reason, r.detail = reasonNotSucceeded, "refund status "+resp.Status
	}
	return resp.RefundID, r
}

func (d Duration) seconds() float64 { return float64(d) / 1e9 }
