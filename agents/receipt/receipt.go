// Package receipt writes an agent's approvals to the ledger before the
// agent acts: the write-ahead receipt. An agent that has decided to act
// signs an action statement, appends it, and waits for the ledger's durable
// index; only then may it act, and the index goes back to the caller. If
// the ledger does not take the entry, the agent must not act.
package receipt

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/statement"
)

// ErrUnavailable means the ledger did not durably take the receipt: the
// action MUST NOT be performed.
var ErrUnavailable = errors.New("ledger did not take the receipt")

// Appender durably appends an entry and returns its index only once it is
// committed (ledger/client.Client does).
type Appender interface {
	Append(ctx context.Context, entry []byte) (client.AppendResult, error)
}

// Receipt is where an approval sits in the log.
type Receipt struct {
	Index    uint64
	LeafHash proofs.Hash
}

// Writer signs and appends the action entries of one agent.
type Writer struct {
	key     ed25519.PrivateKey
	did     string
	ledger  Appender
	timeout time.Duration
}

// NewWriter returns a writer for the agent with key, appending to ledger
// and giving up after timeout (default 5s).
func NewWriter(key ed25519.PrivateKey, ledger Appender, timeout time.Duration) *Writer {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Writer{key: key, did: did.FromPublicKey(key.Public().(ed25519.PublicKey)), ledger: ledger, timeout: timeout}
}

// DID is the agent's did:key, the statement's "agent".
func (w *Writer) DID() string { return w.did }

// Record signs a (with its Agent set to this agent) and waits for the
// ledger's durable index. Any failure wraps ErrUnavailable: the caller
// must then refuse the request and not act.
func (w *Writer) Record(ctx context.Context, a statement.Action) (Receipt, error) {
	a.Agent = w.did
	env, err := statement.Sign(&a, w.key)
	if err != nil {
		return Receipt{}, fmt.Errorf("sign receipt: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	res, err := w.ledger.Append(ctx, env)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return Receipt{Index: res.Index, LeafHash: res.LeafHash}, nil
}
