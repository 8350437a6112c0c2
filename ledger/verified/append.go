package verified

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// AppendProved signs st with key, appends it, waits until a checkpoint covers it, fetches its tlog-proof under that
// checkpoint and verifies that it proves exactly the envelope appended. It
// returns the proved entry and the tlog-proof text. what names the entry
// in errors.
//
// It appends nothing until the ledger's current checkpoint verifies under
// v: a wrong log key fails before the write, not after it.
func AppendProved(ctx context.Context, cl *client.Client, v note.Verifier, st statement.Statement, key ed25519.PrivateKey, wait time.Duration, what string) (*verify.ProvedEntry, []byte, error) {
	if _, err := Checkpoint(ctx, cl, v); err != nil {
		return nil, nil, fmt.Errorf("before appending %s: %w; nothing was appended", what, err)
	}
	env, err := statement.Sign(st, key)
	if err != nil {
		return nil, nil, err
	}
	res, err := cl.Append(ctx, env)
	if err != nil {
		return nil, nil, ExplainRefusal(err)
	}
	e, raw, err := ProveAppended(ctx, cl, v, res.Index, st.Kind(), env, wait)
	if err != nil {
		return nil, nil, fmt.Errorf("%s was appended at index %d, but %w", what, res.Index, err)
	}
	return e, raw, nil
}

// ProveAppended waits until a checkpoint covers the entry of kind just
// appended at index, fetches its tlog-proof under that checkpoint and
// verifies that it proves env.
func ProveAppended(ctx context.Context, cl *client.Client, v note.Verifier, index uint64, kind envelope.Kind, env []byte, wait time.Duration) (*verify.ProvedEntry, []byte, error) {
	cp, err := CheckpointCovering(ctx, cl, v, index+1, wait)
	if err != nil {
		return nil, nil, err
	}
	e, raw, err := Prove(ctx, cl, v, index, cp.Size, verify.Want{Kind: kind})
	if err != nil {
		return nil, nil, err
	}
	if e.LeafHash != proofs.LeafHash(env) {
		return nil, nil, hint.With(fmt.Errorf("the ledger proves another entry at index %d than the one appended", index), DistrustHint)
	}
	return e, raw, nil
}

// Register signs a registration of an agent serving the actions serves
// (in any order, duplicates dropped; none for a party that only calls
// others), dated now, with the authority key and appends it.
func Register(ctx context.Context, cl *client.Client, authority ed25519.PrivateKey, name, agentDID, risk string, serves []string) (client.AppendResult, error) {
	reg := statement.Registration{Name: name, DID: agentDID, Risk: risk, Serves: statement.SortServes(serves),
		Time: time.Now().UTC().Truncate(time.Second)}
	env, err := statement.Sign(&reg, authority)
	if err != nil {
		return client.AppendResult{}, err
	}
	return AppendSure(ctx, cl, env)
}

// An UnsureAppend is an append whose outcome is unknown: the request may
// have reached the ledger, but no answer came back and a lookup could not
// tell.
type UnsureAppend struct{ err error }

func (e *UnsureAppend) Error() string { return e.err.Error() }

func (e *UnsureAppend) Unwrap() error { return e.err }

// AppendSure appends env and explains a refusal. When the ledger gave no
// answer, or a 5xx one (a commit that timed out may still land: the
// ledger queued the entry before it answered), it asks whether the entry
// is in the log after all; if that cannot be told either, or the entry
// may still be committed, the error is an *UnsureAppend.
func AppendSure(ctx context.Context, cl *client.Client, env []byte) (client.AppendResult, error) {
	res, err := cl.Append(ctx, env)
	if err == nil {
		return res, nil
	}
	var api *client.APIError
	var dial *net.OpError
	failed := errors.As(err, &api) && api.Status >= 500
	if errors.As(err, &api) && !failed || errors.As(err, &dial) && dial.Op == "dial" {
		// Refused, or never sent: no connection was made.
		return client.AppendResult{}, ExplainRefusal(err)
	}
	leaf := proofs.LeafHash(env)
	idx, _, lerr := cl.EntryByHash(ctx, leaf)
	switch {
	case lerr == nil:
		return client.AppendResult{Index: idx, LeafHash: leaf}, nil
	case NotFound(lerr) && !failed:
		// The request reached the ledger and nothing is in the log: a
		// lost answer to an append that never happened.
		return client.AppendResult{}, ExplainRefusal(err)
	}
	// Not found yet after a 5xx, or not known: it may still be committed.
	return client.AppendResult{}, &UnsureAppend{ExplainRefusal(err)}
}

// ExplainRefusal adds hints to a ledger's refusal of an entry.
func ExplainRefusal(err error) error {
	var api *client.APIError
	if !errors.As(err, &api) {
		return hint.With(fmt.Errorf("submitting the entry: %w", err), "is the ledger running at --ledger?")
	}
	err = fmt.Errorf("entry refused: %w", err)
	if h, ok := refusalHints[api.Code]; ok {
		return hint.With(err, h)
	}
	return err
}

// refusalHints tell what to do about each of the ledger's refusal codes.
var refusalHints = map[string]string{
	wire.ReasonNotAuthority:       "only the log's authority key (DIR/authority.pem, made by init) writes registrations and contracts",
	wire.ReasonBadSignature:       "the envelope's signature did not verify; was it changed after signing?",
	wire.ReasonMalformedEnvelope:  "an entry is a canonical DSSE envelope as 'ledgerctl append' signs it",
	wire.ReasonTooLarge:           "entries are at most 65,535 bytes",
	wire.ReasonUnavailable:        "the ledger could not store the entry; retry later",
	wire.ReasonInvalidStatement:   "the payload must be a statement of --type with every required field, \"v\":1 and no unknown fields; see docs/protocol.md",
	wire.ReasonNameTaken:          "agent names are unique; choose another name (ledgerctl agent list shows those taken)",
	wire.ReasonDIDRegistered:      "that key is already registered under another name; an agent has one key, so make a new key for a new agent",
	wire.ReasonUnknownSubject:     "a contract's subject (the caller) must be a registered agent: register it first (ledgerctl agent register)",
	wire.ReasonUnknownAudience:    "a contract's audience (the callee) must be a registered agent: register it first (ledgerctl agent register)",
	wire.ReasonIssuerMismatch:     "a contract's issuer must be the did:key of the key that signs it (ledgerctl keys did KEYFILE)",
	wire.ReasonContractIDTaken:    "contract ids are unique: make a fresh one of 128 random bits, as 'ledgerctl contract issue' does",
	wire.ReasonUnknownContract:    "a revocation names the leaf hash of a contract entry in this log (ledgerctl contract show ID)",
	wire.ReasonNotIssuer:          "only the authority or the contract's issuer may revoke a contract",
	wire.ReasonAlreadyRevoked:     "the contract is already revoked; nothing more to do",
	wire.ReasonUnregisteredSigner: "only a registered agent writes actions, signed with its own key: register it (ledgerctl agent register)",
	wire.ReasonAgentMismatch:      "an agent writes only its own actions: the statement's \"agent\" must be the signer's did:key (ledgerctl keys did KEYFILE)",
	wire.ReasonUnknownKind:        "--type is registration, contract, revocation or action",
	wire.ReasonScopeNotServed:     "a contract grants only actions its callee serves: check the scope's spelling, and see what the callee serves with 'ledgerctl agent show CALLEE'",
	wire.ReasonContractNotInLog:   "an action names, by index and leaf hash, a contract entry in this log (ledgerctl contract show ID prints both)",
	wire.ReasonNotAudience:        "an agent records actions only under contracts at itself: the contract's audience must be the signer's did:key",
}
