// Package payment is the payment agent's business logic behind its guard:
// charges and refunds through a Processor, idempotent by the caller's
// idempotency key, kept in the agent's own Badger store, and reconciled
// against the action entries the agent signed in the ledger.
//
// The guard (package agents/guard) has already checked the request and
// written the agent's action entry before a handler here runs; the
// handler records what it did with that entry (a ReceiptRecord), so that
// Reconcile can match every action entry with a record and every record
// with an action entry.
//
// A refund is checked earlier, by RefundBind, before its approval is
// written: a caller refunds only a charge it made, within what is left of
// it, and the approval names the charge's action entry, so that the
// auditor (verify/audit) and Reconcile check the same rule from the log.
package payment

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// The actions this agent serves.
const (
	ActionCharge = "payment:charge"
	ActionRefund = "payment:refund"
)

// MaxBody bounds the request bodies the payment agent parses.
const MaxBody = jsonapi.MaxRequestBytes

// maxIDLen bounds order ids, idempotency keys and charge ids.
const maxIDLen = 128

// Refusal reasons of the payment agent's handlers, besides jsonapi's
// bad_request and request_too_large.
const (
	ReasonIdempotencyConflict  = "idempotency_conflict"
	ReasonProcessorUnavailable = "processor_unavailable"
	ReasonRefundNotYourCharge  = "refund_not_your_charge"
	ReasonChargeNotRefundable  = "charge_not_refundable"
	ReasonCurrencyMismatch     = "currency_mismatch"
	ReasonRefundExceedsCharge  = "refund_exceeds_charge"
	ReasonStoreUnavailable     = "store_unavailable"
)

// Options configures a Service. Store, Processor and DID are required.
type Options struct {
	Store     *Store
	Processor Processor
	DID       string // the agent's own did:key, the signer of its action entries
	Now       func() time.Time
}

// Service serves charges and refunds. It is safe for concurrent use.
type Service struct {
	store *Store
	proc  Processor
	did   string
	now   func() time.Time
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Processor == nil || o.DID == "" {
		return nil, errors.New("payment: Store, Processor and DID are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: o.Store, proc: o.Processor, did: o.DID, now: o.Now}, nil
}

// chargeRequest is the body of payment:charge.
type chargeRequest struct {
	OrderID        string `json:"order_id"`
	IdempotencyKey string `json:"idempotency_key"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	Card           string `json:"card"`
}

// refundRequest is the body of payment:refund.
type refundRequest struct {
	ChargeID       string `json:"charge_id"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	IdempotencyKey string `json:"idempotency_key"`
}

func parseCharge(body []byte) (chargeRequest, error) {
	var c chargeRequest
	if err := jsonapi.Decode(body, MaxBody, &c); err != nil {
		return c, err
	}
	if err := checkMoney(c.Amount, c.Currency); err != nil {
		return c, err
	}
	if !jsonapi.ValidKey(c.OrderID, maxIDLen) {
		return c, errors.New("order_id: want 1 to 128 of [A-Za-z0-9_.:-]")
	}
	if !jsonapi.ValidKey(c.IdempotencyKey, maxIDLen) {
		return c, errors.New("idempotency_key: want 1 to 128 of [A-Za-z0-9_.:-]")
	}
	if err := customer.CheckCard(c.Card); err != nil {
		return c, fmt.Errorf("card: %w", err)
	}
	return c, nil
}

func parseRefund(body []byte) (refundRequest, error) {
	var r refundRequest
	if err := jsonapi.Decode(body, MaxBody, &r); err != nil {
		return r, err
	}
	if err := checkMoney(r.Amount, r.Currency); err != nil {
		return r, err
	}
	if !jsonapi.ValidKey(r.ChargeID, maxIDLen) {
		return r, errors.New("charge_id: want 1 to 128 of [A-Za-z0-9_.:-]")
	}
	if !jsonapi.ValidKey(r.IdempotencyKey, maxIDLen) {
		return r, errors.New("idempotency_key: want 1 to 128 of [A-Za-z0-9_.:-]")
	}
	return r, nil
}

func checkMoney(amount int64, currency string) error {
	if amount <= 0 {
		return errors.New("amount: want a positive integer of minor units")
	}
	if _, ok := scope.Exponent(currency); !ok {
		return fmt.Errorf("currency: %q is not a known upper-case ISO 4217 code", currency)
	}
	return nil
}

// ChargeValues is the guard.Values of payment:charge: the amount and
// currency the guard checks against max_<amount><currency>. A body that
// does not parse makes the guard answer 400.
func ChargeValues(_ *http.Request, body []byte) (scope.Request, error) {
	c, err := parseCharge(body)
	if err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Amount: c.Amount, Currency: c.Currency, HasAmount: true}, nil
}

// RefundValues is the guard.Values of payment:refund.
func RefundValues(_ *http.Request, body []byte) (scope.Request, error) {
	r, err := parseRefund(body)
	if err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Amount: r.Amount, Currency: r.Currency, HasAmount: true}, nil
}

var _ guard.Values = ChargeValues
var _ guard.Values = RefundValues

// newReceipt starts the record of what was done with approval a.
func (s *Service) newReceipt(action string, a *guard.Approval) ReceiptRecord {
	return ReceiptRecord{Index: a.Receipt.Index, Action: action, Caller: a.Caller,
		ArgsDigest: argsDigest(a.Body), Time: s.now().UTC()}
}

// argsDigest is the args_digest of a request body, as the guard writes it.
func argsDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return statement.ArgsDigestPrefix + hex.EncodeToString(sum[:])
}

// answer is a handler's reply: a status and a JSON body.
type answer struct {
	status int
	body   any
}

// refuse is the refusal {"error":reason,"message":msg} (docs/protocol.md §9).
func refuse(status int, reason, msg string) answer {
	return answer{status, jsonapi.Error{Error: reason, Message: msg}}
}

// badRequest refuses a body the agent cannot use, with the status and
// reason jsonapi gives it (400 bad_request, 413 request_too_large).
func badRequest(err error) answer {
	var re *jsonapi.RequestError
	if !errors.As(jsonapi.Invalid(err), &re) {
		return refuse(http.StatusBadRequest, jsonapi.ReasonBadRequest, err.Error())
	}
	return refuse(re.Status, re.Reason, re.Error())
}

// finish records rc with outcome and returns ans. If the record cannot be
// written the client learns of it (a retry with the same key is safe).
func (s *Service) finish(rc ReceiptRecord, outcome string, ans answer) answer {
	rc.Outcome = outcome
	if err := s.store.apply(write{receipt: &rc}); err != nil {
		return storeFailed()
	}
	return ans
}

func storeFailed() answer {
	return refuse(http.StatusServiceUnavailable, ReasonStoreUnavailable, "the payment store failed; retry with the same idempotency key")
}

func serve(w http.ResponseWriter, ans answer) { jsonapi.WriteJSON(w, ans.status, ans.body) }

// newID returns prefix and 128 random bits in hex.
func newID(prefix string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b[:]), nil
}
