// Package caller is the client side of an inter-agent call: it picks the
// contract that grants the action at the callee from the agent's own set of
// contract tlog-proofs, attaches it in Ledger-Contract (with its proof, so
// the callee need not ask the ledger), signs the request under the RFC 9421
// profile, and sends it.
package caller

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// ErrNoContract is returned when the agent holds no contract that grants
// the action at the callee now.
var ErrNoContract = errors.New("no contract grants this action at this callee")

// Contract is one contract the agent holds, with its tlog-proof.
type Contract struct {
	Ref       statement.ContractRef
	Statement *statement.Contract
	Bundle    []byte // the C2SP tlog-proof text
}

// ParseContract reads a contract's tlog-proof. It checks the proof's form
// and that it carries a contract, not that it verifies: the callee does
// that, against its own view of the log.
func ParseContract(bundle []byte) (Contract, error) {
	b, err := proofs.ParseBundle(bundle)
	if err != nil {
		return Contract{}, err
	}
	env, err := envelope.Parse(b.Extra)
	if err != nil {
		return Contract{}, err
	}
	if env.Kind != envelope.KindContract {
		return Contract{}, fmt.Errorf("the tlog-proof carries a %s, not a contract", env.Kind)
	}
	c, err := statement.ParseContract(env.Payload)
	if err != nil {
		return Contract{}, err
	}
	return Contract{Ref: statement.ContractRef{Index: b.Index, LeafHash: proofs.LeafHash(b.Extra)}, Statement: c, Bundle: bundle}, nil
}

// Client signs and sends an agent's calls. It is safe for concurrent use.
type Client struct {
	self   string
	signer *httpsig.Signer
	hc     *http.Client
	now    func() time.Time

	mu        sync.RWMutex
	contracts []Contract
	// delivered holds the contracts some callee has accepted: later calls
	// name them by reference only, since the callee's view holds them.
	delivered map[proofs.Hash]bool
}

// New returns a client for the agent with key. A nil hc gets a client with
// a 30-second timeout. A nil now means time.Now; it dates signatures and
// picks contracts valid at that time.
func New(key ed25519.PrivateKey, hc *http.Client, now func() time.Time) *Client {
	self := did.FromPublicKey(key.Public().(ed25519.PublicKey))
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Client{self: self, signer: &httpsig.Signer{Key: key, KeyID: self, Now: now}, hc: hc, now: now,
		delivered: map[proofs.Hash]bool{}}
}

// DID is the agent's did:key.
func (c *Client) DID() string { return c.self }

// Add adds a contract the agent holds. Contracts for another subject are
// refused: the agent could not use them.
func (c *Client) Add(k Contract) error {
	if k.Statement.Subject != c.self {
		return fmt.Errorf("contract %s grants %s, not this agent", k.Statement.ID, k.Statement.Subject)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.contracts = append(c.contracts, k)
	return nil
}

// Pick returns the contract to use for action at callee: one whose
// audience is callee, valid now, with a scope naming the action. Among
// several, the one issued last wins.
func (c *Client) Pick(callee, action string) (Contract, error) {
	now := c.now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var best *Contract
	for i := range c.contracts {
		k := &c.contracts[i]
		if k.Statement.Audience != callee || k.Statement.ValidAt(now, 0) != nil || !names(k.Statement.Scopes, action) {
			continue
		}
		if best == nil || k.Ref.Index > best.Ref.Index {
			best = k
		}
	}
	if best == nil {
		return Contract{}, fmt.Errorf("%w: %s at %s", ErrNoContract, action, callee)
	}
	return *best, nil
}

func names(scopes []string, action string) bool {
	for _, s := range scopes {
		if sc, err := scope.Parse(s); err == nil && sc.Name() == action {
			return true
		}
	}
	return false
}

// Call sends a signed request for action to the callee (did:key) at url,
// relying on the contract Pick chooses. The first call under a contract
// carries its tlog-proof; once a callee has accepted it, calls name it by
// reference only. The response is the callee's; its Ledger-Receipt header,
// on success, names the approval's log entry.
func (c *Client) Call(ctx context.Context, method, url, callee, action string, body []byte) (*http.Response, error) {
	k, err := c.Pick(callee, action)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	if c.delivered[k.Ref.LeafHash] {
		k.Bundle = nil
	}
	c.mu.RUnlock()
	req, err := c.NewRequest(ctx, method, url, k, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err == nil && resp.StatusCode/100 == 2 {
		c.mu.Lock()
		c.delivered[k.Ref.LeafHash] = true
		c.mu.Unlock()
	}
	return resp, err
}

// NewRequest builds the signed request for body under contract k.
func (c *Client) NewRequest(ctx context.Context, method, url string, k Contract, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	v, err := contractref.Format(k.Ref, k.Bundle)
	if err != nil {
		return nil, err
	}
	req.Header.Set(contractref.ContractHeader, v)
	req.Header.Set("Content-Type", "application/json")
	if err := c.signer.Sign(req, body); err != nil {
		return nil, err
	}
	return req, nil
}
