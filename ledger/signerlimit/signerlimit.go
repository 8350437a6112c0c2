// Package signerlimit bounds how fast each signer may write to the ledger:
// a token bucket per signer (golang.org/x/time/rate), held in a bounded LRU
// so that a flood of distinct signers cannot grow memory without limit.
//
// The limiter is asked twice per entry. Peek runs before the signature is
// verified, on the signer the entry claims; it takes no token, so a forged
// claim can never spend a victim's budget, but a signer that is already
// over its budget is refused without an Ed25519 verification. Take runs
// after the signature verifies and spends one token of the proven signer.
// See docs/protocol.md, "Rate limits".
package signerlimit

import (
	"errors"
	"fmt"
	"math"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// ErrLimited is wrapped by every refusal of a signer over its budget.
var ErrLimited = errors.New("signer over its write rate")

// Exceeded is a refusal of one entry: its signer is over budget.
type Exceeded struct {
	Signer string
	// RetryAfter is when the signer will have a token again (at least 1s,
	// as Retry-After counts whole seconds).
	RetryAfter time.Duration
}

func (e *Exceeded) Error() string {
	return fmt.Sprintf("%v: %s may write again in %v", ErrLimited, e.Signer, e.RetryAfter)
}

// Unwrap returns ErrLimited.
func (e *Exceeded) Unwrap() error { return ErrLimited }

// DefaultSigners is the number of signers whose buckets are kept. A signer
// evicted from the LRU starts again with a full bucket, so the bound must
// exceed the number of signers writing at once.
const DefaultSigners = 4096

// Limits holds one token bucket per signer. A nil *Limits allows
// everything. It is safe for concurrent use.
type Limits struct {
	rate    rate.Limit
	burst   int
	exempt  func(signer string) bool
	buckets *lru.Cache[string, *rate.Limiter]
	now     func() time.Time
}

// Options configures Limits.
type Options struct {
	// Rate is each signer's sustained rate in entries per second, and
	// Burst the most it may write at once. Either zero disables limits
	// (New returns nil).
	Rate  float64
	Burst int
	// Signers bounds how many buckets are kept (default DefaultSigners).
	Signers int
	// Exempt reports signers that are never limited (the authority).
	Exempt func(signer string) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// New returns the limits of o, or nil when o disables them.
func New(o Options) (*Limits, error) {
	if o.Rate < 0 || o.Burst < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("signer rate %v and burst %d must be finite and not negative", o.Rate, o.Burst)
	}
	if o.Rate == 0 || o.Burst == 0 {
		return nil, nil
	}
	if o.Signers <= 0 {
		o.Signers = DefaultSigners
	}
	if o.Exempt == nil {
		o.Exempt = func(string) bool { return false }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c, err := lru.New[string, *rate.Limiter](o.Signers)
	if err != nil {
		return nil, fmt.Errorf("signer limits: %w", err)
	}
	return &Limits{rate: rate.Limit(o.Rate), burst: o.Burst, exempt: o.Exempt, buckets: c, now: o.Now}, nil
}

// Peek refuses a signer that has no token left, without spending one.
// It is meant for the claimed signer of an entry whose signature is not
// yet verified. Errors are *Exceeded.
func (l *Limits) Peek(signer string) error {
	if l == nil || l.exempt(signer) {
		return nil
	}
	b, ok := l.buckets.Get(signer)
	if !ok {
		return nil // a signer with no bucket has a full one
	}
	now := l.now()
	if b.TokensAt(now) >= 1 {
		return nil
	}
	return l.exceeded(signer, b, now)
}

// Take spends one token of signer, whose signature MUST have been
// verified, or refuses it. Errors are *Exceeded.
func (l *Limits) Take(signer string) error {
	if l == nil || l.exempt(signer) {
		return nil
	}
	b, ok := l.buckets.Get(signer)
	if !ok {
		b = rate.NewLimiter(l.rate, l.burst)
		if prev, found, _ := l.buckets.PeekOrAdd(signer, b); found {
			b = prev
		}
	}
	now := l.now()
	if b.AllowN(now, 1) {
		return nil
	}
	return l.exceeded(signer, b, now)
}

// exceeded builds the refusal, with when the next token comes.
func (l *Limits) exceeded(signer string, b *rate.Limiter, now time.Time) *Exceeded {
	missing := 1 - b.TokensAt(now)
	wait := time.Duration(missing / float64(l.rate) * float64(time.Second))
	// Round up to whole seconds, at least one.
	wait = max(time.Second, (wait+time.Second-1)/time.Second*time.Second)
	return &Exceeded{Signer: signer, RetryAfter: wait}
}
