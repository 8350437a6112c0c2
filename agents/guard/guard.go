// Package guard is the enforcement point of an agent: net/http middleware
// that lets a request reach its handler only when every check of
// docs/protocol.md §9 holds, and only after the agent's approval is
// durably in the ledger.
//
// In order, failing closed at each step:
//  1. the body is within bounds; the RFC 9421 signature verifies against
//     the caller's did:key, the body matches Content-Digest, created is
//     within the skew window, and the nonce is new (401);
//  2. the contract named in Ledger-Contract is in the followed log, and a
//     tlog-proof it carries is consistent with it (403, or 503 if the log
//     view is stale or caught forking);
//  3. the contract is the authority's, its subject is the signer, its
//     audience is this agent, and it is valid now (403);
//  4. no revocation of it is in the view, and the view is fresh (403, 503);
//  5. a scope covers the action and every constraint holds (403);
//  6. the agent's signed action entry is appended and durable (503 if not);
//     its index goes back in Ledger-Receipt, and only then does the handler
//     run.
//
// Every refusal is JSON {"error":"<reason>","message":"..."}, a log line
// with the caller's DID, the contract and the reason, and a count in
// agent_refusals_total{reason}. Nothing secret is logged.
package guard

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/agents/replay"
	"github.com/agentledger/agentledger/internal/muxerr"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// The reasons the guard itself refuses with. It also refuses with
// httpsig's reasons (the signature), verify's (the contract and the log
// view), scope's (the grant) and wire.ReasonBadBody.
const (
	// ReasonBodyTooLarge: the body is over Options.MaxBody (413).
	ReasonBodyTooLarge = "body_too_large"
	// ReasonContractHeaderMalformed: Ledger-Contract does not parse (401).
	ReasonContractHeaderMalformed = "contract_header_malformed"
	// ReasonReplay: the signer's nonce was seen before (401).
	ReasonReplay = "replay"
	// ReasonReplayStoreUnavailable: the nonce could not be recorded (503).
	ReasonReplayStoreUnavailable = "replay_store_unavailable"
	// ReasonLedgerUnavailable: the agent's approval could not be made
	// durable in the ledger, so nothing was done (503).
	ReasonLedgerUnavailable = "ledger_unavailable"
)

// DefaultMaxBody bounds a request body when Options.MaxBody is zero.
const DefaultMaxBody = 64 << 10

// Values reads the constrained values (amount, currency, quantity) of a
// request from its verified body. The guard fills in the action.
type Values func(r *http.Request, body []byte) (scope.Request, error)

// NoValues is Values for actions with no constrained values.
func NoValues(*http.Request, []byte) (scope.Request, error) { return scope.Request{}, nil }

// Approval is what a guarded handler may rely on.
type Approval struct {
	Caller   string // the caller's did:key
	Contract *verify.Contract
	Request  scope.Request
	Receipt  receipt.Receipt
	Nonce    string
	Body     []byte // the verified body
}

// Handler serves an approved request. The approval's receipt is already
// in the ledger.
type Handler func(w http.ResponseWriter, r *http.Request, a *Approval)

// Recorder writes the agent's approval to the ledger and returns its
// durable place (receipt.Writer does). It MUST NOT return before the entry
// is durable, and any error means the action must not happen.
type Recorder interface {
	Record(ctx context.Context, a statement.Action) (receipt.Receipt, error)
	DID() string
}

// Options configures a Guard. All but Logger, Registerer, MaxBody and Now
// are required.
type Options struct {
	Follower   *verify.Follower
	Replay     *replay.Store
	Receipts   Recorder
	Verifier   *httpsig.Verifier
	Logger     zerolog.Logger
	Registerer prometheus.Registerer
	MaxBody    int64
	Now        func() time.Time
}

// Guard protects an agent's handlers.
type Guard struct {
	o         Options
	self      string
	refusals  *prometheus.CounterVec
	approvals *prometheus.CounterVec

	mu      sync.Mutex
	actions []string // every action Protect was called for, sorted
}

// New returns a Guard.
func New(o Options) (*Guard, error) {
	if o.Follower == nil || o.Replay == nil || o.Receipts == nil || o.Verifier == nil {
		return nil, errors.New("guard: Follower, Replay, Receipts and Verifier are required")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Guard{o: o, self: o.Receipts.DID(),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agent_refusals_total", Help: "Requests refused by the guard, by reason.",
		}, []string{"reason"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agent_approvals_total", Help: "Requests approved, with their receipt in the ledger, by action.",
		}, []string{"action"}),
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(g.refusals); err != nil {
			return nil, err
		}
		if err := o.Registerer.Register(g.approvals); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// refusal is one refused request, as the guard answers and logs it.
type refusal struct {
	status     int
	reason     string
	detail     string
	caller     string
	contract   string
	retryAfter time.Duration // passed on as Retry-After when set
}

// Protect returns a handler that serves action (a scope name such as
// "payment:charge") through h only when the request passes every check.
func (g *Guard) Protect(action string, values Values, h Handler) http.Handler {
	if _, _, err := scope.ParseAction(action); err != nil {
		panic("guard: invalid action " + action) // a programming error, caught at start-up
	}
	g.mu.Lock()
	if i, found := slices.BinarySearch(g.actions, action); !found {
		g.actions = slices.Insert(g.actions, i, action)
	}
	g.mu.Unlock()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ref := g.check(r.Context(), w, r, action, values)
		if ref != nil {
			g.refuse(w, ref)
			return
		}
		v, err := contractref.FormatReceipt(a.Receipt.Index, a.Receipt.LeafHash)
		if err == nil {
			w.Header().Set(contractref.ReceiptHeader, v)
		}
		g.approvals.WithLabelValues(action).Inc()
		h(w, r, a)
	})
}

// Actions lists, sorted, every action the guard protects a handler of:
// what its agent serves, which its registration must declare.
func (g *Guard) Actions() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.actions)
}

// check runs steps 1 to 6 and returns the approval, or why not.
func (g *Guard) check(ctx context.Context, w http.ResponseWriter, r *http.Request, action string, values Values) (*Approval, *refusal) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.o.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &refusal{status: http.StatusRequestEntityTooLarge, reason: ReasonBodyTooLarge, detail: "request body over the limit"}
		}
		return nil, &refusal{status: http.StatusBadRequest, reason: wire.ReasonBadBody, detail: "reading the request body failed"}
	}
	// Step 1: who is asking, and is this request new.
	sig, err := g.o.Verifier.Verify(r, body)
	if err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, httpsig.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		return nil, &refusal{status: status, reason: httpsig.Reason(err), detail: err.Error()}
	}
	caller := sig.KeyID
	ref, bundle, err := contractref.Parse(sig.Contract)
	if err != nil {
		return nil, &refusal{status: http.StatusUnauthorized, reason: ReasonContractHeaderMalformed, detail: err.Error(), caller: caller}
	}
	// Keep the nonce for as long as the signature could still verify.
	if err := g.o.Replay.Remember(caller, sig.Nonce, sig.ReplayUntil); err != nil {
		if errors.Is(err, replay.ErrReplay) {
			return nil, &refusal{status: http.StatusUnauthorized, reason: ReasonReplay, detail: "this signed request was already received", caller: caller}
		}
		return nil, &refusal{status: http.StatusServiceUnavailable, reason: ReasonReplayStoreUnavailable, detail: "cannot record the nonce", caller: caller}
	}
	// Step 2: the contract is in the log.
	c, err := g.contract(ctx, ref, bundle)
	if err != nil {
		return nil, g.verifyRefusal(err, caller, ref.LeafHash.String())
	}
	// Steps 3 to 5: the contract covers this request, now.
	req, err := values(r, body)
	if err != nil {
		return nil, &refusal{status: http.StatusBadRequest, reason: string(scope.ReasonBadRequest), detail: err.Error(), caller: caller, contract: c.Statement.ID}
	}
	req.Action = action
	d := g.o.Follower.Authorize(c, caller, g.self, req, g.o.Now())
	if !d.Allowed {
		return nil, g.verifyRefusal(&verify.Refusal{Reason: d.Reason, Detail: d.Detail}, caller, c.Statement.ID)
	}
	// Step 6: the approval is in the ledger before anything is done.
	st := statement.Action{Caller: caller, Contract: statement.ContractRef{Index: c.Index, LeafHash: c.LeafHash},
		Action: action, ArgsDigest: statement.ArgsDigestPrefix + hex.EncodeToString(sig.BodyDigest[:]), Nonce: sig.Nonce, Time: g.o.Now().UTC()}
	if req.HasAmount {
		st.Amount, st.Currency = &req.Amount, req.Currency
	}
	if req.HasQuantity {
		st.Quantity = &req.Quantity
	}
	rec, err := g.o.Receipts.Record(ctx, st)
	if err != nil {
		r := &refusal{status: http.StatusServiceUnavailable, reason: ReasonLedgerUnavailable,
			detail: "the approval could not be recorded in the ledger; nothing was done", caller: caller, contract: c.Statement.ID}
		// The ledger's own Retry-After (this agent over its write rate, or
		// a ledger asking to be left alone) is the caller's best hint.
		var api *client.APIError
		if errors.As(err, &api) {
			r.retryAfter = api.RetryAfter
		}
		return nil, r
	}
	return &Approval{Caller: caller, Contract: c, Request: req, Receipt: rec, Nonce: sig.Nonce, Body: body}, nil
}

// contract finds the contract a request names. A reference the view does
// not hold yet, beyond the view's size, gets one refresh (first contact
// with a newly issued contract).
func (g *Guard) contract(ctx context.Context, ref statement.ContractRef, bundle []byte) (*verify.Contract, error) {
	// The common case: the view already holds the contract; an attached
	// proof adds nothing then and is not even parsed.
	if c, err := g.o.Follower.ContractByRef(ref); err == nil {
		return c, nil
	}
	if bundle != nil {
		b, err := proofs.ParseBundle(bundle)
		if err != nil {
			return nil, &verify.Refusal{Reason: verify.ReasonContractUnknown, Detail: "the contract's tlog-proof does not parse"}
		}
		if b.Index != ref.Index || proofs.LeafHash(b.Extra) != ref.LeafHash {
			return nil, &verify.Refusal{Reason: verify.ReasonContractUnknown, Detail: "the tlog-proof is not for the named contract"}
		}
		return g.o.Follower.ContractFromBundle(ctx, b)
	}
	c, err := g.o.Follower.ContractByRef(ref)
	if err != nil && ref.Index >= g.o.Follower.Checkpoint().Size {
		if rerr := g.o.Follower.Refresh(ctx); rerr == nil {
			c, err = g.o.Follower.ContractByRef(ref)
		}
	}
	return c, err
}

// verifyRefusal maps a verify refusal to its HTTP status: the log view
// being unusable is the ledger being unavailable (503); the rest are
// authorization failures (403).
func (g *Guard) verifyRefusal(err error, caller, contract string) *refusal {
	reason := verify.ReasonOf(err)
	status := http.StatusForbidden
	switch reason {
	case verify.ReasonCheckpointStale, verify.ReasonLogInconsistent, verify.ReasonInternal:
		status = http.StatusServiceUnavailable
	}
	detail := err.Error()
	var r *verify.Refusal
	if errors.As(err, &r) {
		detail = r.Detail
	}
	return &refusal{status: status, reason: reason, detail: detail, caller: caller, contract: contract}
}

func (g *Guard) refuse(w http.ResponseWriter, r *refusal) {
	g.refusals.WithLabelValues(r.reason).Inc()
	g.o.Logger.Info().Str("caller", r.caller).Str("contract", r.contract).Str("reason", r.reason).
		Int("status", r.status).Msg("request refused")
	if r.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((r.retryAfter+time.Second-1)/time.Second)))
	}
	muxerr.Refuse(w, r.status, r.reason, r.detail)
}
