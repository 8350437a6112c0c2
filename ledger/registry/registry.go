package registry

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// maxCachedContracts bounds how many contracts' places and audiences
// Registry keeps in memory for the action rule; misses go to the index.
const maxCachedContracts = 1 << 14

// Registry admits entries under the write rules and answers queries. The
// log must have been opened with Indexer.
type Registry struct {
	log          *ledger.Log
	authority    ed25519.PublicKey
	authorityDID string
	// mu serializes the check-then-append of registrations, contracts and
	// revocations, so two entries cannot both pass a uniqueness check.
	// Actions need no lock: the facts they depend on only ever grow.
	mu sync.Mutex
	// registered caches did:keys known to be registered. Registrations are
	// never undone, so a positive answer stays true; misses go to the index.
	registered sync.Map // did string -> struct{}
	// contracts caches, by leaf hash, where each contract an action named
	// sits and its audience. A contract entry never changes, so an
	// answer stays true; at most maxCachedContracts are kept.
	contracts      sync.Map // proofs.Hash -> contractPlace
	contractsCount atomic.Int64
	// limits bounds each signer's write rate; nil means no limit.
	limits Limiter
	// verify checks an envelope's signature (Envelope.Verify); tests
	// count calls through it.
	verify func(*envelope.Envelope) (ed25519.PublicKey, error)
}

// Limiter bounds each signer's write rate (signerlimit.Limits does). Peek
// is asked about the claimed signer before the signature is verified and
// MUST NOT spend anything; Take is asked about the verified signer.
type Limiter interface {
	Peek(signer string) error
	Take(signer string) error
}

// New returns a Registry over l, whose authority key is authority.
func New(l *ledger.Log, authority ed25519.PublicKey) *Registry {
	return &Registry{log: l, authority: authority, authorityDID: did.FromPublicKey(authority),
		verify: (*envelope.Envelope).Verify}
}

// LimitSigners makes Submit refuse signers over their rate under lim. It
// must be called before the first Submit.
func (r *Registry) LimitSigners(lim Limiter) { r.limits = lim }

// AuthorityDID is the did:key of the authority.
func (r *Registry) AuthorityDID() string { return r.authorityDID }

// Submit is the ledger's one admission path: every entry a writer
// submits, over HTTP or in process, is judged here before Log.Append.
// It admits one DSSE envelope: strict parse, the checks on the
// claimed signer, signature check, the signer's rate, the write rules,
// then a durable append. Everything before the signature check is cheap
// (no Ed25519), so a flood of forged or unwelcome entries costs no
// verification. Resubmitting an entry already in the log returns its index
// (Duplicate) without judging it again, but still spends the signer's
// rate.
//
// A refusal by the write rules is a *Refusal, whose class (ErrForbidden,
// ErrInvalid, ErrConflict) errors.Is finds. Other errors wrap
// envelope.ErrTooLarge, envelope.ErrMalformed, envelope.ErrBadSignature,
// the Limiter's errors, or the errors of Log.Append.
func (r *Registry) Submit(ctx context.Context, raw []byte) (ledger.AppendResult, error) {
	env, err := envelope.Parse(raw)
	if err != nil {
		return ledger.AppendResult{}, err
	}
	if err := r.precheck(env); err != nil {
		return ledger.AppendResult{}, err
	}
	signer, err := r.verify(env)
	if err != nil {
		return ledger.AppendResult{}, err
	}
	if r.limits != nil {
		if err := r.limits.Take(env.KeyID); err != nil {
			return ledger.AppendResult{}, err
		}
	}
	if env.Kind != envelope.KindAction {
		// An entry already in the log answers with its index before the
		// uniqueness rules could call it a conflict with itself. Actions
		// have no such rules; the sequencer dedups them.
		leaf := proofs.LeafHash(raw)
		switch idx, err := r.log.IndexOf(leaf); {
		case err == nil:
			return ledger.AppendResult{Index: idx, LeafHash: leaf, Duplicate: true}, nil
		case !errors.Is(err, ledger.ErrNotFound):
			return ledger.AppendResult{}, err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
	}
	if err := r.check(env, signer); err != nil {
		return ledger.AppendResult{}, err
	}
	return r.log.Append(ctx, raw)
}

// precheck refuses, before any signature verification, an envelope whose
// claimed signer could not write it even if the signature held: a signer
// over its rate, a registration or contract not claimed by the authority,
// an action not claimed by a registered agent. These refusals name only
// what the envelope claims, and none spends the claimed signer's rate.
func (r *Registry) precheck(env *envelope.Envelope) error {
	if r.limits != nil {
		if err := r.limits.Peek(env.KeyID); err != nil {
			return err
		}
	}
	switch env.Kind {
	case envelope.KindRegistration, envelope.KindContract:
		if env.KeyID != r.authorityDID {
			return refuse(ErrForbidden, wire.ReasonNotAuthority, "only the authority registers agents and issues contracts; %s is not the authority", env.KeyID)
		}
	case envelope.KindAction:
		return r.checkRegistered(env.KeyID)
	}
	return nil
}

// check applies the write rules to a verified envelope.
func (r *Registry) check(env *envelope.Envelope, signer ed25519.PublicKey) error {
	isAuthority := signer.Equal(r.authority)
	switch env.Kind {
	case envelope.KindRegistration:
		if !isAuthority {
			return refuse(ErrForbidden, wire.ReasonNotAuthority, "only the authority registers agents; %s is not the authority", env.KeyID)
		}
		reg, err := statement.ParseRegistration(env.Payload)
		if err != nil {
			return invalid(err)
		}
		if _, err := r.lookup(prefixAgentName + reg.Name); err == nil {
			return refuse(ErrConflict, wire.ReasonNameTaken, "an agent named %q is already registered", reg.Name)
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		if _, err := r.lookup(prefixAgentDID + reg.DID); err == nil {
			return refuse(ErrConflict, wire.ReasonDIDRegistered, "%s is already registered", reg.DID)
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		return nil
	case envelope.KindContract:
		if !isAuthority {
			return refuse(ErrForbidden, wire.ReasonNotAuthority, "only the authority issues contracts; %s is not the authority", env.KeyID)
		}
		c, err := statement.ParseContract(env.Payload)
		if err != nil {
			return invalid(err)
		}
		if c.Issuer != env.KeyID {
			return refuse(ErrInvalid, wire.ReasonIssuerMismatch, "contract issuer %s is not its signer %s", c.Issuer, env.KeyID)
		}
		if _, err := r.party("subject", c.Subject, wire.ReasonUnknownSubject); err != nil {
			return err
		}
		audience, err := r.party("audience", c.Audience, wire.ReasonUnknownAudience)
		if err != nil {
			return err
		}
		callee, err := r.agentAt(audience)
		if err != nil {
			return err
		}
		if s, ok := scope.Unserved(c.Scopes, callee.Serves); ok {
			return refuse(ErrInvalid, wire.ReasonScopeNotServed, "scope %q grants an action that the audience %s does not serve (it serves %s)",
				s, callee.Name, scope.DescribeServed(callee.Serves))
		}
		if _, err := r.lookup(prefixContractID + c.ID); err == nil {
			return refuse(ErrConflict, wire.ReasonContractIDTaken, "a contract with id %s is already in the log", c.ID)
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		return nil
	case envelope.KindRevocation:
		rev, err := statement.ParseRevocation(env.Payload)
		if err != nil {
			return invalid(err)
		}
		cidx, err := r.lookup(prefixContractHash + string(rev.Contract[:]))
		if errors.Is(err, ledger.ErrNotFound) {
			return refuse(ErrInvalid, wire.ReasonUnknownContract, "no contract with leaf hash %s is in the log", rev.Contract)
		} else if err != nil {
			return err
		}
		c, err := r.contractAt(cidx)
		if err != nil {
			return err
		}
		if !isAuthority && env.KeyID != c.Issuer {
			return refuse(ErrForbidden, wire.ReasonNotIssuer, "only the authority or the contract's issuer may revoke it; %s is neither", env.KeyID)
		}
		revs, err := r.revocations(cidx)
		if err != nil {
			return err
		}
		if len(revs) > 0 {
			return refuse(ErrConflict, wire.ReasonAlreadyRevoked, "contract %s was revoked at index %d", c.ID, revs[0])
		}
		return nil
	case envelope.KindAction:
		// precheck found the signer registered.
		a, err := statement.ParseAction(env.Payload)
		if err != nil {
			return invalid(err)
		}
		if a.Agent != env.KeyID {
			return refuse(ErrForbidden, wire.ReasonAgentMismatch, "an agent writes only its own actions: the statement names %s, the signer is %s", a.Agent, env.KeyID)
		}
		return r.checkActionContract(a)
	}
	return refuse(ErrInvalid, wire.ReasonUnknownKind, "unknown entry kind %q", env.Kind)
}

// party returns the registration index of a contract's party (its role
// and did:key), refusing with reason a party that is not registered.
func (r *Registry) party(role, did, reason string) (uint64, error) {
	idx, err := r.lookup(prefixAgentDID + did)
	if errors.Is(err, ledger.ErrNotFound) {
		return 0, refuse(ErrInvalid, reason, "contract %s %s is not a registered agent", role, did)
	}
	return idx, err
}

// contractPlace is where a contract sits and who its audience is.
type contractPlace struct {
	index    uint64
	audience string
}

// checkActionContract refuses an action whose contract reference names no
// contract in the log, or a contract whose audience is not the action's
// agent (its verified signer). Whether the contract allowed the action is
// not the ledger's to judge: agents decide that, and the auditor checks
// it.
func (r *Registry) checkActionContract(a *statement.Action) error {
	ref := a.Contract
	place, err := r.placeOf(ref.LeafHash)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return refuse(ErrInvalid, wire.ReasonContractNotInLog, "no contract with leaf hash %s is in the log", ref.LeafHash)
	case err != nil:
		return err
	case place.index != ref.Index:
		return refuse(ErrInvalid, wire.ReasonContractNotInLog, "the contract with leaf hash %s is at index %d, not %d", ref.LeafHash, place.index, ref.Index)
	case place.audience != a.Agent:
		return refuse(ErrForbidden, wire.ReasonNotAudience, "an agent records actions only under contracts at itself: the contract at index %d has audience %s, the signer is %s",
			ref.Index, place.audience, a.Agent)
	}
	return nil
}

// placeOf returns the index and audience of the contract whose
// entry has leaf hash leaf, or an error wrapping ledger.ErrNotFound.
func (r *Registry) placeOf(leaf proofs.Hash) (contractPlace, error) {
	if p, ok := r.contracts.Load(leaf); ok {
		return p.(contractPlace), nil
	}
	idx, err := r.lookup(prefixContractHash + string(leaf[:]))
	if err != nil {
		return contractPlace{}, err
	}
	c, err := r.contractAt(idx)
	if err != nil {
		return contractPlace{}, err
	}
	p := contractPlace{index: idx, audience: c.Audience}
	if r.contractsCount.Add(1) <= maxCachedContracts {
		r.contracts.Store(leaf, p)
	}
	return p, nil
}

// checkRegistered refuses a signer that is not a registered agent.
func (r *Registry) checkRegistered(signer string) error {
	if _, ok := r.registered.Load(signer); ok {
		return nil
	}
	switch _, err := r.lookup(prefixAgentDID + signer); {
	case errors.Is(err, ledger.ErrNotFound):
		return refuse(ErrForbidden, wire.ReasonUnregisteredSigner, "%s is not a registered agent", signer)
	case err != nil:
		return err
	}
	r.registered.Store(signer, struct{}{})
	return nil
}

func invalid(err error) error {
	return refuse(ErrInvalid, wire.ReasonInvalidStatement, "%v", err)
}

// lookup reads an index record holding an entry index.
func (r *Registry) lookup(key string) (uint64, error) {
	v, err := r.log.IndexGet([]byte(key))
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: index record %q has %d bytes", ledger.ErrUnavailable, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// contractAt reads and parses the contract entry at index.
func (r *Registry) contractAt(index uint64) (*statement.Contract, error) {
	_, c, err := r.readStatement(index, envelope.KindContract)
	if err != nil {
		return nil, err
	}
	return c.(*statement.Contract), nil
}

// readStatement reads the entry at index and parses its statement, which
// must be of kind.
func (r *Registry) readStatement(index uint64, kind envelope.Kind) ([]byte, any, error) {
	raw, err := r.log.Entry(index)
	if err != nil {
		return nil, nil, err
	}
	env, err := envelope.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d: %w", ledger.ErrUnavailable, index, err)
	}
	if env.Kind != kind {
		return nil, nil, fmt.Errorf("%w: entry %d is a %s, not a %s", ledger.ErrUnavailable, index, env.Kind, kind)
	}
	st, err := statement.Parse(env.Kind, env.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d: %w", ledger.ErrUnavailable, index, err)
	}
	return raw, st, nil
}

// revocations lists the indexes of the revocations of the contract at
// cidx, ascending.
func (r *Registry) revocations(cidx uint64) ([]uint64, error) {
	var out []uint64
	prefix := prefixRevocation + string(u64(cidx))
	err := r.log.IndexScan([]byte(prefix), func(k, _ []byte) bool {
		out = append(out, binary.BigEndian.Uint64(k[len(prefix):]))
		return true
	})
	return out, err
}
