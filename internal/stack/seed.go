// Package stack runs the system on one machine: the ledger and the four
// agents in one process on loopback (the demo, up and the order
// benchmark), and the seed's world they all start from: the parties,
// their keys and registrations, and the scoped contracts between them,
// signed by the authority and proved in the log.
package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs/envelope"
)

// ProofExt is the file extension of C2SP tlog-proof files.
const ProofExt = ".tlog-proof"

// A Party is one registered identity of the seed's world.
type Party struct {
	Name, Risk string
	// Serves is what its registration says it serves: its role's actions
	// (roles.Serves), or none for the storefront, which only calls.
	Serves []string
}

// Parties are the four agents, each serving its role's actions, and the
// storefront.
func Parties() []Party {
	return []Party{{"order-agent", "low", roles.Serves(roles.Order)}, {"inventory-agent", "medium", roles.Serves(roles.Inventory)},
		{"payment-agent", "high", roles.Serves(roles.Payment)}, {"fulfillment-agent", "medium", roles.Serves(roles.Fulfillment)},
		{"storefront", "low", nil}}
}

// A Grant is a contract of the seed: scopes a caller holds at a callee.
type Grant struct {
	Caller, Callee string
	Scopes         []string
}

// What names the grant: "caller -> callee".
func (g Grant) What() string { return g.Caller + " -> " + g.Callee }

// Grants are the seed's contracts: what the order agent may ask of each
// agent, the storefront of the order agent, and the inventory agent's
// standing grant for its own low-stock restocks (of at most the default
// restock amount). No refund is granted.
func Grants() []Grant {
	return []Grant{
		{"order-agent", "inventory-agent", []string{"inventory:reserve", "inventory:consume", "inventory:release", "inventory:check"}},
		{"inventory-agent", "inventory-agent", []string{"inventory:restock:max_qty50"}},
		{"order-agent", "payment-agent", []string{"payment:charge:max_10000usd"}},
		{"order-agent", "fulfillment-agent", []string{"fulfillment:label", "fulfillment:notify"}},
		{"storefront", "order-agent", []string{"order:create"}},
	}
}

// An Issued is a contract of the seed in the log.
type Issued struct {
	Grant
	ID    string
	Index uint64
	Entry []byte // the contract entry
	Proof []byte // its tlog-proof, under a checkpoint that covers it
}

// A Written is an entry the seeding wrote: what it is and where it sits.
type Written struct {
	What  string `json:"what"`         // "registration NAME" or "contract CALLER -> CALLEE"
	ID    string `json:"id,omitempty"` // the party's did:key, or the contract's id
	Index uint64 `json:"index"`
}

// A World is the seed's parties registered and its contracts issued.
type World struct {
	Authority identity.Identity
	IDs       map[string]identity.Identity // by party name
	Contracts map[string]Issued            // by Grant.What
	Written   []Written                    // in the order written
}

// Seed checks the ledger's checkpoint with logKey, then registers each
// party with a key made here, then issues each grant,
// valid from now for ttl, signed by the authority, and waits (up to wait)
// for the proof of every contract under the log key. With keyDir set,
// each party's key is kept there as NAME.pem (mode 0600): nobody but this
// machine ever holds it. Any refusal or failed proof stops the seeding.
func Seed(ctx context.Context, cl *client.Client, logKey note.Verifier, authority identity.Identity, parties []Party, grants []Grant,
	ttl, wait time.Duration, keyDir string) (*World, error) {
	w := &World{Authority: authority, IDs: map[string]identity.Identity{}, Contracts: map[string]Issued{}}
	// The log key is checked before anything is written or kept.
	if _, err := verified.Checkpoint(ctx, cl, logKey); err != nil {
		return nil, fmt.Errorf("before seeding: %w", err)
	}
	if keyDir != "" {
		if err := os.MkdirAll(keyDir, 0o700); err != nil {
			return nil, err
		}
	}
	for _, p := range parties {
		id, err := identity.New(p.Name)
		if err != nil {
			return nil, err
		}
		if keyDir != "" {
			if err := keyfile.Write(filepath.Join(keyDir, p.Name+".pem"), id.Key); err != nil {
				return nil, err
			}
		}
		raw, err := authority.Register(id, p.Risk, p.Serves, time.Now())
		if err != nil {
			return nil, err
		}
		res, err := cl.Append(ctx, raw)
		if err == nil && res.Duplicate {
			err = fmt.Errorf("the log already holds this registration, at index %d", res.Index)
		}
		if err != nil {
			return nil, fmt.Errorf("register %s: %w", p.Name, verified.ExplainRefusal(err))
		}
		w.IDs[p.Name] = id
		w.Written = append(w.Written, Written{What: "registration " + p.Name, ID: id.DID, Index: res.Index})
	}
	for _, g := range grants {
		caller, callee := w.IDs[g.Caller], w.IDs[g.Callee]
		if caller.DID == "" || callee.DID == "" {
			return nil, fmt.Errorf("contract %s: both must be parties of the seed", g.What())
		}
		raw, id, err := authority.Contract(caller.DID, callee.DID, g.Scopes, time.Now(), ttl)
		if err != nil {
			return nil, err
		}
		res, err := cl.Append(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("contract %s: %w", g.What(), verified.ExplainRefusal(err))
		}
		w.Contracts[g.What()] = Issued{Grant: g, ID: id, Index: res.Index, Entry: raw}
		w.Written = append(w.Written, Written{What: "contract " + g.What(), ID: id, Index: res.Index})
	}
	// Every contract is proved before anyone relies on it.
	for _, g := range grants {
		c := w.Contracts[g.What()]
		e, proof, err := verified.ProveAppended(ctx, cl, logKey, c.Index, envelope.KindContract, c.Entry, wait)
		if err != nil {
			return nil, fmt.Errorf("contract %s: %w", g.What(), err)
		}
		if e.Envelope.KeyID != authority.DID {
			return nil, fmt.Errorf("contract %s: proved, but signed by %s", g.What(), e.Envelope.KeyID)
		}
		c.Proof = proof
		w.Contracts[g.What()] = c
	}
	return w, nil
}

// CoveredSize is the tree size that covers every entry the seeding wrote.
func (w *World) CoveredSize() uint64 {
	var n uint64
	for _, e := range w.Written {
		n = max(n, e.Index+1)
	}
	return n
}

// Entry returns what the seeding wrote as what, if anything.
func (w *World) Entry(what string) (Written, bool) {
	for _, e := range w.Written {
		if e.What == what {
			return e, true
		}
	}
	return Written{}, false
}
