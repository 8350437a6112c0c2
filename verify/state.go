package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
)

// Files in the state directory.
const (
	stateFile  = "view.json"
	frozenFile = "FROZEN" // names the evidence file; remove it to clear
	maxState   = 256 << 20
)

// persisted is the on-disk form of a view.
type persisted struct {
	Checkpoint string     `json:"checkpoint"` // signed note
	Range      [][]byte   `json:"range"`      // compact range of [0, size)
	Entries    []rawEntry `json:"entries"`    // contracts and revocations
}

func (f *Follower) load() error {
	if err := os.MkdirAll(f.opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(f.opts.StateDir, frozenFile)); err == nil {
		f.frozen = strings.TrimSpace(string(b))
		if f.frozen == "" {
			f.frozen = filepath.Join(f.opts.StateDir, frozenFile)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state dir: %w", err)
	}
	path := filepath.Join(f.opts.StateDir, stateFile)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load view: %w", err)
	}
	if fi.Size() > maxState {
		return fmt.Errorf("load view: %s is %d bytes", path, fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load view: %w", err)
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("load view %s: %w", path, err)
	}
	cp, err := proofs.OpenCheckpoint([]byte(p.Checkpoint), f.opts.Policy.Origin(), f.opts.Policy.LogKey)
	if err != nil {
		return fmt.Errorf("load view: stored checkpoint: %w", err)
	}
	hashes, err := rangeHashes(p.Range)
	if err != nil {
		return fmt.Errorf("load view: %w", err)
	}
	rng, err := proofs.RestoreRange(cp.Size, hashes)
	if err != nil {
		return fmt.Errorf("load view: %w", err)
	}
	v := newView()
	v.cp, v.rng = cp, rng
	if rng.Root() != cp.Root {
		return fmt.Errorf("load view: stored tree does not match the stored checkpoint")
	}
	v.restore(p.Entries, f.opts.Policy.Authority)
	f.v = v
	return nil
}

// save writes v atomically.
func (f *Follower) save(v *view) error {
	p := persisted{Checkpoint: string(v.cp.Note), Range: rangeBytes(v.rng), Entries: v.entries}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return fileio.WriteAtomic(filepath.Join(f.opts.StateDir, stateFile), b, 0o600)
}

// freeze records fork evidence and stops the follower.
func (f *Follower) freeze(inc *proofs.InconsistencyError) error {
	name := filepath.Join(f.opts.StateDir, fmt.Sprintf("evidence-%d-%d.txt", inc.Old.Size, inc.New.Size))
	if err := fileio.WriteAtomic(name, inc.MarshalEvidence(), 0o600); err != nil {
		return errors.Join(inc, fmt.Errorf("write evidence: %w", err))
	}
	if err := fileio.WriteAtomic(filepath.Join(f.opts.StateDir, frozenFile), []byte(name+"\n"), 0o600); err != nil {
		return errors.Join(inc, fmt.Errorf("write %s: %w", frozenFile, err))
	}
	f.mu.Lock()
	f.frozen = name
	f.mu.Unlock()
	return &ForkError{Inconsistency: inc, EvidenceFile: name}
}

// ForkError reports that the log forked: two checkpoints under the trusted
// key that no consistency proof connects. The evidence is in EvidenceFile.
type ForkError struct {
	Inconsistency *proofs.InconsistencyError
	EvidenceFile  string
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("log fork detected, evidence written to %s: %v", e.EvidenceFile, e.Inconsistency)
}

// Unwrap returns the inconsistency.
func (e *ForkError) Unwrap() error { return e.Inconsistency }

// rangeBytes is a range's hashes as persisted: a list of byte strings.
func rangeBytes(r *proofs.Range) [][]byte {
	hs := r.Hashes()
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// rangeHashes is the inverse of rangeBytes.
func rangeHashes(bs [][]byte) ([]proofs.Hash, error) {
	out := make([]proofs.Hash, len(bs))
	for i, b := range bs {
		if len(b) != proofs.HashSize {
			return nil, fmt.Errorf("range hash %d is %d bytes", i, len(b))
		}
		out[i] = proofs.Hash(b)
	}
	return out, nil
}
