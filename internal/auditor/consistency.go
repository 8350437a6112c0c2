// Package auditor is the relying party that audits the log without
// trusting its operator: it keeps the last checkpoint it proved in a
// state directory, proves every later checkpoint consistent with it, and
// audits every entry up to it (the full audit), resuming where the last
// run stopped. It reads a ledger over HTTP or an offline mirror.
package auditor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/internal/hint"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

// The state directory's files.
const (
	// CheckpointFile is the last checkpoint proved consistent.
	CheckpointFile = "checkpoint"
	// FullFile is the full audit's progress (verify.FullAudit's saved
	// form).
	FullFile = "full.json"
)

// A Source is what an audit reads: a ledger, or a mirror of one.
type Source interface {
	// Checkpoint is the source's latest checkpoint, verified.
	Checkpoint(ctx context.Context) (proofs.SignedCheckpoint, error)
	// Consistency is a proof that older is a prefix of newer.
	Consistency(ctx context.Context, older, newer proofs.SignedCheckpoint) (proofs.ConsistencyProof, error)
	// Tiles serves the entries and hash tiles.
	Tiles() verify.TileSource
}

// Ledger is a ledger's HTTP API as a Source.
func Ledger(cl *client.Client, v note.Verifier) Source { return ledgerSource{cl: cl, v: v} }

type ledgerSource struct {
	cl *client.Client
	v  note.Verifier
}

func (l ledgerSource) Checkpoint(ctx context.Context) (proofs.SignedCheckpoint, error) {
	return verified.Checkpoint(ctx, l.cl, l.v)
}

func (l ledgerSource) Consistency(ctx context.Context, older, newer proofs.SignedCheckpoint) (proofs.ConsistencyProof, error) {
	return l.cl.ConsistencyProof(ctx, older.Size, newer.Size)
}

func (l ledgerSource) Tiles() verify.TileSource { return l.cl }

// Mirror is a mirror made by 'ledgerctl export' in dir as a Source, with
// no network: consistency proofs are computed from its tiles.
func Mirror(dir string, v note.Verifier) Source { return mirrorSource{dir: dir, v: v} }

type mirrorSource struct {
	dir string
	v   note.Verifier
}

func (m mirrorSource) Checkpoint(context.Context) (proofs.SignedCheckpoint, error) {
	raw, err := fileio.ReadLimit(filepath.Join(m.dir, "checkpoint"), proofs.MaxCheckpointSize, "mirror checkpoint")
	if err != nil {
		return proofs.SignedCheckpoint{}, hint.With(err, "is --dir a mirror made by ledgerctl export?")
	}
	cp, err := proofs.OpenCheckpoint(raw, m.v.Name(), m.v)
	if err != nil {
		return proofs.SignedCheckpoint{}, fmt.Errorf("the mirror's checkpoint does not verify: %w", err)
	}
	return cp, nil
}

func (m mirrorSource) Consistency(ctx context.Context, older, newer proofs.SignedCheckpoint) (proofs.ConsistencyProof, error) {
	cur, err := m.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if newer.Size != cur.Size || newer.Root != cur.Root {
		return nil, fmt.Errorf("the mirror (tree size %d) is older than the last audit (%d); export it again", cur.Size, newer.Size)
	}
	return verify.MirrorConsistency(m.dir, older, cur)
}

func (m mirrorSource) Tiles() verify.TileSource { return verify.DirTiles(m.dir) }

// A Growth is what one consistency check found.
type Growth struct {
	// Trusted is the checkpoint the audit now stands on.
	Trusted proofs.SignedCheckpoint
	// First: no checkpoint was stored, so Trusted is trusted on first
	// use.
	First bool
	// From and To are the stored and the served tree sizes.
	From, To uint64
	// ProofHashes is the length of the consistency proof verified.
	ProofHashes int
}

// String says what the check found, for a person.
func (g Growth) String() string {
	switch {
	case g.First:
		return fmt.Sprintf("first audit: trusting checkpoint %d (root %s) of log %q; later audits prove the log only grew from it",
			g.Trusted.Size, g.Trusted.Root, g.Trusted.Origin)
	}
	return fmt.Sprintf("consistent: log %q grew from %d to %d entries (%d-hash proof verified)", g.Trusted.Origin, g.From, g.To, g.ProofHashes)
}

// A BehindError is a served checkpoint smaller than the one stored, and
// proved to be a prefix of it. It is no evidence against the log: a
// checkpoint carries no time, so the two are what one honest log signed, and
// a lagging replica serves the same. But this auditor saw the larger tree,
// and the log must not shrink from what a party saw, so the served
// checkpoint is refused and the stored one kept: the audit does not advance
// until the log serves the larger tree again or a tree that extends it.
//
// Err, if not nil, is why no proof could be had (the source cannot prove up
// to the stored size, as a lagging replica cannot); the served checkpoint
// is refused all the same, and it is no evidence either.
type BehindError struct {
	Stored, Served proofs.SignedCheckpoint
	Err            error
}

func (e *BehindError) Error() string {
	msg := fmt.Sprintf("the ledger served checkpoint %d, smaller than checkpoint %d this auditor saw before", e.Served.Size, e.Stored.Size)
	if e.Err != nil {
		return msg + ", and no consistency proof between them: " + e.Err.Error()
	}
	return msg + ": a prefix of it (proved), so no evidence of a fork, but the log is not showing all it signed"
}

func (e *BehindError) Unwrap() error { return e.Err }

// behindHint is the hint of a *BehindError.
const behindHint = "a lagging replica, or a log hiding its tail: audit again later; " +
	"a smaller checkpoint is no evidence of a fork, since checkpoints carry no time"

// An InconsistentError is a served checkpoint that is not consistent with
// the one stored: proof that the log forked or rewrote its history. The
// evidence is kept in a file of the state directory.
type InconsistentError struct {
	Stored   proofs.SignedCheckpoint
	Evidence string                     // the evidence file
	Proof    *proofs.InconsistencyError // both checkpoints and the proof
	err      error
}

func (e *InconsistentError) Error() string {
	return fmt.Sprintf("the log is not consistent with checkpoint %d seen before; evidence written to %s: %v", e.Stored.Size, e.Evidence, e.err)
}

func (e *InconsistentError) Unwrap() error { return e.err }

// CheckConsistency proves src's latest checkpoint consistent with the one
// stored in dir, and stores it once proved (the first run stores it
// unproved: trust on first use). A checkpoint smaller than the stored one
// is proved a prefix of it, then refused with a *BehindError; the stored one
// is kept and no evidence is written. An inconsistency is an
// *InconsistentError, its evidence written to dir first: two roots for one
// size, or a failing proof from the smaller tree to the larger, never a pair
// merely in the "wrong" order.
func CheckConsistency(ctx context.Context, src Source, v note.Verifier, dir string) (Growth, error) {
	latest, err := src.Checkpoint(ctx)
	if err != nil {
		return Growth{}, err
	}
	path := filepath.Join(dir, CheckpointFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := fileio.WriteAtomic(path, latest.Note, 0o644); err != nil {
			return Growth{}, err
		}
		return Growth{Trusted: latest, First: true, To: latest.Size}, nil
	}
	if err != nil {
		return Growth{}, fmt.Errorf("audit state: %w", err)
	}
	stored, err := proofs.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		return Growth{}, fmt.Errorf("the stored checkpoint %s does not verify under the log key: %w", path, err)
	}
	g := Growth{Trusted: stored, From: stored.Size, To: latest.Size}
	// Checkpoints carry no time: prove the smaller a prefix of the larger,
	// whichever was seen first.
	older, newer := stored, latest
	if latest.Size < stored.Size {
		older, newer = latest, stored
	}
	var p proofs.ConsistencyProof
	if older.Size != newer.Size && older.Size > 0 {
		if p, err = src.Consistency(ctx, older, newer); err != nil {
			if latest.Size < stored.Size {
				return g, hint.With(&BehindError{Stored: stored, Served: latest, Err: err}, behindHint)
			}
			return g, fmt.Errorf("fetching the consistency proof %d -> %d: %w", older.Size, newer.Size, err)
		}
	}
	g.ProofHashes = len(p)
	if err := proofs.VerifyConsistency(older, newer, p); err != nil {
		var inc *proofs.InconsistencyError
		if !errors.As(err, &inc) {
			return g, err
		}
		evidence := filepath.Join(dir, fmt.Sprintf("evidence-%d-%d.txt", inc.Old.Size, inc.New.Size))
		if werr := fileio.WriteAtomic(evidence, inc.MarshalEvidence(), 0o644); werr != nil {
			return g, errors.Join(err, werr)
		}
		return g, &InconsistentError{Stored: stored, Evidence: evidence, Proof: inc, err: err}
	}
	if latest.Size < stored.Size {
		return g, hint.With(&BehindError{Stored: stored, Served: latest}, behindHint)
	}
	if err := fileio.WriteAtomic(path, latest.Note, 0o644); err != nil {
		return g, err
	}
	g.Trusted = latest
	return g, nil
}
