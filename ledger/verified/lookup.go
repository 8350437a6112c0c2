package verified

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/wire"
)

// ResolveAgent looks up an agent by name or did:key and verifies its
// registration. An agent registered but not yet under a checkpoint is
// asked for again until wait has passed.
func ResolveAgent(ctx context.Context, cl *client.Client, v note.Verifier, nameOrDID, authority string, wait time.Duration) (Agent, error) {
	a, err := retryUncheckpointed(ctx, wait, func() (wire.Agent, error) { return cl.Agent(ctx, nameOrDID) })
	var api *client.APIError
	switch {
	case err == nil:
		va, err := VerifyAgent(a, v, authority)
		if err != nil {
			return Agent{}, err
		}
		if va.Name != nameOrDID && va.DID != nameOrDID {
			return Agent{}, hint.With(fmt.Errorf("asked for agent %q, the ledger answered the registration of %q (%s)", nameOrDID, va.Name, va.DID), DistrustHint)
		}
		return va, nil
	case err == ctx.Err(): // cancelled while waiting between attempts
		return Agent{}, err
	case errors.As(err, &api) && api.Code == wire.ReasonNotInCheckpoint:
		return Agent{}, hint.With(fmt.Errorf("agent %q is registered but not yet under a checkpoint: %w", nameOrDID, err),
			"checkpoints follow appends within the server's --checkpoint-interval; retry in a moment")
	case errors.As(err, &api) && api.Status == 404:
		return Agent{}, hint.With(fmt.Errorf("%q is not a registered agent: %w", nameOrDID, err),
			"list the registered agents with 'ledgerctl agent list', or register one with 'ledgerctl agent register'")
	default:
		return Agent{}, hint.With(fmt.Errorf("looking up agent %q: %w", nameOrDID, err), "is the ledger running at --ledger?")
	}
}

// retryUncheckpointed calls fetch until it answers anything other than a
// not_in_checkpoint refusal, or until the next attempt would pass wait,
// and returns that last answer. Attempts back off from 50ms to 1s. If ctx
// ends between attempts it returns ctx.Err() itself, unwrapped.
func retryUncheckpointed[T any](ctx context.Context, wait time.Duration, fetch func() (T, error)) (T, error) {
	deadline := time.Now().Add(wait)
	delay := 50 * time.Millisecond
	for {
		got, err := fetch()
		var api *client.APIError
		if !errors.As(err, &api) || api.Code != wire.ReasonNotInCheckpoint || time.Now().Add(delay).After(deadline) {
			return got, err
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// FetchContract fetches the contract with id and verifies it and its
// revocations. A contract not yet under a checkpoint is asked for again
// until wait has passed.
func FetchContract(ctx context.Context, cl *client.Client, v note.Verifier, id, authority string, wait time.Duration) (Contract, error) {
	wc, err := retryUncheckpointed(ctx, wait, func() (wire.Contract, error) { return cl.Contract(ctx, id) })
	var api *client.APIError
	switch {
	case err == nil:
		vc, err := VerifyContract(wc, v, authority)
		if err != nil {
			return Contract{}, err
		}
		if vc.ID != id {
			return Contract{}, hint.With(fmt.Errorf("asked for contract %s, the ledger answered contract %s", id, vc.ID), DistrustHint)
		}
		return vc, nil
	case err == ctx.Err(): // cancelled while waiting between attempts
		return Contract{}, err
	case errors.As(err, &api) && api.Code == wire.ReasonNotInCheckpoint:
		return Contract{}, hint.With(fmt.Errorf("contract %s is in the log but not yet under a checkpoint: %w", id, err),
			"checkpoints follow appends within the server's --checkpoint-interval; retry in a moment")
	case errors.As(err, &api) && api.Status == 404:
		return Contract{}, hint.With(fmt.Errorf("the ledger has no contract %s: %w", id, err),
			"list contracts with 'ledgerctl contract list'")
	default:
		return Contract{}, hint.With(fmt.Errorf("fetching contract %s: %w", id, err), "is the ledger running at --ledger?")
	}
}
