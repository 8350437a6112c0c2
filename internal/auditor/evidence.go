package auditor

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/proofs"
)

// A Verdict is what stored inconsistency evidence proves.
//
// Evidence of misbehaviour is only what no single append-only tree can
// explain: Fork and Disconnected. A checkpoint carries no time, so a pair
// whose "new" tree is smaller than its "old" one proves nothing on its own
// (OutOfOrder): the same two honest checkpoints can be read in either order.
type Verdict int

const (
	// NotEvidence: the stored proof connects the two checkpoints after all.
	NotEvidence Verdict = iota
	// Fork: the log key signed two different trees of one size.
	Fork
	// Disconnected: both are signed and the stored proof does not connect
	// the smaller tree to the larger: the log forked, or it served a bad
	// proof.
	Disconnected
	// OutOfOrder: the old checkpoint's tree is the larger. That is no
	// evidence; only a consistency proof from the smaller tree to the
	// larger can show whether they are one log.
	OutOfOrder
)

// IsEvidence reports whether the verdict is evidence against the log.
func (v Verdict) IsEvidence() bool { return v == Fork || v == Disconnected }

// An Evidence is stored inconsistency evidence, re-checked.
type Evidence struct {
	Verdict Verdict
	Old     proofs.SignedCheckpoint
	New     proofs.SignedCheckpoint
	// Inconsistency holds both checkpoints and the failing proof when the
	// verdict is evidence, and is nil otherwise.
	Inconsistency *proofs.InconsistencyError
}

// ErrNotGenuine is evidence with a checkpoint the log key did not sign.
var ErrNotGenuine = errors.New("is not genuine evidence")

// RecheckEvidence re-checks evidence written by CheckConsistency or by
// 'ledgerctl verify-consistency --evidence', offline: both checkpoints
// must be signed by v, and the stored proof is verified again. Evidence
// whose checkpoints v did not sign is an error, not a verdict; a pair in
// reverse order is the verdict OutOfOrder, which is no evidence.
func RecheckEvidence(data []byte, v note.Verifier) (Evidence, error) {
	oldNote, newNote, proof, err := proofs.ParseInconsistencyEvidence(data)
	if err != nil {
		return Evidence{}, err
	}
	var e Evidence
	for _, c := range []struct {
		which string
		note  []byte
		cp    *proofs.SignedCheckpoint
	}{{"old", oldNote, &e.Old}, {"new", newNote, &e.New}} {
		if *c.cp, err = proofs.OpenCheckpoint(c.note, v.Name(), v); err != nil {
			return Evidence{}, hint.With(fmt.Errorf("%w: the %s checkpoint is not signed by the log key: %w", ErrNotGenuine, c.which, err),
				"is --log-key the verifier key of the log the evidence is about?")
		}
	}
	if e.New.Size < e.Old.Size {
		// Written by an older ledgerctl, or by hand: no evidence.
		e.Verdict = OutOfOrder
		return e, nil
	}
	err = proofs.VerifyConsistency(e.Old, e.New, proof)
	if !errors.As(err, &e.Inconsistency) {
		return e, err // nil: NotEvidence
	}
	if e.Old.Size == e.New.Size {
		e.Verdict = Fork
	} else {
		e.Verdict = Disconnected
	}
	return e, nil
}
