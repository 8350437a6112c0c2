package verified

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

// ledgerHint is the hint on an error reaching the ledger.
const ledgerHint = "is the ledger running at --ledger?"

// ProveIndex proves the ledger's entry at index under its latest
// checkpoint verified by v, waiting up to wait for one that covers it.
func ProveIndex(ctx context.Context, cl *client.Client, v note.Verifier, index uint64, wait time.Duration) (*verify.ProvedEntry, error) {
	entry, err := cl.Entry(ctx, index)
	if err != nil {
		if NotFound(err) {
			return nil, fmt.Errorf("the ledger has no entry at index %d: %w", index, err)
		}
		return nil, hint.With(fmt.Errorf("fetching entry %d: %w", index, err), ledgerHint)
	}
	return prove(ctx, cl, v, index, entry, wait)
}

// ProveBytes proves that entry, exactly these bytes, is in the ledger,
// under its latest checkpoint verified by v. what names the entry in
// errors (the file it was read from).
func ProveBytes(ctx context.Context, cl *client.Client, v note.Verifier, entry []byte, what string, wait time.Duration) (*verify.ProvedEntry, error) {
	leaf := proofs.LeafHash(entry)
	index, _, err := cl.EntryByHash(ctx, leaf)
	if err != nil {
		if NotFound(err) {
			return nil, hint.With(fmt.Errorf("the ledger has no entry with the bytes of %s (leaf hash %s): %w", what, leaf, err),
				"the file must hold the entry exactly as appended: the signed envelope, not its payload")
		}
		return nil, hint.With(fmt.Errorf("looking up %s: %w", what, err), ledgerHint)
	}
	return prove(ctx, cl, v, index, entry, wait)
}

// prove proves the entry at index and that it is exactly want, the
// bytes the ledger served or the caller holds.
func prove(ctx context.Context, cl *client.Client, v note.Verifier, index uint64, want []byte, wait time.Duration) (*verify.ProvedEntry, error) {
	cp, err := CheckpointCovering(ctx, cl, v, index+1, wait)
	if err != nil {
		return nil, err
	}
	e, _, err := verify.FetchProved(ctx, cl, index, cp.Size, v, verify.Want{})
	if err != nil {
		return nil, &ProofError{What: fmt.Sprintf("entry %d", index), Err: err}
	}
	if !bytes.Equal(e.Entry, want) {
		return nil, hint.With(fmt.Errorf("the ledger proved another entry at index %d than the one asked for", index), DistrustHint)
	}
	return e, nil
}

// A ProofError is an entry whose proof did not verify.
type ProofError struct {
	What string // the entry, for a person
	Err  error
}

func (e *ProofError) Error() string { return e.What + ": " + e.Err.Error() }

func (e *ProofError) Unwrap() error { return e.Err }
