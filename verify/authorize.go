package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// Reasons a decision refuses, besides the scope package's own
// (scope_missing, amount_exceeded, currency_mismatch, quantity_exceeded,
// constraint_value_missing, bad_request).
const (
	ReasonCheckpointStale  = "checkpoint_stale"
	ReasonLogInconsistent  = "log_inconsistent"
	ReasonContractUnknown  = "contract_unknown"
	ReasonContractInvalid  = "contract_invalid"
	ReasonNotFromAuthority = "contract_not_from_authority"
	ReasonSubjectMismatch  = "contract_subject_mismatch"
	ReasonAudienceMismatch = "contract_audience_mismatch"
	ReasonNotYetValid      = "contract_not_yet_valid"
	ReasonExpired          = "contract_expired"
	ReasonRevoked          = "contract_revoked"
	// ReasonInternal is ReasonOf an error that is no refusal: a fault of
	// the relying party's own, not a judgement of the request.
	ReasonInternal = "internal"
)

// Refusal is a reasoned refusal. Reason is machine-readable; Detail is for
// people and never holds secrets.
type Refusal struct {
	Reason string
	Detail string
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Detail }

func refuse(reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the machine-readable reason of a refusal error, or
// ReasonInternal for any other error.
func ReasonOf(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	var fork *ForkError
	if errors.As(err, &fork) || errors.Is(err, ErrFrozen) {
		return ReasonLogInconsistent
	}
	return ReasonInternal
}

// ContractByRef returns the contract at ref in the followed log. A
// reference the view does not hold (never appended, not yet followed, or
// not signed by the authority) is refused as contract_unknown.
func (f *Follower) ContractByRef(ref statement.ContractRef) (*Contract, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	c, ok := f.v.contracts[ref.LeafHash]
	if !ok || c.Index != ref.Index {
		return nil, refuse(ReasonContractUnknown, "no contract from the authority with leaf hash %s at index %d in the log up to tree size %d",
			ref.LeafHash, ref.Index, f.v.size())
	}
	return c, nil
}

// ContractFromBundle checks a contract's tlog-proof: the proof must verify
// under the trusted log key, its checkpoint must be consistent with the
// followed view (a proof from another tree under the same key freezes the
// follower and writes evidence), and the contract must be in the view.
//
// A contract the view already holds at that index is taken from the view
// without checking the proof again: the view verified it when it read the
// log, and this is the common, hot case of a caller presenting the same
// proof on every call.
func (f *Follower) ContractFromBundle(ctx context.Context, b proofs.Bundle) (*Contract, error) {
	if err := f.Fresh(); err != nil {
		return nil, err
	}
	if c, err := f.ContractByRef(statement.ContractRef{Index: b.Index, LeafHash: proofs.LeafHash(b.Extra)}); err == nil {
		return c, nil
	}
	e, err := ProveBundle(b, f.opts.Policy.LogKey, Want{Kind: envelope.KindContract, Signer: f.opts.Policy.Authority})
	switch {
	case errors.Is(err, ErrWrongSigner):
		return nil, refuse(ReasonNotFromAuthority, "%v", err)
	case errors.Is(err, ErrWrongKind), errors.Is(err, ErrBadEntry):
		return nil, refuse(ReasonContractInvalid, "the proved entry is not a valid contract: %v", err)
	case err != nil:
		return nil, refuse(ReasonContractUnknown, "the contract's proof does not verify: %v", err)
	}
	cp := e.Checkpoint
	if err := f.sameTree(ctx, cp); err != nil {
		return nil, err
	}
	return f.ContractByRef(statement.ContractRef{Index: b.Index, LeafHash: proofs.LeafHash(b.Extra)})
}

// sameTree checks that cp is consistent with the followed view, refreshing
// once if cp is ahead of it.
func (f *Follower) sameTree(ctx context.Context, cp proofs.SignedCheckpoint) error {
	ours := f.Checkpoint()
	if cp.Size > ours.Size {
		if err := f.Refresh(ctx); err != nil {
			return fmt.Errorf("the contract's proof is ahead of the followed log, and refreshing failed: %w", err)
		}
		ours = f.Checkpoint()
		if cp.Size > ours.Size {
			return refuse(ReasonContractUnknown, "the contract's proof is from tree size %d; the ledger's checkpoint is at %d", cp.Size, ours.Size)
		}
	}
	if cp.Size == ours.Size {
		if cp.Root != ours.Root {
			return f.freeze(&proofs.InconsistencyError{Old: ours, New: cp, Err: proofs.ErrProofFailed})
		}
		return nil
	}
	p, err := f.opts.Source.ConsistencyProof(ctx, cp.Size, ours.Size)
	if err != nil {
		return fmt.Errorf("fetch consistency proof %d -> %d: %w", cp.Size, ours.Size, err)
	}
	if err := proofs.VerifyConsistency(cp, ours, p); err != nil {
		var inc *proofs.InconsistencyError
		if errors.As(err, &inc) {
			return f.freeze(inc)
		}
		return err
	}
	return nil
}

// Decision is the outcome of Authorize.
type Decision struct {
	Allowed  bool
	Reason   string // empty when allowed
	Detail   string
	Scope    string // the granting scope, when allowed
	Contract *Contract
}

// Authorize decides whether signer may ask audience (this relying party)
// for req under contract c, at now. It checks, in order: the view is fresh
// and not frozen; the contract is the authority's; its subject is the
// signer and its audience is this party; now is within its validity (with
// the skew window); no revocation of it is in the followed log; and a scope
// covers the request with every constraint holding.
func (f *Follower) Authorize(c *Contract, signer, audience string, req scope.Request, now time.Time) Decision {
	f.mu.RLock()
	defer f.mu.RUnlock()
	no := func(reason, format string, args ...any) Decision {
		return Decision{Reason: reason, Detail: fmt.Sprintf(format, args...), Contract: c}
	}
	if err := f.freshLocked(); err != nil {
		r := err.(*Refusal)
		return no(r.Reason, "%s", r.Detail)
	}
	st := c.Statement
	switch {
	case c.Signer != f.opts.Policy.Authority || st.Issuer != f.opts.Policy.Authority:
		return no(ReasonNotFromAuthority, "contract %s is signed by %s, not the authority", st.ID, c.Signer)
	case st.Subject != signer:
		return no(ReasonSubjectMismatch, "contract %s grants %s, not the request's signer %s", st.ID, st.Subject, signer)
	case st.Audience != audience:
		return no(ReasonAudienceMismatch, "contract %s is for %s, not this agent %s", st.ID, st.Audience, audience)
	}
	if err := st.ValidAt(now, f.opts.Policy.Skew); err != nil {
		if errors.Is(err, statement.ErrNotYetValid) {
			return no(ReasonNotYetValid, "contract %s is valid from %s", st.ID, st.NotBefore.Format(time.RFC3339))
		}
		return no(ReasonExpired, "contract %s expired at %s", st.ID, st.Expires.Format(time.RFC3339))
	}
	if idx, revoked := f.v.revoked[c.LeafHash]; revoked {
		return no(ReasonRevoked, "contract %s was revoked at index %d", st.ID, idx)
	}
	d := scope.Grants(st.Scopes, req)
	if !d.Allowed {
		return no(string(d.Reason), "%s", d.Detail)
	}
	return Decision{Allowed: true, Scope: d.Scope, Contract: c}
}
