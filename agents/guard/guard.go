// Package guard is the enforcement point of an agent: net/http middleware
// that lets a request reach its handler only when every check of
// docs/protocol.md §9 holds, and only after the agent's approval is
// durably in the ledger.
//
// In order, failing closed at each step:
//  1. the body is within bounds; the RFC 9421 signature verifies against
//     the caller's did:key, the body matches Content-Digest, and created
//     is within the skew window (401);
//  2. the contract named in Ledger-Contract is in the followed log, and a
//     tlog-proof it carries is consistent with it (403, or 503 if the log
//     view is stale or caught forking);
//  3. the contract is the authority's, its subject is the signer, its
//     audience is this agent, and it is valid now (403);
//  4. no revocation of it is in the view, and the view is fresh (403, 503);
//  5. a scope covers the action and every constraint holds (403);
//  6. the nonce breaks no nonce rule (statement.NonceWindow) with an
//     earlier approval of this caller's (401; see Guard.remember);
//  7. for an action that acts on an earlier one (a refund on its charge),
//     the agent's Bind finds that entry and may refuse with its own reason;
//     the entry goes into the approval as its target;
//  8. the agent's signed action entry is appended and durable (503 if not);
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
	// ReasonReplay: the signer's nonce was approved less than
	// statement.NonceWindow ago (401).
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
	Body     []byte              // the verified body
	Target   *statement.EntryRef // what the Bind found, in the action entry too; nil without one
	release  func()
}

// Bind is step 7 for an action that acts on an earlier action entry, such
// as a refund on its charge. It runs after the contract allowed the
// request and before the approval is recorded, so that the approval's
// action entry can name that entry (statement.Action.Target) and an
// auditor can check the business rule from the log alone.
//
// A Bind that refuses returns a *Refusal: the guard answers it, logs it
// and counts it like its own refusals, and records nothing. Any other
// error is answered 503 internal. A Binding's Release, if set, is called
// exactly once, after the handler returned or when the approval could not
// be recorded; a Bind can hold locks until then, so that what it checked
// still holds when the handler acts.
type Bind func(ctx context.Context, caller string, body []byte) (Binding, error)

// Binding is what a Bind found.
type Binding struct {
	Target  *statement.EntryRef
	Release func()
}

// Refusal is a Bind's refusal: Status, and {"error":Reason,"message":Detail}.
// A refusal MUST NOT tell a caller anything its contract does not entitle
// it to know, such as whether another caller's record exists.
type Refusal struct {
	Status int
	Reason string
	Detail string
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Detail }

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
	return g.ProtectBound(action, values, nil, h)
}

// ProtectBound is Protect for an action that acts on an earlier action
// entry: bind (step 7) finds it, or refuses, before the approval is
// recorded. A nil bind is Protect.
func (g *Guard) ProtectBound(action string, values Values, bind Bind, h Handler) http.Handler {
	if _, _, err := scope.ParseAction(action); err != nil {
		panic("guard: invalid action " + action) // a programming error, caught at start-up
	}
	g.mu.Lock()
	if i, found := slices.BinarySearch(g.actions, action); !found {
		g.actions = slices.Insert(g.actions, i, action)
	}
	g.mu.Unlock()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ref := g.check(r.Context(), w, r, action, values, bind)
		if ref != nil {
			g.refuse(w, ref)
			return
		}
		if a.release != nil {
			defer a.release()
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

// check runs steps 1 to 8 and returns the approval, or why not.
func (g *Guard) check(ctx context.Context, w http.ResponseWriter, r *http.Request, action string, values Values, bind Bind) (*Approval, *refusal) {
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
	// Step 6: the nonce is new under the nonce rule.
	at := g.o.Now().UTC()
	if no := g.remember(sig, at); no != nil {
		no.contract = c.Statement.ID
		return nil, no
	}
	// Step 7: the earlier entry this request acts on, if any.
	var b Binding
	if bind != nil {
		var err error
		if b, err = bind(ctx, caller, body); err != nil {
			var br *Refusal
			if errors.As(err, &br) {
				return nil, &refusal{status: br.Status, reason: br.Reason, detail: br.Detail, caller: caller, contract: c.Statement.ID}
			}
			return nil, &refusal{status: http.StatusServiceUnavailable, reason: verify.ReasonInternal,
				detail: "the agent could not check the request", caller: caller, contract: c.Statement.ID}
		}
	}
	// Step 8: the approval is in the ledger before anything is done.
	st := statement.Action{Target: b.Target, Caller: caller, Contract: statement.ContractRef{Index: c.Index, LeafHash: c.LeafHash},
		Action: action, ArgsDigest: statement.ArgsDigestPrefix + hex.EncodeToString(sig.BodyDigest[:]), Nonce: sig.Nonce, Time: at}
	if req.HasAmount {
		st.Amount, st.Currency = &req.Amount, req.Currency
	}
	if req.HasQuantity {
		st.Quantity = &req.Quantity
	}
	rec, err := g.o.Receipts.Record(ctx, st)
	if err != nil {
		if b.Release != nil {
			b.Release()
		}
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
	return &Approval{Caller: caller, Contract: c, Request: req, Receipt: rec, Nonce: sig.Nonce, Body: body,
		Target: b.Target, release: b.Release}, nil
}

// remember records the nonce of sig, a request the guard is about to
// approve with the recorded time at, or refuses it. It is how the guard
// keeps the nonce rule (statement.NonceWindow, W): no two approvals of one
// caller's nonce recorded less than W apart.
//
// The guard reads its clock once for the nonce and the action entry: at is
// both the time the store judges the nonce against and the action's
// recorded time. It remembers (caller, nonce) until
//
//	u = max(statement.NonceReusableAt(at), sig.ReplayUntil + 1ns) >= at + W.
//
// Let approvals 1 and 2 of one nonce from one caller be recorded at t1 and
// t2, with 1's Remember committed first (the store admits one of two
// concurrent Remembers). 2 was admitted, so at t2 the store no longer
// remembered 1: t2 >= u1 >= t1 + W, hence t2 - t1 >= W and the two do not
// clash. A clock stepped back only refuses more (t2 < t1 < u1). This holds
// across restarts, since the store is persistent (its Badger TTL counts
// the same span plus a second on the wall clock, so it never drops a key
// early for an agent on the wall clock), and whatever created
// and expires the caller signed: they enter u only through ReplayUntil,
// which only lengthens it. The second term keeps the same signed request
// refused for as long as its signature verifies, whatever the Verifier's
// skew.
func (g *Guard) remember(sig *httpsig.Verified, at time.Time) *refusal {
	until := statement.NonceReusableAt(at)
	if last := sig.ReplayUntil.Add(time.Nanosecond); last.After(until) {
		until = last // the signature still verifies at ReplayUntil itself
	}
	err := g.o.Replay.Remember(sig.KeyID, sig.Nonce, at, until)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replay.ErrReplay):
		return &refusal{status: http.StatusUnauthorized, reason: ReasonReplay, caller: sig.KeyID,
			detail: "this nonce was already used by this caller within " + statement.NonceWindow.String()}
	default:
		return &refusal{status: http.StatusServiceUnavailable, reason: ReasonReplayStoreUnavailable, detail: "cannot record the nonce", caller: sig.KeyID}
	}
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
