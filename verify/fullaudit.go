package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify/audit"
)

// ErrOtherAuthority: a saved full audit is of another authority's log.
var ErrOtherAuthority = errors.New("the saved audit is of another authority")

// A FullAudit checks every entry's content (package audit's rules) up to
// a verified checkpoint, reading entries through an [EntryReader], and
// resumes where its last run stopped. Its saved form ([FullAudit.Marshal])
// holds how many entries were audited, the compact range of those
// entries, and the rule engine's state.
type FullAudit struct {
	eng  *audit.Engine
	tree *proofs.Range
	skew time.Duration
}

// savedAudit is a FullAudit's saved form.
type savedAudit struct {
	Size   uint64      `json:"size"`
	Range  [][]byte    `json:"range"`
	Engine audit.State `json:"engine"`
}

// ResumeFullAudit returns the full audit that saved describes, or a new
// audit of authority's log if saved is nil. A saved audit must be of
// authority (else the error wraps [ErrOtherAuthority]), its compact range
// of its size, and its engine at that size too: the next entry audited is
// the next entry ranged.
func ResumeFullAudit(saved []byte, authority string, skew time.Duration) (*FullAudit, error) {
	if saved == nil {
		return &FullAudit{eng: audit.New(authority, skew), tree: proofs.NewRange(), skew: skew}, nil
	}
	var st savedAudit
	if err := json.Unmarshal(saved, &st); err != nil {
		return nil, err
	}
	if st.Engine.Authority != authority {
		return nil, fmt.Errorf("%w: it audits %s, not %s", ErrOtherAuthority, st.Engine.Authority, authority)
	}
	eng, err := audit.Resume(st.Engine, skew)
	if err != nil {
		return nil, err
	}
	if st.Engine.Next != st.Size {
		return nil, fmt.Errorf("the rules are audited to %d entries, the tree to %d", st.Engine.Next, st.Size)
	}
	hashes, err := rangeHashes(st.Range)
	if err != nil {
		return nil, err
	}
	tree, err := proofs.RestoreRange(st.Size, hashes)
	if err != nil {
		return nil, err
	}
	return &FullAudit{eng: eng, tree: tree, skew: skew}, nil
}

// Size is the number of entries audited.
func (a *FullAudit) Size() uint64 { return a.tree.Size() }

// State is the rule engine's state: counts and violations.
func (a *FullAudit) State() audit.State { return a.eng.State() }

// Marshal returns the audit's saved form, for [ResumeFullAudit].
func (a *FullAudit) Marshal() ([]byte, error) {
	return json.Marshal(savedAudit{Size: a.tree.Size(), Range: rangeBytes(a.tree), Engine: a.eng.State()})
}

// Run audits the entries from a.Size() up to cp, which MUST be a
// checkpoint the caller has verified, reading them from src; progress, if
// not nil, is told how many entries each step audited. Entries are
// checked a bundle at a time: their signatures on every core, then the
// rules in index order.
//
// If Run fails, a is unchanged (whatever this run audited is dropped): an
// entry the log served that is not the checkpoint's is an
// [*EntriesMismatchError], and nothing after the last verified run counts.
func (a *FullAudit) Run(ctx context.Context, src TileSource, cp proofs.Checkpoint, progress func(int)) error {
	if a.tree.Size() > cp.Size {
		return fmt.Errorf("the audit is at %d entries, beyond the verified checkpoint %d", a.tree.Size(), cp.Size)
	}
	eng, err := audit.Resume(a.eng.State(), a.skew) // a copy: a stays as it is if the run fails
	if err != nil {
		return err
	}
	rd, err := NewEntryReader(src, cp, a.tree)
	if err != nil {
		return err
	}
	var batch [][]byte
	batchStart := a.tree.Size()
	flush := func() error {
		for i, p := range audit.PrepareAll(batch) {
			if err := eng.CheckPrepared(batchStart+uint64(i), p); err != nil {
				return err
			}
		}
		if progress != nil {
			progress(len(batch))
		}
		batchStart += uint64(len(batch))
		batch = batch[:0]
		return nil
	}
	for _, e := range rd.Entries(ctx) {
		if batch = append(batch, e); len(batch) == proofs.TileWidth {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rd.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	a.eng, a.tree = eng, rd.Range()
	return nil
}
