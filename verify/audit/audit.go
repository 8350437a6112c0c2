// Package audit checks an agentledger log after the fact: one entry at a
// time, in index order, against the write rules of protocol.md §1, the
// statement rules of §1a, the scopes of §1b and the checks an agent makes
// before it acts (§9). It keeps a small, JSON-serializable State so that a
// later run can Resume where the last one stopped.
//
// The package is pure (no I/O, no storage, nothing from the server side)
// so that an auditor can vendor it.
//
// # Rules and kinds
//
// Every entry:
//   - malformed_entry: the bytes are not a canonical envelope (§1);
//   - bad_signature: the signature does not verify;
//   - invalid_statement: the payload does not parse strictly (§1a).
//
// Write rules (§1), which the ledger enforces, so a violation here means the
// log holds an entry the ledger should have refused:
//   - not_authority: a registration or contract not signed by the authority;
//   - issuer_mismatch: a contract whose issuer is not its signer;
//   - name_taken, did_registered: a registration reusing a name or a DID;
//   - unknown_party: a contract whose subject or audience (Reason) is not a
//     registered agent;
//   - scope_not_served: a contract with a scope whose action its audience's
//     registration does not serve (a registration without serves serves
//     nothing);
//   - contract_id_taken: a contract reusing an id;
//   - unknown_contract: a revocation of a leaf hash that is no contract;
//   - not_issuer: a revocation by neither the authority nor the issuer;
//   - already_revoked: a second revocation of a contract;
//   - unregistered_signer: an action not signed by a registered agent;
//   - agent_mismatch: an action whose agent is not its signer;
//   - contract_not_in_log and not_audience, below: an action must name a
//     contract in the log whose audience is its signer.
//
// An entry that breaks a write rule takes no effect: a refused
// registration registers nobody, a refused contract cannot be relied on,
// and no further rule is checked for it.
//
// Registrations come before use (rule 3). Because entries are audited in
// index order, "registered" always means "registered at a lower index":
// contract parties are checked by unknown_party and action signers by
// unregistered_signer, and an action's caller that is not registered yet
// is unregistered_identity (Reason caller).
//
// Actions (§9); all that apply are reported:
//   - action_not_served: the action is not one its agent's registration
//     serves;
//   - unregistered_identity: the caller is not registered;
//   - nonce_reused: an earlier action of the same agent for the same
//     caller has the same nonce and a time less than
//     statement.NonceWindow from this one's, before or after (Detail names
//     its index). Only the recorded times count, so a caller cannot make
//     an agent that keeps the rule break it;
//   - contract_not_in_log: the contract reference is not a contract that
//     took effect at a lower index (Reason later_index, not_a_contract
//     or leaf_mismatch); the checks below need the contract and are
//     skipped;
//   - not_audience: the signer is not the contract's audience;
//   - not_subject: the caller is not the contract's subject;
//   - outside_validity: the action's time is outside the contract's
//     validity, widened by the skew (Reason not_yet_valid or expired);
//   - after_revocation: the contract was revoked at a lower index;
//   - not_covered: no granted scope covers the action with every
//     constraint holding; Reason is the scope reason (scope_missing,
//     amount_exceeded, currency_mismatch, quantity_exceeded,
//     constraint_value_missing, bad_request).
//
// Refunds (§10), checked for every payment:refund action whose signer
// passed the checks above, whatever its contract:
//   - refund_not_your_charge: the refund's target is not the entry of a
//     payment:charge at a lower index approved by the same agent for the
//     same caller (Reason no_charge, later_index, not_a_charge,
//     leaf_mismatch, other_agent or other_caller);
//   - refund_exceeds_charge: the refund is not in its charge's currency
//     (Reason currency_mismatch), or with the refunds counted before it
//     it is more than the charge's amount (Reason amount_exceeded).
//     Refunds of one charge with the same args_digest are one refund
//     retried and count once.
//
// An action an agent records on its own initiative names the contract of
// the request that triggered it (for example an inventory:restock after an
// order ran the stock low). Unless that contract grants the action too, it
// is reported as not_covered. That is intended for now: the audit holds
// every action to a contract that covers it.
package audit

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// Violation kinds.
const (
	KindMalformedEntry       = "malformed_entry"
	KindBadSignature         = "bad_signature"
	KindInvalidStatement     = "invalid_statement"
	KindNotAuthority         = "not_authority"
	KindIssuerMismatch       = "issuer_mismatch"
	KindNameTaken            = "name_taken"
	KindDIDRegistered        = "did_registered"
	KindUnknownParty         = "unknown_party"
	KindScopeNotServed       = "scope_not_served"
	KindContractIDTaken      = "contract_id_taken"
	KindUnknownContract      = "unknown_contract"
	KindNotIssuer            = "not_issuer"
	KindAlreadyRevoked       = "already_revoked"
	KindUnregisteredSigner   = "unregistered_signer"
	KindAgentMismatch        = "agent_mismatch"
	KindUnregisteredIdentity = "unregistered_identity"
	KindContractNotInLog     = "contract_not_in_log"
	KindNotAudience          = "not_audience"
	KindNotSubject           = "not_subject"
	KindOutsideValidity      = "outside_validity"
	KindAfterRevocation      = "after_revocation"
	KindNotCovered           = "not_covered"
	KindNonceReused          = "nonce_reused"
	KindRefundNotYourCharge  = "refund_not_your_charge"
	KindRefundExceedsCharge  = "refund_exceeds_charge"
	KindActionNotServed      = "action_not_served"
)

// Violation reasons: the finer cause a Violation's Reason gives for some
// kinds. KindNotCovered's reason is the scope package's instead.
const (
	// ReasonSubject and ReasonAudience: which party of a contract is not
	// registered (KindUnknownParty).
	ReasonSubject  = "subject"
	ReasonAudience = "audience"
	// ReasonCaller: the action's caller is not registered
	// (KindUnregisteredIdentity).
	ReasonCaller = "caller"
	// ReasonLaterIndex: the action names a contract at its own index or a
	// later one (KindContractNotInLog).
	ReasonLaterIndex = "later_index"
	// ReasonNotAContract: the action names an entry that is no contract
	// in force (KindContractNotInLog).
	ReasonNotAContract = "not_a_contract"
	// ReasonLeafMismatch: the named entry's leaf hash is not the action's
	// (KindContractNotInLog).
	ReasonLeafMismatch = "leaf_mismatch"
	// ReasonNotYetValid and ReasonExpired: the action's time is before the
	// contract's validity or after it (KindOutsideValidity).
	ReasonNotYetValid = "not_yet_valid"
	ReasonExpired     = "expired"
	// ReasonNoCharge: a refund names no target (KindRefundNotYourCharge).
	ReasonNoCharge = "no_charge"
	// ReasonNotACharge: a refund's target is no payment:charge action
	// entry (KindRefundNotYourCharge). A target at the refund's own index
	// or later is ReasonLaterIndex, and one whose leaf hash is not the
	// charge entry's is ReasonLeafMismatch.
	ReasonNotACharge = "not_a_charge"
	// ReasonOtherAgent: the charge was approved by another agent than the
	// refund (KindRefundNotYourCharge).
	ReasonOtherAgent = "other_agent"
	// ReasonOtherCaller: the charge was made for another caller than the
	// one asking for the refund (KindRefundNotYourCharge).
	ReasonOtherCaller = "other_caller"
	// ReasonRetryMismatch: a refund entry repeats the args_digest of one
	// counted before, so it claims to be its retry, but names another
	// amount or currency (KindRefundExceedsCharge).
	ReasonRetryMismatch = "retry_mismatch"
)

// MaxViolations is the most violations a State lists; further ones are
// only counted in State.DroppedViolations (and in Counts.Invalid).
const MaxViolations = 1 << 16

// ErrOutOfOrder is returned (wrapped) by Check for an index other than
// State().Next.
var ErrOutOfOrder = errors.New("audit: entry out of order")

// Engine audits a log entry by entry. It is not safe for concurrent use.
type Engine struct {
	skew  time.Duration
	limit int
	s     State
	// Derived from s.Contracts, not serialized.
	byIndex map[uint64]string // contract index -> leaf hash (base64)
	byID    map[string]uint64 // contract id -> index
}

// New returns an engine that audits a log from index 0. authority is the
// authority's did:key; skew widens each contract's validity window as in
// statement.Contract.ValidAt.
func New(authority string, skew time.Duration) *Engine {
	return &Engine{
		skew:  skew,
		limit: MaxViolations,
		s: State{Authority: authority, Agents: map[string]Agent{}, Names: map[string]uint64{},
			Contracts: map[string]Contract{}, Revoked: map[string]uint64{}, Nonces: map[string][]NonceUse{},
			Charges: Charges{}, Violations: []Violation{}},
		byIndex: map[uint64]string{},
		byID:    map[string]uint64{},
	}
}

// Resume returns an engine that goes on from s.Next with the state s. It
// refuses (ErrState) a state that is not internally consistent. With the
// same skew, auditing [0,n), then Resume from the State, then [n,m) ends
// in the same State as auditing [0,m) in one go.
//
// A state with actions but no Charges (one written before the refund
// rule) is refused too: resumed, it would call every later refund of an
// earlier charge not_a_charge. So is a state whose agents carry no serves
// list, written before registrations listed the actions they serve.
// Audit such a log again from index 0.
func Resume(s State, skew time.Duration) (*Engine, error) {
	if s.Charges == nil && s.Counts.Actions > 0 {
		return nil, fmt.Errorf("%w: no charges in a state of %d actions (written before the refund rule); audit again from index 0", ErrState, s.Counts.Actions)
	}
	s = s.clone()
	byIndex, byID, err := s.check()
	if err != nil {
		return nil, err
	}
	return &Engine{skew: skew, limit: MaxViolations, s: s, byIndex: byIndex, byID: byID}, nil
}

// State returns a deep copy of the engine's state.
func (e *Engine) State() State { return e.s.clone() }

// Check audits entry, the log entry at index. index must be State().Next:
// any other index is refused with an error wrapping ErrOutOfOrder and
// changes nothing, so the state always describes exactly [0, Next).
// Violations are recorded in the state, never returned as errors.
func (e *Engine) Check(index uint64, entry []byte) error {
	return e.CheckPrepared(index, Prepare(entry))
}

// Prepared is an entry whose context-free checks are done: its envelope
// parsed, its signature verified and its statement parsed. Prepare is safe
// to run concurrently, so an auditor can spread the signature checks over
// every core and feed CheckPrepared in index order.
type Prepared struct {
	entry []byte
	env   *envelope.Envelope
	st    any
	err   error  // the first failure
	kind  string // its violation kind
}

// Prepare runs the checks of entry that need no state.
func Prepare(entry []byte) Prepared {
	p := Prepared{entry: entry}
	env, err := envelope.Parse(entry)
	if err != nil {
		p.err, p.kind = err, KindMalformedEntry
		return p
	}
	p.env = env
	if _, err := env.Verify(); err != nil {
		p.err, p.kind = err, KindBadSignature
		return p
	}
	if p.st, err = statement.Parse(env.Kind, env.Payload); err != nil {
		p.err, p.kind = err, KindInvalidStatement
	}
	return p
}

// CheckPrepared is Check for an entry already through Prepare.
func (e *Engine) CheckPrepared(index uint64, p Prepared) error {
	if index != e.s.Next {
		return fmt.Errorf("%w: got index %d, want %d", ErrOutOfOrder, index, e.s.Next)
	}
	if index == ^uint64(0) {
		// A tree size is a uint64, so no log has an entry here, and Next
		// could not count past it.
		return fmt.Errorf("%w: no log has an entry at index %d", ErrOutOfOrder, index)
	}
	c := &checker{index: index}
	e.check(c, p)
	e.s.Next++
	e.s.Counts.Entries++
	if len(c.vs) > 0 {
		e.s.Counts.Invalid++
	}
	for _, v := range c.vs {
		if len(e.s.Violations) < e.limit {
			e.s.Violations = append(e.s.Violations, v)
		} else {
			e.s.DroppedViolations++
		}
	}
	return nil
}

// checker collects the violations of one entry.
type checker struct {
	index uint64
	vs    []Violation
}

func (c *checker) add(kind, reason, format string, args ...any) {
	c.vs = append(c.vs, Violation{Index: c.index, Kind: kind, Reason: reason, Detail: fmt.Sprintf(format, args...)})
}

func (e *Engine) check(c *checker, p Prepared) {
	if p.env == nil {
		c.add(p.kind, "", "%v", p.err)
		return
	}
	env, entry := p.env, p.entry
	switch env.Kind {
	case envelope.KindRegistration:
		e.s.Counts.Registrations++
	case envelope.KindContract:
		e.s.Counts.Contracts++
	case envelope.KindRevocation:
		e.s.Counts.Revocations++
	case envelope.KindAction:
		e.s.Counts.Actions++
	}
	if p.err != nil {
		c.add(p.kind, "", "%v", p.err)
		return
	}
	switch st := p.st.(type) {
	case *statement.Registration:
		e.registration(c, env.KeyID, st)
	case *statement.Contract:
		e.contract(c, env.KeyID, st, entry)
	case *statement.Revocation:
		e.revocation(c, env.KeyID, st)
	case *statement.Action:
		e.action(c, env.KeyID, st, entry)
	}
}

func (e *Engine) registration(c *checker, signer string, r *statement.Registration) {
	if signer != e.s.Authority {
		c.add(KindNotAuthority, "", "only the authority registers agents; %s is not the authority", signer)
		return
	}
	if idx, ok := e.s.Names[r.Name]; ok {
		c.add(KindNameTaken, "", "name %q was registered at index %d", r.Name, idx)
	}
	if a, ok := e.s.Agents[r.DID]; ok {
		c.add(KindDIDRegistered, "", "%s was registered at index %d", r.DID, a.Index)
	}
	if len(c.vs) > 0 {
		return
	}
	e.s.Agents[r.DID] = Agent{Name: r.Name, Index: c.index, Serves: servesOf(r)}
	e.s.Names[r.Name] = c.index
}

func (e *Engine) contract(c *checker, signer string, ct *statement.Contract, entry []byte) {
	if signer != e.s.Authority {
		c.add(KindNotAuthority, "", "only the authority issues contracts; %s is not the authority", signer)
		return
	}
	if ct.Issuer != signer {
		c.add(KindIssuerMismatch, "", "contract issuer %s is not its signer %s", ct.Issuer, signer)
		return
	}
	for _, p := range []struct{ role, did string }{{ReasonSubject, ct.Subject}, {ReasonAudience, ct.Audience}} {
		if _, ok := e.s.Agents[p.did]; !ok {
			c.add(KindUnknownParty, p.role, "contract %s %s is not registered before index %d", p.role, p.did, c.index)
		}
	}
	if callee, ok := e.s.Agents[ct.Audience]; ok {
		if s, ok := scope.Unserved(ct.Scopes, callee.Serves); ok {
			c.add(KindScopeNotServed, "", "scope %q grants an action that the audience %s does not serve (it serves %s)", s, callee.Name, scope.DescribeServed(callee.Serves))
		}
	}
	if idx, ok := e.byID[ct.ID]; ok {
		c.add(KindContractIDTaken, "", "contract id %s was issued at index %d", ct.ID, idx)
	}
	if len(c.vs) > 0 {
		return
	}
	leaf := proofs.LeafHash(entry).String()
	e.s.Contracts[leaf] = Contract{Index: c.index, ID: ct.ID, Issuer: ct.Issuer, Subject: ct.Subject,
		Audience: ct.Audience, Scopes: ct.Scopes, NotBefore: ct.NotBefore, Expires: ct.Expires}
	e.byIndex[c.index] = leaf
	e.byID[ct.ID] = c.index
}

func (e *Engine) revocation(c *checker, signer string, r *statement.Revocation) {
	leaf := r.Contract.String()
	ct, ok := e.s.Contracts[leaf]
	if !ok {
		c.add(KindUnknownContract, "", "no contract with leaf hash %s is in the log before index %d", leaf, c.index)
		return
	}
	if signer != e.s.Authority && signer != ct.Issuer {
		c.add(KindNotIssuer, "", "only the authority or the contract's issuer may revoke it; %s is neither", signer)
		return
	}
	if idx, ok := e.s.Revoked[leaf]; ok {
		c.add(KindAlreadyRevoked, "", "contract at index %d was revoked at index %d", ct.Index, idx)
		return
	}
	e.s.Revoked[leaf] = c.index
}

// PrepareAll runs Prepare over entries on every core and returns the
// results in the same order.
func PrepareAll(entries [][]byte) []Prepared {
	out := make([]Prepared, len(entries))
	workers := min(runtime.GOMAXPROCS(0), len(entries))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(entries); i += workers {
				out[i] = Prepare(entries[i])
			}
		}(w)
	}
	wg.Wait()
	return out
}
