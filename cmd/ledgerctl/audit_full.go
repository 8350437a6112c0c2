package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
	"github.com/agentledger/agentledger/verify/audit"
)

// auditFullFile holds the full audit's progress (verify.FullAudit's
// saved form).
const auditFullFile = "full.json"

// fullReport is what a full audit reports (--json prints it).
type fullReport struct {
	Size          uint64            `json:"size"`
	AuditedNow    uint64            `json:"audited_this_run"`
	Counts        audit.Counts      `json:"counts"`
	Violations    []audit.Violation `json:"violations"`
	NewViolations int               `json:"new_violations"`
}

// auditFull audits every entry up to the stored (just verified)
// checkpoint, resuming from the last run. Entries are used only once their
// leaf hashes extend the audited tree to the checkpoint's root.
func auditFull(ctx context.Context, s streams, cl verify.TileSource, cp proofs.SignedCheckpoint, authority, dir string, skew time.Duration, asJSON bool) error {
	path := filepath.Join(dir, auditFullFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("audit state: %w", err)
	}
	fa, err := verify.ResumeFullAudit(raw, authority, skew)
	if err != nil {
		if errors.Is(err, verify.ErrOtherAuthority) {
			return withHint(fmt.Errorf("%s: %w", path, err), "use a separate --state for another authority")
		}
		return fmt.Errorf("audit state %s: %w", path, err)
	}
	if fa.Size() > cp.Size {
		return fmt.Errorf("audit state is at %d entries, beyond the verified checkpoint %d", fa.Size(), cp.Size)
	}
	before, start := len(fa.State().Violations), fa.Size()
	bar := progressbar.NewOptions64(int64(cp.Size-start), progressbar.OptionSetWriter(s.err),
		progressbar.OptionSetVisibility(isTerminal(s.err)), progressbar.OptionSetDescription("auditing entries"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	err = fa.Run(ctx, cl, cp.Checkpoint, func(n int) { _ = bar.Add(n) })
	_ = bar.Finish()
	var mismatch *verify.EntriesMismatchError
	if errors.As(err, &mismatch) {
		// Nothing of this run is kept: the entries are not the signed tree.
		return &exitCodeError{code: exitInconsistent, err: fmt.Errorf("the entries the ledger served do not hash to the signed checkpoint's root: %w", err)}
	}
	if err != nil {
		return err
	}
	out, err := fa.Marshal()
	if err != nil {
		return err
	}
	if err := fileio.WriteAtomic(path, out, 0o600); err != nil {
		return err
	}
	es := fa.State()
	rep := fullReport{Size: cp.Size, AuditedNow: cp.Size - start, Counts: es.Counts,
		Violations: es.Violations, NewViolations: len(es.Violations) - before}
	if asJSON {
		if err := printJSON(s.out, rep); err != nil {
			return err
		}
	} else {
		printFullReport(s.out, rep)
	}
	if len(es.Violations) > 0 {
		return &exitCodeError{code: exitViolations, err: fmt.Errorf("%d violations in %d entries", len(es.Violations), cp.Size)}
	}
	return nil
}

func printFullReport(w io.Writer, r fullReport) {
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
