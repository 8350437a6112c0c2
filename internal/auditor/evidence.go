package auditor

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/proofs"
)

// A Verdict is what stored inconsistency evidence proves.
type Verdict int

const (
	// NotEvidence: the stored proof connects the two checkpoints after all.
	NotEvidence Verdict = iota
	// Fork: the log key signed two different trees of one size.
	Fork
	// Shrunk: both are signed and the newer tree is smaller.
	Shrunk
	// Disconnected: both are signed and the stored proof does not connect
	// them: the log forked, or it served a bad proof.
	Disconnected
)

// An Evidence is stored inconsistency evidence, re-checked.
type Evidence struct {
	Verdict Verdict
	Old     proofs.SignedCheckpoint
	New     proofs.SignedCheckpoint
	// Inconsistency holds both checkpoints and the failing proof, unless
	// the verdict is NotEvidence.
	Inconsistency *proofs.InconsistencyError
}

// ErrNotGenuine is evidence with a checkpoint the log key did not sign.
var ErrNotGenuine = errors.New("is not genuine evidence")

// RecheckEvidence re-checks evidence written by CheckConsistency or by
// 'ledgerctl verify-consistency --evidence', offline: both checkpoints
// must be signed by v, and the stored proof is verified again. Evidence
// whose checkpoints v did not sign is an error, not a verdict.
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
	err = proofs.VerifyConsistency(e.Old, e.New, proof)
	if !errors.As(err, &e.Inconsistency) {
		return e, err // nil: NotEvidence
	}
	switch {
	case e.Old.Size == e.New.Size:
		e.Verdict = Fork
	case e.New.Size < e.Old.Size:
		e.Verdict = Shrunk
	default:
		e.Verdict = Disconnected
	}
	return e, nil
}
