// Package verify is what a relying party runs before it trusts anything the
// ledger says: it follows the log through the C2SP tlog-tiles API, checks
// every checkpoint's signature and its consistency with every checkpoint
// seen before, verifies every entry it reads against the checkpoint, keeps
// the contracts and revocations current, and decides whether a caller's
// contract authorizes a request.
//
// It fails closed. A view older than the maximum checkpoint age, a
// contract not in the followed log, a proof from another tree, and a log
// caught forking all refuse. A fork freezes the view: every decision
// refuses until an operator has looked at the evidence and cleared it.
//
// The package is small on purpose, so an auditor can vendor it: it imports
// nothing from the ledger's server side (no Badger, no ledger package); a
// test holds it to that.
package verify

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/proofs/did"
)

// Defaults of a TrustPolicy.
const (
	DefaultMaxCheckpointAge = 10 * time.Second
	DefaultSkew             = 30 * time.Second
	// DefaultRefreshInterval is how often Follower.Run refreshes when given
	// no interval.
	DefaultRefreshInterval = 500 * time.Millisecond
)

// TrustPolicy is what a relying party trusts: one log, one authority.
type TrustPolicy struct {
	// LogKey verifies checkpoints; its name is the log's origin.
	LogKey note.Verifier
	// Authority is the did:key whose contracts and revocations count.
	Authority string
	// MaxCheckpointAge bounds how long ago the view was last refreshed
	// successfully. Default DefaultMaxCheckpointAge.
	MaxCheckpointAge time.Duration
	// Skew is the clock-skew window applied to contract validity.
	// Default DefaultSkew.
	Skew time.Duration
}

// Origin is the log's origin.
func (p TrustPolicy) Origin() string { return p.LogKey.Name() }

func (p *TrustPolicy) check() error {
	if p.LogKey == nil {
		return errors.New("trust policy: no log key")
	}
	if _, err := did.Parse(p.Authority); err != nil {
		return fmt.Errorf("trust policy: authority: %w", err)
	}
	if p.MaxCheckpointAge <= 0 {
		p.MaxCheckpointAge = DefaultMaxCheckpointAge
	}
	if p.Skew <= 0 {
		p.Skew = DefaultSkew
	}
	return nil
}
