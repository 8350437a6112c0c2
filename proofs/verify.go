package proofs

import (
	"fmt"
)

// An InconsistencyError reports two signed checkpoints of one log that a
// consistency proof fails to connect. It keeps both signed notes and the
// proof, so the failure can be stored ([InconsistencyError.MarshalEvidence])
// and checked again offline.
//
// It is evidence against the log only as far as the proof goes: either the
// log signed two views of its tree that no valid proof can connect (a fork),
// or it served a bad proof, or its tree size went backwards. Re-run
// [VerifyConsistency] with a freshly fetched proof before accusing the log of
// a fork; a same-size pair with different roots needs no proof at all.
type InconsistencyError struct {
	Old, New SignedCheckpoint
	Proof    ConsistencyProof
	Err      error // wraps ErrProofFailed
}

func (e *InconsistencyError) Error() string {
	return fmt.Sprintf("inconsistent checkpoints of %q: size %d root %s and size %d root %s: %v",
		e.Old.Origin, e.Old.Size, e.Old.Root, e.New.Size, e.New.Root, e.Err)
}

func (e *InconsistencyError) Unwrap() error { return e.Err }

// An InclusionError reports a proof that fails to show the leaf hash Leaf at
// Index under a signed checkpoint. It keeps the checkpoint and the proof.
type InclusionError struct {
	Checkpoint SignedCheckpoint
	Index      uint64
	Leaf       Hash
	Proof      InclusionProof
	Err        error // wraps ErrProofFailed
}

func (e *InclusionError) Error() string {
	return fmt.Sprintf("leaf %s at index %d not proved under checkpoint of %q at size %d: %v",
		e.Leaf, e.Index, e.Checkpoint.Origin, e.Checkpoint.Size, e.Err)
}

func (e *InclusionError) Unwrap() error { return e.Err }

// VerifyConsistency checks that the signed checkpoint new extends old, using
// the consistency proof p. Both must come from the same log (same origin).
//
// If they do not connect it returns an [*InconsistencyError] that carries
// both checkpoints and p. That includes a new checkpoint smaller than the old
// one, and two checkpoints of the same size with different roots.
func VerifyConsistency(old, new SignedCheckpoint, p ConsistencyProof) error {
	if old.Origin != new.Origin {
		return fmt.Errorf("verify consistency: checkpoints of different logs %q and %q", old.Origin, new.Origin)
	}
	fail := func(err error) error {
		return &InconsistencyError{Old: old, New: new, Proof: p, Err: err}
	}
	if new.Size < old.Size {
		return fail(fmt.Errorf("%w: tree size went backwards from %d to %d", ErrProofFailed, old.Size, new.Size))
	}
	if err := CheckConsistency(p, old.Size, new.Size, old.Root, new.Root); err != nil {
		return fail(err)
	}
	return nil
}

// VerifyInclusion checks that p proves the leaf hash leaf is at index in the
// tree committed to by the signed checkpoint cp. On failure it returns an
// [*InclusionError].
func VerifyInclusion(cp SignedCheckpoint, index uint64, leaf Hash, p InclusionProof) error {
	if err := CheckInclusion(p, index, cp.Size, leaf, cp.Root); err != nil {
		return &InclusionError{Checkpoint: cp, Index: index, Leaf: leaf, Proof: p, Err: err}
	}
	return nil
}
