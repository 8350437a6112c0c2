package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
	"github.com/agentledger/agentledger/verify/audit"
)

// auditFullFile holds the full audit's progress: what was audited, the
// compact range of those entries, and the rule engine's state.
const auditFullFile = "full.json"

type fullState struct {
	Size   uint64      `json:"size"`
	Range  [][]byte    `json:"range"`
	Engine audit.State `json:"engine"`
}

var auditRanges = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// errOtherAuthority: a saved full audit is of another authority's log.
var errOtherAuthority = errors.New("the saved audit is of another authority")

// parseFullState reads a saved full audit (none if raw is nil: a new audit
// of authority's log). A saved one is of authority, its engine resumes,
// its compact range is of its size, and its engine is at that size too:
// the next entry audited is the next entry ranged.
func parseFullState(raw []byte, authority string, skew time.Duration) (fullState, *audit.Engine, *compact.Range, error) {
	var st fullState
	eng := audit.New(authority, skew)
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fullState{}, nil, nil, err
		}
		if st.Engine.Authority != authority {
			return fullState{}, nil, nil, fmt.Errorf("%w: it audits %s, not %s", errOtherAuthority, st.Engine.Authority, authority)
		}
		var err error
		if eng, err = audit.Resume(st.Engine, skew); err != nil {
			return fullState{}, nil, nil, err
		}
		if st.Engine.Next != st.Size {
			return fullState{}, nil, nil, fmt.Errorf("the rules are audited to %d entries, the tree to %d", st.Engine.Next, st.Size)
		}
	}
	rng, err := auditRanges.NewRange(0, st.Size, st.Range)
	if err != nil {
		return fullState{}, nil, nil, err
	}
	return st, eng, rng, nil
}

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
	st, eng, rng, err := parseFullState(raw, authority, skew)
	if err != nil {
		if errors.Is(err, errOtherAuthority) {
			return withHint(fmt.Errorf("%s: %w", path, err), "use a separate --state for another authority")
		}
		return fmt.Errorf("audit state %s: %w", path, err)
	}
	if st.Size > cp.Size {
		return fmt.Errorf("audit state is at %d entries, beyond the verified checkpoint %d", st.Size, cp.Size)
	}
	before, start := len(eng.State().Violations), st.Size
	bar := progressbar.NewOptions64(int64(cp.Size-st.Size), progressbar.OptionSetWriter(s.err),
		progressbar.OptionSetVisibility(isTerminal(s.err)), progressbar.OptionSetDescription("auditing entries"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	// Entries are checked a bundle at a time: their signatures on every
	// core, then the rules in index order.
	var batch [][]byte
	batchStart := st.Size
	flush := func() error {
		for i, p := range audit.PrepareAll(batch) {
			if err := eng.CheckPrepared(batchStart+uint64(i), p); err != nil {
				return err
			}
		}
		_ = bar.Add(len(batch))
		batchStart += uint64(len(batch))
		batch = batch[:0]
		return nil
	}
	err = verify.ReadEntries(ctx, cl, st.Size, cp.Size, func(index uint64, e []byte) error {
		leaf := proofs.LeafHash(e)
		if err := rng.Append(leaf[:], nil); err != nil {
			return err
		}
		if batch = append(batch, e); len(batch) == proofs.TileWidth {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	_ = bar.Finish()
	if err != nil {
		return err
	}
	root := proofs.EmptyRoot()
	if cp.Size > 0 {
		r, err := rng.GetRootHash(nil)
		if err != nil {
			return err
		}
		root = proofs.Hash(r)
	}
	if root != cp.Root {
		// Nothing of this run is kept: the entries are not the signed tree.
		bad := firstTamperedEntry(ctx, cl, st.Size, cp.Size)
		return &exitCodeError{code: exitInconsistent, err: fmt.Errorf(
			"the entries the ledger served for [%d, %d) do not hash to the signed checkpoint's root%s", st.Size, cp.Size, bad)}
	}
	es := eng.State()
	st = fullState{Size: cp.Size, Range: rng.Hashes(), Engine: es}
	out, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := fileio.WriteAtomic(path, out, 0o600); err != nil {
		return err
	}
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

// firstTamperedEntry names the first entry whose leaf hash differs from
// the ledger's level-0 hash tile, if it can tell.
func firstTamperedEntry(ctx context.Context, cl verify.TileSource, from, to uint64) string {
	found := ""
	var tile []byte
	tileIndex := ^uint64(0)
	_ = verify.ReadEntries(ctx, cl, from, to, func(index uint64, e []byte) error {
		if n := index / proofs.TileWidth; n != tileIndex {
			t := proofs.Tile{Index: n, Width: uint16(min(to-n*proofs.TileWidth, proofs.TileWidth))}
			var err error
			if tile, err = cl.Tile(ctx, t); err != nil {
				return err
			}
			tileIndex = n
		}
		off := int(index%proofs.TileWidth) * proofs.HashSize
		if off+proofs.HashSize <= len(tile) && proofs.Hash(tile[off:off+proofs.HashSize]) != proofs.LeafHash(e) {
			found = fmt.Sprintf("; entry %d does not match its hash tile", index)
			return errors.New("found")
		}
		return nil
	})
	return found
}
