package auditor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
	"github.com/agentledger/agentledger/verify/audit"
)

// A FullReport is what a full audit found, over every entry audited so
// far (this run and the runs before it).
type FullReport struct {
	Size          uint64            `json:"size"`
	AuditedNow    uint64            `json:"audited_this_run"`
	Counts        audit.Counts      `json:"counts"`
	Violations    []audit.Violation `json:"violations"`
	NewViolations int               `json:"new_violations"`
}

// WriteText prints r for a person.
func (r FullReport) WriteText(w io.Writer) {
	c := r.Counts
	fmt.Fprintf(w, "audited %d entries: %d registrations, %d contracts, %d revocations, %d actions\n",
		c.Entries, c.Registrations, c.Contracts, c.Revocations, c.Actions)
	if len(r.Violations) == 0 {
		fmt.Fprintln(w, "clean: every entry is well signed, written by whom the rules allow, and every action within its contract")
		return
	}
	fmt.Fprintf(w, "%d violations (%d new):\n", len(r.Violations), r.NewViolations)
	for _, v := range r.Violations {
		reason := v.Kind
		if v.Reason != "" {
			reason += " (" + v.Reason + ")"
		}
		fmt.Fprintf(w, "  entry %d: %s: %s\n", v.Index, reason, v.Detail)
	}
}

// A Progress is told how many entries a run will audit, and returns
// what to call as they are audited and when the run ends.
type Progress func(total uint64) (advance func(n int), finish func())

// Full audits every entry of tiles up to cp, which must be verified
// (CheckConsistency's Trusted), resuming from the progress kept in dir
// for authority, and keeps the new progress. Entries are used only once
// their leaf hashes extend the audited tree to cp's root: entries that
// do not are a *verify.EntriesMismatchError, and nothing of the run is
// kept. progress may be nil.
func Full(ctx context.Context, tiles verify.TileSource, cp proofs.SignedCheckpoint, authority, dir string, skew time.Duration, progress Progress) (FullReport, error) {
	path := filepath.Join(dir, FullFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw, err = nil, nil
	}
	if err != nil {
		return FullReport{}, fmt.Errorf("audit state: %w", err)
	}
	fa, err := verify.ResumeFullAudit(raw, authority, skew)
	if err != nil {
		if errors.Is(err, verify.ErrOtherAuthority) {
			return FullReport{}, hint.With(fmt.Errorf("%s: %w", path, err), "use a separate --state for another authority")
		}
		return FullReport{}, fmt.Errorf("audit state %s: %w", path, err)
	}
	if fa.Size() > cp.Size {
		return FullReport{}, fmt.Errorf("audit state is at %d entries, beyond the verified checkpoint %d", fa.Size(), cp.Size)
	}
	before, start := len(fa.State().Violations), fa.Size()
	advance, finish := func(int) {}, func() {}
	if progress != nil {
		advance, finish = progress(cp.Size - start)
	}
	err = fa.Run(ctx, tiles, cp.Checkpoint, advance)
	finish()
	if err != nil {
		return FullReport{}, err
	}
	out, err := fa.Marshal()
	if err != nil {
		return FullReport{}, err
	}
	if err := fileio.WriteAtomic(path, out, 0o600); err != nil {
		return FullReport{}, err
	}
	es := fa.State()
	return FullReport{Size: cp.Size, AuditedNow: cp.Size - start, Counts: es.Counts,
		Violations: es.Violations, NewViolations: len(es.Violations) - before}, nil
}
