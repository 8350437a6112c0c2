package proofs

import (
	"errors"
	"fmt"
)

// ErrOutOfOrder is a call of [VerifyConsistency] whose new checkpoint has
// a smaller tree than its old one. A checkpoint carries no time, so which of
// two was signed first cannot be known from them: the pair is no evidence
// of anything. Prove the smaller a prefix of the larger instead.
var ErrOutOfOrder = errors.New("checkpoints out of order")

// An InconsistencyError reports two signed checkpoints of one log that a
// consistency proof fails to connect. It keeps both signed notes and the
// proof, so the failure can be stored ([InconsistencyError.MarshalEvidence])
// and checked again offline.
//
// It is only ever made for what no single append-only tree can explain:
// Old.Size <= New.Size always, and either the two sizes are equal with
// different roots (a fork that needs no proof to show), or the proof from the
// smaller tree to the larger fails. The latter is evidence as far as the
// proof goes: the log signed two views of its tree that no valid proof can
// connect (a fork), or it served a bad proof. Re-run [VerifyConsistency] with
// a freshly fetched proof before accusing the log of a fork.
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
// both checkpoints and p: two checkpoints of the same size with different
// roots, or a proof that fails to connect the smaller tree to the larger.
//
// A new checkpoint smaller than the old one is a caller error wrapping
// [ErrOutOfOrder], not an inconsistency: checkpoints carry no time, so the
// same two honest checkpoints can arrive in either order. Callers that saw
// the larger one first and are served the smaller MUST prove the smaller a
// prefix of the larger (swap them) and MAY then refuse the smaller as stale.
func VerifyConsistency(old, new SignedCheckpoint, p ConsistencyProof) error {
	if old.Origin != new.Origin {
		return fmt.Errorf("verify consistency: checkpoints of different logs %q and %q", old.Origin, new.Origin)
	}
	if new.Size < old.Size {
		return fmt.Errorf("verify consistency: %w: the new tree size %d is smaller than the old %d; prove %d -> %d instead",
			ErrOutOfOrder, new.Size, old.Size, new.Size, old.Size)
	}
	if err := CheckConsistency(p, old.Size, new.Size, old.Root, new.Root); err != nil {
		return &InconsistencyError{Old: old, New: new, Proof: p, Err: err}
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
