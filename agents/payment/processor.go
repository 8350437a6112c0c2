package payment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync/atomic"
)

// Charge is what the payment agent asks a processor to charge. Card is the
// full card number: it goes to the processor and nowhere else.
type Charge struct {
	IdempotencyKey string // unique per charge; a processor dedupes on it
	OrderID        string
	Amount         int64 // minor units
	Currency       string
	Card           string
}

// Refund is what the payment agent asks a processor to refund.
type Refund struct {
	IdempotencyKey    string
	ChargeProcessorID string // the processor's id of the charge
	Amount            int64  // minor units
	Currency          string
}

// ProcessorResult is a processor's answer. A declined charge or refused
// refund is a result with Approved false and a Reason, not an error; an
// error means the outcome is unknown and the call may be retried with the
// same idempotency key.
type ProcessorResult struct {
	ID       string
	Approved bool
	Reason   string
}

// Processor moves the money. Implementations must dedupe on the
// idempotency key: the agent may call again with the same key after a
// crash left an attempt unfinished.
type Processor interface {
	Charge(ctx context.Context, c Charge) (ProcessorResult, error)
	Refund(ctx context.Context, r Refund) (ProcessorResult, error)
}

// Test cards of the simulated processor.
const (
	CardDeclined          = "4000000000000002" // declines: card_declined
	CardInsufficientFunds = "4000000000009995" // declines: insufficient_funds
	CardApproved          = "4242424242424242" // approves (as does any other card)
)

// Simulated is a deterministic processor with no network: the test cards
// above decline, every other card approves, and its ids derive from the
// idempotency key, so a repeated call gives the same answer. It counts its
// calls. It is safe for concurrent use.
type Simulated struct {
	charges atomic.Int64
	refunds atomic.Int64
}

// NewSimulated returns a simulated processor.
func NewSimulated() *Simulated { return &Simulated{} }

// Charge charges c, or declines a test card.
func (p *Simulated) Charge(ctx context.Context, c Charge) (ProcessorResult, error) {
	p.charges.Add(1)
	if err := ctx.Err(); err != nil {
		return ProcessorResult{}, err
	}
	res := ProcessorResult{ID: simID("sim_ch_", c.IdempotencyKey), Approved: true}
	switch c.Card {
	case CardDeclined:
		res.Approved, res.Reason = false, ReasonCardDeclined
	case CardInsufficientFunds:
		res.Approved, res.Reason = false, ReasonInsufficientFunds
	}
	return res, nil
}

// Refund refunds r; it always succeeds.
func (p *Simulated) Refund(ctx context.Context, r Refund) (ProcessorResult, error) {
	p.refunds.Add(1)
	if err := ctx.Err(); err != nil {
		return ProcessorResult{}, err
	}
	return ProcessorResult{ID: simID("sim_re_", r.IdempotencyKey), Approved: true}, nil
}

// ChargeCalls is how many times Charge was called.
func (p *Simulated) ChargeCalls() int64 { return p.charges.Load() }

// RefundCalls is how many times Refund was called.
func (p *Simulated) RefundCalls() int64 { return p.refunds.Load() }

func simID(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:])
}

// The processor's decline reasons, in a charge's decline_reason.
const (
	// ReasonCardDeclined: the processor declined the card.
	ReasonCardDeclined = "card_declined"
	// ReasonInsufficientFunds: the card has not enough funds.
	ReasonInsufficientFunds = "insufficient_funds"
)
