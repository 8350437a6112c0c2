package verified

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// mismatches collects the fields in which a claim differs from a signed
// statement.
type mismatches []string

func (m *mismatches) check(field string, claimed, signed any, equal bool) {
	if !equal {
		*m = append(*m, fmt.Sprintf("%s: the ledger claims %v, the signed entry says %v", field, claimed, signed))
	}
}

func (m *mismatches) str(field, claimed, signed string) {
	m.check(field, fmt.Sprintf("%q", claimed), fmt.Sprintf("%q", signed), claimed == signed)
}

func (m *mismatches) time(field string, claimed, signed time.Time) {
	m.check(field, claimed.UTC().Format(time.RFC3339Nano), signed.UTC().Format(time.RFC3339Nano), claimed.Equal(signed))
}

func (m mismatches) err(what string) error {
	if len(m) == 0 {
		return nil
	}
	return hint.With(fmt.Errorf("%s: %s", what, strings.Join(m, "; ")), DistrustHint)
}

// A Agent is a registration the ledger reported and its proof
// established.
type Agent struct {
	Name, DID, Risk string
	Serves          []string // the actions it serves; nil for none
	Time            time.Time
	Index           uint64
	Signer          string
	Checkpoint      proofs.SignedCheckpoint
}

// VerifyAgent checks a's proof and that the registration it proves is the
// one claimed; with authority set, that the authority signed it.
func VerifyAgent(a wire.Agent, v note.Verifier, authority string) (Agent, error) {
	what := fmt.Sprintf("agent %q", a.Name)
	e, err := proveClaimed(what, a.Proof, v, a.Index, a.CheckedSize, envelope.KindRegistration)
	if err != nil {
		return Agent{}, err
	}
	reg := e.Statement.(*statement.Registration)
	var m mismatches
	m.str("name", a.Name, reg.Name)
	m.str("did", a.DID, reg.DID)
	m.str("risk", a.Risk, reg.Risk)
	m.check("serves", a.Serves, reg.Serves, slices.Equal(a.Serves, reg.Serves))
	m.time("time", a.Time, reg.Time)
	if err := m.err(what); err != nil {
		return Agent{}, err
	}
	if authority != "" && e.Envelope.KeyID != authority {
		return Agent{}, hint.With(
			fmt.Errorf("%s: the registration at index %d is signed by %s, not by the authority %s", what, a.Index, e.Envelope.KeyID, authority),
			"is the authority given the one of this ledger (its DIR/authority.did)?")
	}
	return Agent{Name: reg.Name, DID: reg.DID, Risk: reg.Risk, Serves: reg.Serves, Time: reg.Time, Index: e.Index,
		Signer: e.Envelope.KeyID, Checkpoint: e.Checkpoint}, nil
}

// A Contract is a contract the ledger reported, with the
// revocations it reported, all established by their proofs.
type Contract struct {
	*statement.Contract
	Index       uint64
	LeafHash    proofs.Hash
	Signer      string
	Checkpoint  proofs.SignedCheckpoint
	Revocations []Revocation
}

// A Revocation is a revocation established by its proof.
type Revocation struct {
	Index  uint64
	Signer string
	Reason string
	Time   time.Time
}

// VerifyContract checks the proof of c and of each revocation reported
// with it: the contract entry is the one claimed, its issuer is its signer
// (and the authority, when given); each revocation names this contract's
// leaf hash, says what is claimed, and is signed by the contract's issuer
// or the authority.
func VerifyContract(c wire.Contract, v note.Verifier, authority string) (Contract, error) {
	what := fmt.Sprintf("contract %s", c.ID)
	e, err := proveClaimed(what, c.Proof, v, c.Index, c.CheckedSize, envelope.KindContract)
	if err != nil {
		return Contract{}, err
	}
	st := e.Statement.(*statement.Contract)
	var m mismatches
	m.str("id", c.ID, st.ID)
	m.str("leaf_hash", c.LeafHash, e.LeafHash.String())
	m.str("issuer", c.Issuer, st.Issuer)
	m.str("subject", c.Subject, st.Subject)
	m.str("audience", c.Audience, st.Audience)
	m.check("scopes", c.Scopes, st.Scopes, slices.Equal(c.Scopes, st.Scopes))
	m.time("not_before", c.NotBefore, st.NotBefore)
	m.time("expires", c.Expires, st.Expires)
	m.time("time", c.Time, st.Time)
	m.check("revoked", c.Revoked, len(c.Revocations) > 0, c.Revoked == (len(c.Revocations) > 0))
	if err := m.err(what); err != nil {
		return Contract{}, err
	}
	signer := e.Envelope.KeyID
	if st.Issuer != signer {
		return Contract{}, hint.With(fmt.Errorf("%s: its issuer %s is not its signer %s", what, st.Issuer, signer), DistrustHint)
	}
	if authority != "" && signer != authority {
		return Contract{}, hint.With(
			fmt.Errorf("%s: the contract at index %d is signed by %s, not by the authority %s", what, c.Index, signer, authority),
			"is the authority given the one of this ledger (its DIR/authority.did)?")
	}
	out := Contract{Contract: st, Index: e.Index, LeafHash: e.LeafHash, Signer: signer, Checkpoint: e.Checkpoint}
	for _, r := range c.Revocations {
		rwhat := fmt.Sprintf("revocation at index %d of %s", r.Index, what)
		re, err := proveClaimed(rwhat, r.Proof, v, r.Index, c.CheckedSize, envelope.KindRevocation)
		if err != nil {
			return Contract{}, err
		}
		rev := re.Statement.(*statement.Revocation)
		var m mismatches
		m.str("contract", e.LeafHash.String(), rev.Contract.String())
		m.str("reason", r.Reason, rev.Reason)
		m.str("signer", r.Signer, re.Envelope.KeyID)
		m.time("time", r.Time, rev.Time)
		if err := m.err(rwhat); err != nil {
			return Contract{}, err
		}
		if rs := re.Envelope.KeyID; rs != st.Issuer && (authority == "" || rs != authority) {
			return Contract{}, hint.With(
				fmt.Errorf("%s: signed by %s, neither the contract's issuer nor the authority", rwhat, rs), DistrustHint)
		}
		out.Revocations = append(out.Revocations, Revocation{Index: re.Index, Signer: re.Envelope.KeyID, Reason: rev.Reason, Time: rev.Time})
	}
	return out, nil
}
