package auditor

import (
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs"
)

// TestRecheckEvidenceOrder: evidence naming two honest checkpoints, the
// larger as "old" (as ledgerctl once wrote for swapped checkpoints), is no
// evidence; one size with two roots is a fork whichever is "old".
func TestRecheckEvidenceOrder(t *testing.T) {
	signer, verifier := testledger.NewLogKey(t)
	l := testledger.StartWith(t, signer, verifier, fixture.NewIdentity("authority"))
	twin := testledger.StartWith(t, signer, verifier, fixture.NewIdentity("other"))
	l.Register("a", "low")
	twin.Register("x", "low")
	cp1, fork1 := checkpoint(t, l), checkpoint(t, twin)
	for _, name := range []string{"b", "c"} {
		l.Register(name, "low")
	}
	cp3 := checkpoint(t, l)

	swapped := (&proofs.InconsistencyError{Old: cp3, New: cp1, Err: proofs.ErrProofFailed}).MarshalEvidence()
	e, err := RecheckEvidence(swapped, verifier)
	if err != nil || e.Verdict != OutOfOrder || e.Verdict.IsEvidence() || e.Inconsistency != nil {
		t.Errorf("swapped honest pair: verdict %v, %+v, %v; want OutOfOrder, not evidence", e.Verdict, e.Inconsistency, err)
	}

	for _, pair := range [][2]proofs.SignedCheckpoint{{cp1, fork1}, {fork1, cp1}} {
		ev := (&proofs.InconsistencyError{Old: pair[0], New: pair[1], Err: proofs.ErrProofFailed}).MarshalEvidence()
		e, err := RecheckEvidence(ev, verifier)
		if err != nil || e.Verdict != Fork || !e.Verdict.IsEvidence() {
			t.Errorf("one size, two roots: verdict %v, %v; want Fork", e.Verdict, err)
		}
	}
}
