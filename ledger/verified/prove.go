package verified

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/verify"
)

// DistrustHint follows every mismatch between a ledger's claim and its
// own proof.
const DistrustHint = "the ledger's answer does not match the signed entry it proves; do not rely on this ledger's answer"

// proveClaimed proves the tlog-proof text the ledger sent for the entry it
// claims is at index, under the checkpoint of tree size checked: it is a
// proof of an entry of kind (verify.ProveEntry), for that index and tree
// size. what names the entry in errors.
func proveClaimed(what, proofText string, v note.Verifier, index, checked uint64, kind envelope.Kind) (*verify.ProvedEntry, error) {
	if proofText == "" {
		return nil, hint.With(fmt.Errorf("%s: the ledger sent no proof", what), DistrustHint)
	}
	e, err := verify.ProveEntry([]byte(proofText), v, verify.Want{Kind: kind})
	if err != nil {
		return nil, ExplainProof(what, err)
	}
	if e.Index != index {
		return nil, hint.With(fmt.Errorf("%s: the ledger claims index %d, its proof is of entry %d", what, index, e.Index), DistrustHint)
	}
	if e.Checkpoint.Size != checked {
		return nil, hint.With(fmt.Errorf("%s: the ledger claims tree size %d, its proof is under tree size %d", what, checked, e.Checkpoint.Size), DistrustHint)
	}
	return e, nil
}

// Prove is verify.FetchProved from the ledger at cl, with words and
// hints for a person about what went wrong.
func Prove(ctx context.Context, cl *client.Client, v note.Verifier, index, size uint64, want verify.Want) (*verify.ProvedEntry, []byte, error) {
	e, raw, err := verify.FetchProved(ctx, cl, index, size, v, want)
	if err != nil {
		return nil, nil, ExplainProof(fmt.Sprintf("entry %d", index), err)
	}
	return e, raw, nil
}

// ExplainProof says what failed in proving what, and what to check.
func ExplainProof(what string, err error) error {
	var api *client.APIError
	switch {
	case errors.Is(err, verify.ErrProofNotVerified):
		return hint.With(fmt.Errorf("%s: the ledger's %w", what, err), "is --log-key the verifier key of this ledger (its DIR/log.pub)?")
	case errors.Is(err, verify.ErrMalformedProof), errors.Is(err, verify.ErrBadEntry), errors.Is(err, verify.ErrWrongKind),
		errors.Is(err, verify.ErrWrongSigner), errors.Is(err, verify.ErrOtherProof):
		return hint.With(fmt.Errorf("%s: %w", what, err), DistrustHint)
	case errors.As(err, &api) && api.Status == 404:
		return err
	}
	return hint.With(err, "is the ledger running at --ledger?")
}
