// Package identity is a party of the system as the product's own code
// holds it (the demo, up, the soak, the benchmarks): an Ed25519 key and
// its did:key, and the statements that party signs into the log. Every
// entry is signed with statement.Sign. Keys are made from crypto/rand;
// they are written to disk only by internal/keyfile.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/statement"
)

// An Identity is a named key and its did:key.
type Identity struct {
	Name string
	Key  ed25519.PrivateKey
	DID  string
}

// New makes an identity with a fresh random key.
func New(name string) (Identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Identity{}, fmt.Errorf("identity %s: %w", name, err)
	}
	return FromKey(name, key), nil
}

// FromKey is the identity of an existing key.
func FromKey(name string, key ed25519.PrivateKey) Identity {
	return Identity{Name: name, Key: key, DID: did.FromPublicKey(key.Public().(ed25519.PublicKey))}
}

// Register is the registration of id at risk, serving the actions serves
// (in any order; none for a party that only calls others), signed by the
// authority a, dated t.
func (a Identity) Register(id Identity, risk string, serves []string, t time.Time) ([]byte, error) {
	return statement.Sign(&statement.Registration{Name: id.Name, DID: id.DID, Risk: risk,
		Serves: statement.SortServes(serves), Time: t.UTC()}, a.Key)
}

// Contract is a's contract with a fresh random id, granting scopes to the
// subject at the audience (both did:keys) from notBefore for ttl. It
// returns the entry and the contract's id.
func (a Identity) Contract(subject, audience string, scopes []string, notBefore time.Time, ttl time.Duration) ([]byte, string, error) {
	id, err := statement.NewContractID(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	env, err := a.ContractWithID(id, subject, audience, scopes, notBefore, ttl)
	return env, id, err
}

// ContractWithID is Contract under the given id: the same arguments make
// the same bytes.
func (a Identity) ContractWithID(id, subject, audience string, scopes []string, notBefore time.Time, ttl time.Duration) ([]byte, error) {
	st := &statement.Contract{ID: id, Issuer: a.DID, Subject: subject, Audience: audience, Scopes: scopes,
		NotBefore: notBefore.UTC(), Expires: notBefore.Add(ttl).UTC(), Time: notBefore.UTC()}
	return statement.Sign(st, a.Key)
}

// Revoke is a's revocation of the contract entry whose leaf hash is
// contract, dated t.
func (a Identity) Revoke(contract proofs.Hash, reason string, t time.Time) ([]byte, error) {
	return statement.Sign(&statement.Revocation{Contract: contract, Reason: reason, Time: t.UTC()}, a.Key)
}

// Approval describes an action an agent approves: the request it approves
// and its constrained values.
type Approval struct {
	Caller   string // did:key
	Contract statement.ContractRef
	Action   string // e.g. "payment:charge"
	Body     []byte // the request body; its digest goes in args_digest
	Amount   *int64
	Currency string
	Quantity *int64
	Target   *statement.EntryRef // the earlier action entry acted on (a refund's charge)
	Nonce    string
	Time     time.Time
}

// Approve is the agent a's signed action entry approving ap.
func (a Identity) Approve(ap Approval) ([]byte, error) {
	sum := sha256.Sum256(ap.Body)
	st := &statement.Action{Agent: a.DID, Caller: ap.Caller, Contract: ap.Contract, Action: ap.Action,
		ArgsDigest: statement.ArgsDigestPrefix + hex.EncodeToString(sum[:]), Amount: ap.Amount,
		Currency: ap.Currency, Quantity: ap.Quantity, Target: ap.Target, Nonce: ap.Nonce, Time: ap.Time.UTC()}
	return statement.Sign(st, a.Key)
}

// NewMany makes one fresh identity per name.
func NewMany(names ...string) ([]Identity, error) {
	out := make([]Identity, len(names))
	for i, n := range names {
		var err error
		if out[i], err = New(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}
