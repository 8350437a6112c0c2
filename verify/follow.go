package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/agentledger/agentledger/proofs"
)

// Source is what the follower reads from a ledger: the C2SP tlog-tiles API
// and consistency proofs. ledger/client.Client satisfies it.
type Source interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	Tile(ctx context.Context, t proofs.Tile) ([]byte, error)
	ConsistencyProof(ctx context.Context, oldSize, newSize uint64) (proofs.ConsistencyProof, error)
}

var (
	// ErrFrozen: the log was caught forking; every decision refuses until
	// an operator clears the state (see Follower).
	ErrFrozen = errors.New("log inconsistency detected; refusing until an operator clears it")
)

// Options configures a Follower.
type Options struct {
	Policy TrustPolicy
	Source Source
	// StateDir keeps the verified view and any fork evidence. Required.
	StateDir string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Follower keeps a verified view of the log. Refresh advances it to the
// ledger's latest checkpoint; Run refreshes on a timer. It is safe for
// concurrent use.
//
// Every update checks the new checkpoint's signature, a consistency proof
// from the last verified checkpoint, and the new entries themselves (their
// leaf hashes must extend the tree to the new root). A consistency failure
// writes evidence (both signed checkpoints and the proof) to StateDir and
// freezes the follower: it refuses every decision, across restarts, until
// an operator removes StateDir/FROZEN.
type Follower struct {
	opts Options

	mu          sync.RWMutex
	v           *view
	lastRefresh time.Time
	frozen      string // evidence file, when frozen

	refresh sync.Mutex // one Refresh at a time
}

// NewFollower returns a follower with the view persisted in StateDir, or an
// empty one. An empty view trusts the first checkpoint it sees (trust on
// first use) and verifies everything after it.
func NewFollower(opts Options) (*Follower, error) {
	if err := opts.Policy.check(); err != nil {
		return nil, err
	}
	if opts.Source == nil || opts.StateDir == "" {
		return nil, errors.New("follower: Source and StateDir are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Follower{opts: opts, v: newView()}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// Policy is the follower's trust policy.
func (f *Follower) Policy() TrustPolicy { return f.opts.Policy }

// Checkpoint is the latest verified checkpoint (zero before the first
// refresh).
func (f *Follower) Checkpoint() proofs.SignedCheckpoint {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.v.cp
}

// Fresh reports why the view may not be relied on now: ErrFrozen, or a
// *Refusal with reason checkpoint_stale when the last successful refresh
// is older than the policy's maximum age. A checkpoint carries no time, so
// freshness is measured from the last successful refresh.
func (f *Follower) Fresh() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.freshLocked()
}

func (f *Follower) freshLocked() error {
	if f.frozen != "" {
		return refuse(ReasonLogInconsistent, "%v (evidence in %s)", ErrFrozen, f.frozen)
	}
	age := f.opts.Now().Sub(f.lastRefresh)
	if f.lastRefresh.IsZero() || age > f.opts.Policy.MaxCheckpointAge {
		return refuse(ReasonCheckpointStale, "no successful refresh of the log view for %v (max %v)",
			age.Round(time.Millisecond), f.opts.Policy.MaxCheckpointAge)
	}
	return nil
}

// Run refreshes every interval (DefaultRefreshInterval if zero) until ctx
// ends, reporting each failed refresh to onError (which may be nil).
func (f *Follower) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.Refresh(ctx); err != nil && onError != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh advances the view to the ledger's latest checkpoint. On success
// the view is fresh again. A fork returns a *proofs.InconsistencyError and
// freezes the follower.
func (f *Follower) Refresh(ctx context.Context) error {
	f.refresh.Lock()
	defer f.refresh.Unlock()
	f.mu.RLock()
	cur, frozen := f.v, f.frozen
	f.mu.RUnlock()
	if frozen != "" {
		return ErrFrozen
	}
	raw, err := f.opts.Source.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("fetch checkpoint: %w", err)
	}
	cp, err := proofs.OpenCheckpoint(raw, f.opts.Policy.Origin(), f.opts.Policy.LogKey)
	if err != nil {
		return fmt.Errorf("ledger checkpoint: %w", err)
	}
	if cur.cp.Note != nil {
		switch {
		case cp.Size < cur.cp.Size:
			// An older checkpoint than one already verified: a lagging
			// replica, or a log hiding its tail. Either way, not fresh.
			return f.checkOlder(ctx, cur.cp, cp)
		case cp.Size == cur.cp.Size:
			if cp.Root != cur.cp.Root {
				return f.freeze(&proofs.InconsistencyError{Old: cur.cp, New: cp, Err: proofs.ErrProofFailed})
			}
			f.touch()
			return nil
		}
		p, err := f.opts.Source.ConsistencyProof(ctx, cur.cp.Size, cp.Size)
		if err != nil {
			return fmt.Errorf("fetch consistency proof %d -> %d: %w", cur.cp.Size, cp.Size, err)
		}
		if err := proofs.VerifyConsistency(cur.cp, cp, p); err != nil {
			var inc *proofs.InconsistencyError
			if errors.As(err, &inc) {
				return f.freeze(inc)
			}
			return err
		}
	}
	// The new entries are read into a copy of the view, kept only if
	// every one of them is the checkpoint's.
	next := cur.clone()
	rd, err := NewEntryReader(f.opts.Source, cp.Checkpoint, cur.rng)
	if err != nil {
		return err
	}
	for index, e := range rd.Entries(ctx) {
		next.note(index, proofs.LeafHash(e), e, f.opts.Policy.Authority)
	}
	if err := rd.Err(); err != nil {
		return err
	}
	next.rng = rd.Range()
	next.cp = cp
	if err := f.save(next); err != nil {
		return err
	}
	f.mu.Lock()
	f.v = next
	f.lastRefresh = f.opts.Now()
	f.mu.Unlock()
	return nil
}

func (f *Follower) touch() {
	f.mu.Lock()
	f.lastRefresh = f.opts.Now()
	f.mu.Unlock()
}

// checkOlder handles a checkpoint smaller than the verified one: it must
// be consistent with it, or it is evidence of a fork.
func (f *Follower) checkOlder(ctx context.Context, cur, older proofs.SignedCheckpoint) error {
	p, err := f.opts.Source.ConsistencyProof(ctx, older.Size, cur.Size)
	if err != nil {
		return fmt.Errorf("ledger served checkpoint %d, older than verified %d, and no proof: %w", older.Size, cur.Size, err)
	}
	if err := proofs.VerifyConsistency(older, cur, p); err != nil {
		var inc *proofs.InconsistencyError
		if errors.As(err, &inc) {
			return f.freeze(inc)
		}
		return err
	}
	return fmt.Errorf("ledger served checkpoint %d, older than the verified %d; not refreshed", older.Size, cur.Size)
}
