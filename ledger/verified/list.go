package verified

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/wire"
)

// ListAgents lists the agents registered under the ledger's latest
// checkpoint, each verified (VerifyAgent) against v and, if set,
// authority. Any claim that does not verify fails the whole list. It
// returns the tree size every registration was proved at.
func ListAgents(ctx context.Context, cl *client.Client, v note.Verifier, authority string) ([]Agent, uint64, error) {
	list, err := cl.Agents(ctx)
	if err != nil {
		return nil, 0, hint.With(fmt.Errorf("listing agents: %w", err), "is the ledger running at --ledger?")
	}
	var agents []Agent
	for _, a := range list.Agents {
		if a.CheckedSize != list.CheckedSize {
			return nil, 0, hint.With(fmt.Errorf("agent %q: claimed under tree size %d in an answer for tree size %d", a.Name, a.CheckedSize, list.CheckedSize), DistrustHint)
		}
		va, err := VerifyAgent(a, v, authority)
		if err != nil {
			return nil, 0, err
		}
		agents = append(agents, va)
	}
	return agents, list.CheckedSize, nil
}

// ListContracts lists the contracts under the ledger's latest
// checkpoint, only those granted to subject and at audience when they are
// set (did:keys), each verified (VerifyContract). A contract the ledger
// lists for a subject or audience it does not name fails the list.
func ListContracts(ctx context.Context, cl *client.Client, v note.Verifier, authority, subject, audience string) ([]Contract, uint64, error) {
	list, err := cl.Contracts(ctx, subject, audience)
	if err != nil {
		return nil, 0, hint.With(fmt.Errorf("listing contracts: %w", err), "is the ledger running at --ledger?")
	}
	var vcs []Contract
	for _, wc := range list.Contracts {
		if wc.CheckedSize != list.CheckedSize {
			return nil, 0, hint.With(fmt.Errorf("contract %s: claimed under tree size %d in an answer for tree size %d", wc.ID, wc.CheckedSize, list.CheckedSize), DistrustHint)
		}
		vc, err := VerifyContract(wc, v, authority)
		if err != nil {
			return nil, 0, err
		}
		if subject != "" && vc.Subject != subject || audience != "" && vc.Audience != audience {
			return nil, 0, hint.With(fmt.Errorf("contract %s: the ledger listed it for a caller or callee it does not name", vc.ID), DistrustHint)
		}
		vcs = append(vcs, vc)
	}
	return vcs, list.CheckedSize, nil
}

// Names finds the names of agents by did:key from their verified
// registrations, asking the ledger once per DID.
type Names struct {
	cl        *client.Client
	v         note.Verifier
	authority string
	byDID     map[string]string
}

// NewNames returns Names that verify registrations against v and, if set,
// authority.
func NewNames(cl *client.Client, v note.Verifier, authority string) *Names {
	return &Names{cl: cl, v: v, authority: authority, byDID: map[string]string{}}
}

// Know records an agent already verified.
func (n *Names) Know(a Agent) { n.byDID[a.DID] = a.Name }

// Name is the registered name of the agent d, or "(unregistered)".
func (n *Names) Name(ctx context.Context, d string) (string, error) {
	if name, ok := n.byDID[d]; ok {
		return name, nil
	}
	a, err := n.cl.Agent(ctx, d)
	var api *client.APIError
	if errors.As(err, &api) && api.Code == wire.ReasonNotFound {
		n.byDID[d] = "(unregistered)"
		return n.byDID[d], nil
	}
	if err != nil {
		return "", hint.With(fmt.Errorf("looking up agent %s: %w", d, err), "is the ledger running at --ledger?")
	}
	va, err := VerifyAgent(a, n.v, n.authority)
	if err != nil {
		return "", err
	}
	if va.DID != d {
		return "", hint.With(fmt.Errorf("asked for agent %s, the ledger answered the registration of %s", d, va.DID), DistrustHint)
	}
	n.byDID[d] = va.Name
	return va.Name, nil
}
