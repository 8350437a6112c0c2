// Package authority is what the authority does to the log: register an
// agent, issue a contract, revoke one. Each operation appends a signed
// statement and, where the caller asks, proves it in the log before it
// reports success.
package authority

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// A Registration asks to register an agent.
type Registration struct {
	Name, Risk string
	// Serves is the actions the agent serves (resource:action, in any
	// order): all that a contract at it may ever grant. A party that only
	// calls others serves none.
	Serves []string
	// PublicKey is the agent's key. When nil, Register makes a key and
	// writes it to KeyOut, which must not exist.
	PublicKey ed25519.PublicKey
	KeyOut    string
	// LogKey, when set, has Register wait up to Wait for a checkpoint
	// that covers the registration and prove it there.
	LogKey note.Verifier
	Wait   time.Duration
}

// A Registered is a registration the ledger took.
type Registered struct {
	DID       string
	Index     uint64
	Duplicate bool   // the ledger already held this very registration
	KeyFile   string // the key file Register made, if any
	// Proved is the checkpoint the registration was proved under, when
	// Registration.LogKey was set.
	Proved *proofs.SignedCheckpoint
}

// Register registers r with the authority's key. A key file it made is
// removed again if the registration fails, and kept (with a hint) when
// the registration may have been recorded after all.
//
// With r.LogKey set, the ledger's checkpoint MUST verify under it before
// anything is written, key file or entry: a wrong log key fails the
// command with nothing registered, so the retry with the right key is not
// refused as a name already taken.
func Register(ctx context.Context, cl *client.Client, authority ed25519.PrivateKey, r Registration) (Registered, error) {
	var out Registered
	if r.LogKey != nil {
		if _, err := verified.Checkpoint(ctx, cl, r.LogKey); err != nil {
			return out, fmt.Errorf("before registering %s: %w; nothing was registered", r.Name, err)
		}
	}
	pub := r.PublicKey
	if pub == nil {
		key, err := keyfile.Generate()
		if err != nil {
			return out, err
		}
		if err := keyfile.Write(r.KeyOut, key); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return out, hint.With(fmt.Errorf("%s already exists; nothing was registered", r.KeyOut),
					"agent register never replaces a key file; choose another --key-out, or register an existing key with --pubkey")
			}
			return out, err
		}
		out.KeyFile, pub = r.KeyOut, key.Public().(ed25519.PublicKey)
	}
	out.DID = did.FromPublicKey(pub)
	res, err := verified.Register(ctx, cl, authority, r.Name, out.DID, r.Risk, r.Serves)
	if err != nil {
		return out, dropNewKey(err, out.KeyFile, r.Name)
	}
	out.Index, out.Duplicate = res.Index, res.Duplicate
	if r.LogKey == nil {
		return out, nil
	}
	cp, err := verified.CheckpointCovering(ctx, cl, r.LogKey, res.Index+1, r.Wait)
	if err != nil {
		return out, err
	}
	e, _, err := verified.Prove(ctx, cl, r.LogKey, res.Index, cp.Size, verify.Want{Kind: envelope.KindRegistration})
	if err != nil {
		return out, err
	}
	if e.LeafHash != res.LeafHash {
		return out, fmt.Errorf("the ledger proved another entry at index %d than the registration it acknowledged", res.Index)
	}
	out.Proved = &cp
	return out, nil
}

// dropNewKey removes the key file made for an agent whose registration
// failed, so nothing is left half-done, and says so in err. It keeps the
// key when the registration may have been recorded after all.
func dropNewKey(err error, keyOut, name string) error {
	var unsure *verified.UnsureAppend
	switch {
	case keyOut == "":
		return err
	case errors.As(err, &unsure):
		return hint.With(err, fmt.Sprintf("the new key %s is kept, as the registration may have been recorded; check with 'ledgerctl agent show %s'", keyOut, name))
	}
	if rmErr := os.Remove(keyOut); rmErr != nil {
		return errors.Join(err, fmt.Errorf("removing the new key file %s: %w", keyOut, rmErr))
	}
	return fmt.Errorf("%w (the new key file %s was removed; nothing was registered)", err, keyOut)
}

// A Grant asks for a contract: Caller may call Callee (each a name or a
// did:key of a registered agent) within Scopes, from now for TTL. A
// Standing grant names one agent as both: it may take the actions of
// Scopes on its own initiative.
type Grant struct {
	Caller, Callee string
	Scopes         []string
	TTL            time.Duration
	Standing       bool
}

// An Issued is a contract in the log, proved.
type Issued struct {
	Contract       statement.Contract
	Caller, Callee verified.Agent
	Entry          *verify.ProvedEntry
	Proof          []byte // its tlog-proof
}

// ErrSameAgent is a grant whose caller and callee are one agent, not
// asked for as a standing grant; ErrNotSameAgent is a standing grant
// whose caller and callee differ.
var (
	ErrSameAgent    = errors.New("the caller and the callee are the same agent")
	ErrNotSameAgent = errors.New("a standing grant names one agent as caller and callee")
)

// Issue resolves the grant's agents from their verified registrations
// (signed by the authority), signs the contract with the authority's key
// and appends it, and returns it once proved under v (waiting up to wait
// for a checkpoint). Times are whole seconds, UTC.
func Issue(ctx context.Context, cl *client.Client, v note.Verifier, key ed25519.PrivateKey, g Grant, wait time.Duration) (Issued, error) {
	authority := did.FromPublicKey(key.Public().(ed25519.PublicKey))
	var out Issued
	var err error
	if out.Caller, err = verified.ResolveAgent(ctx, cl, v, g.Caller, authority, wait); err != nil {
		return out, fmt.Errorf("caller: %w", err)
	}
	if out.Callee, err = verified.ResolveAgent(ctx, cl, v, g.Callee, authority, wait); err != nil {
		return out, fmt.Errorf("callee: %w", err)
	}
	switch same := out.Caller.DID == out.Callee.DID; {
	case same && !g.Standing:
		return out, fmt.Errorf("%w, %s", ErrSameAgent, out.Caller.Name)
	case !same && g.Standing:
		return out, fmt.Errorf("%w, not %s and %s", ErrNotSameAgent, out.Caller.Name, out.Callee.Name)
	}
	id, err := statement.NewContractID(rand.Reader)
	if err != nil {
		return out, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	out.Contract = statement.Contract{ID: id, Issuer: authority, Subject: out.Caller.DID, Audience: out.Callee.DID,
		Scopes: g.Scopes, NotBefore: now, Expires: now.Add(g.TTL), Time: now}
	out.Entry, out.Proof, err = verified.AppendProved(ctx, cl, v, &out.Contract, key, wait, "contract "+id)
	return out, err
}

// Revoke revokes the contract id, proved under v, with key (the
// authority's, or the contract's issuer's), and returns the revocation
// once proved. A contract already revoked is refused before anything is
// appended.
func Revoke(ctx context.Context, cl *client.Client, v note.Verifier, key ed25519.PrivateKey, id, reason string, wait time.Duration) (*verify.ProvedEntry, statement.Revocation, error) {
	vc, err := verified.FetchContract(ctx, cl, v, id, "", wait)
	if err != nil {
		return nil, statement.Revocation{}, err
	}
	if len(vc.Revocations) > 0 {
		r := vc.Revocations[0]
		return nil, statement.Revocation{}, fmt.Errorf("contract %s is already revoked, at index %d: %s", id, r.Index, r.Reason)
	}
	rev := statement.Revocation{Contract: vc.LeafHash, Reason: reason, Time: time.Now().UTC().Truncate(time.Second)}
	e, _, err := verified.AppendProved(ctx, cl, v, &rev, key, wait, "the revocation of contract "+id)
	return e, rev, err
}
