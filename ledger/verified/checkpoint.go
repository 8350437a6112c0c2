package verified

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
)

// Checkpoint fetches the ledger's latest checkpoint and verifies it
// with v, for the origin that is v's key name.
func Checkpoint(ctx context.Context, cl *client.Client, v note.Verifier) (proofs.SignedCheckpoint, error) {
	raw, err := cl.Checkpoint(ctx)
	if err != nil {
		return proofs.SignedCheckpoint{}, hint.With(fmt.Errorf("fetching the checkpoint: %w", err),
			"is the ledger running at --ledger?")
	}
	cp, err := proofs.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		return proofs.SignedCheckpoint{}, hint.With(fmt.Errorf("the ledger's checkpoint does not verify: %w", err),
			"is --log-key the verifier key of this ledger (its DIR/log.pub)?")
	}
	return cp, nil
}

// CheckpointCovering returns the ledger's latest verified checkpoint once
// its tree holds at least size entries, polling for at most wait. Errors
// other than a too small tree end the wait at once.
func CheckpointCovering(ctx context.Context, cl *client.Client, v note.Verifier, size uint64, wait time.Duration) (proofs.SignedCheckpoint, error) {
	deadline := time.Now().Add(wait)
	delay := 50 * time.Millisecond
	for {
		cp, err := Checkpoint(ctx, cl, v)
		if err != nil {
			return proofs.SignedCheckpoint{}, err
		}
		if cp.Size >= size {
			return cp, nil
		}
		if time.Now().Add(delay).After(deadline) {
			return proofs.SignedCheckpoint{}, hint.With(
				fmt.Errorf("the ledger's checkpoint (tree size %d) does not cover index %d yet", cp.Size, size-1),
				"checkpoints follow appends within the server's --checkpoint-interval; retry, or raise --wait")
		}
		select {
		case <-ctx.Done():
			return proofs.SignedCheckpoint{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// NotFound reports whether err is the ledger's 404 answer.
func NotFound(err error) bool {
	var api *client.APIError
	return errors.As(err, &api) && api.Status == 404
}
