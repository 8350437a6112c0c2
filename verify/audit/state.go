package audit

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
)

// ErrState is returned (wrapped) by Resume for a State that is not
// internally consistent, such as one edited by hand or cut short.
var ErrState = errors.New("invalid audit state")

// Violation is one broken rule at one log entry. Kind is machine-readable
// (one of the Kind constants); Reason is a finer machine-readable cause
// where the kind has one (the scope reason for KindNotCovered, "subject" or
// "audience" for KindUnknownParty, ...) and empty otherwise; Detail is for
// people.
type Violation struct {
	Index  uint64 `json:"index"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// Counts counts the audited entries. The four kinds count every entry
// whose envelope parsed as that kind, valid or not; Invalid counts entries
// with at least one violation.
type Counts struct {
	Entries       uint64 `json:"entries"`
	Registrations uint64 `json:"registrations"`
	Contracts     uint64 `json:"contracts"`
	Revocations   uint64 `json:"revocations"`
	Actions       uint64 `json:"actions"`
	Invalid       uint64 `json:"invalid"`
}

// Agent is a registered agent: its name, the index of its registration
// and the actions it serves (empty, never absent, when none).
type Agent struct {
	Name   string   `json:"name"`
	Index  uint64   `json:"index"`
	Serves []string `json:"serves"`
}

// Contract is what the audit keeps of a contract that took effect: its
// index and the statement fields the action rules need.
type Contract struct {
	Index     uint64    `json:"index"`
	ID        string    `json:"id"`
	Issuer    string    `json:"issuer"`
	Subject   string    `json:"subject"`
	Audience  string    `json:"audience"`
	Scopes    []string  `json:"scopes"`
	NotBefore time.Time `json:"not_before"`
	Expires   time.Time `json:"expires"`
}

// NonceUse is one action's use of a nonce: its index and recorded time.
type NonceUse struct {
	Index uint64    `json:"index"`
	Time  time.Time `json:"time"`
}

// State is everything an audit knows after entries [0, Next). It is plain
// data: marshal it with encoding/json, store it, and pass it to Resume to
// go on from Next.
//
// Growth: Agents and Names grow with registrations, Contracts with
// contracts, Revoked with revocations, Nonces with actions (one use per
// action, under a key of at most about 400 bytes) and Charges with charges
// (about 300 bytes each, and 80 more per refund), so a long-lived log's
// state grows linearly with its actions. Checking an action's nonce costs
// one comparison per earlier use of the same key; honest agents leave one
// use per key. Violations is capped at MaxViolations; later
// ones are only counted in DroppedViolations.
type State struct {
	// Next is the index of the next entry to audit.
	Next uint64 `json:"next"`
	// Authority is the authority's did:key.
	Authority string `json:"authority"`
	// Agents maps a registered DID to its name and registration index.
	Agents map[string]Agent `json:"agents"`
	// Names maps a registered name to its registration index.
	Names map[string]uint64 `json:"names"`
	// Contracts maps the base64 leaf hash of each contract that took
	// effect to what the audit keeps of it.
	Contracts map[string]Contract `json:"contracts"`
	// Revoked maps a contract's leaf hash to the index of its first
	// revocation.
	Revoked map[string]uint64 `json:"revoked"`
	// Nonces maps "caller|agent|nonce" to every action that used it, in
	// index order. (A state saved before the nonce rule, with one index
	// per key, does not unmarshal: audit again from the start.)
	Nonces map[string][]NonceUse `json:"nonces"`
	// Charges holds every payment:charge action, by index, and the
	// refunds counted against it.
	Charges Charges `json:"charges"`
	// Counts counts the entries audited so far.
	Counts Counts `json:"counts"`
	// Violations lists the violations found, in index order.
	Violations []Violation `json:"violations"`
	// DroppedViolations counts violations beyond MaxViolations.
	DroppedViolations uint64 `json:"dropped_violations"`
}

// clone returns a deep copy of s with no nil maps or slices, so that two
// equal states marshal to the same JSON.
func (s State) clone() State {
	out := s
	out.Agents = make(map[string]Agent, len(s.Agents))
	for k, a := range s.Agents {
		a.Serves = slices.Clone(a.Serves)
		out.Agents[k] = a
	}
	out.Names = cloneMap(s.Names)
	out.Revoked = cloneMap(s.Revoked)
	out.Nonces = make(map[string][]NonceUse, len(s.Nonces))
	for k, us := range s.Nonces {
		out.Nonces[k] = slices.Clone(us)
	}
	out.Charges = s.Charges.clone()
	out.Contracts = make(map[string]Contract, len(s.Contracts))
	for k, c := range s.Contracts {
		c.Scopes = slices.Clone(c.Scopes)
		if c.Scopes == nil {
			c.Scopes = []string{}
		}
		out.Contracts[k] = c
	}
	out.Violations = append(make([]Violation, 0, len(s.Violations)), s.Violations...)
	return out
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	maps.Copy(out, m)
	return out
}

// check reports the first inconsistency in s, and returns the contract
// indexes by index and by id, which the engine keeps alongside the state.
func (s *State) check() (byIndex map[uint64]string, byID map[string]uint64, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrState}, args...)...)
	}
	if _, err := did.Parse(s.Authority); err != nil {
		return nil, nil, bad("authority: %v", err)
	}
	if s.Counts.Entries != s.Next {
		return nil, nil, bad("counts.entries is %d, next is %d", s.Counts.Entries, s.Next)
	}
	c := s.Counts
	if c.Invalid > c.Entries || c.Registrations+c.Contracts+c.Revocations+c.Actions > c.Entries {
		return nil, nil, bad("counts exceed the entries audited")
	}
	if len(s.Agents) != len(s.Names) {
		return nil, nil, bad("%d agents but %d names", len(s.Agents), len(s.Names))
	}
	for d, a := range s.Agents {
		if _, err := did.Parse(d); err != nil {
			return nil, nil, bad("agent: %v", err)
		}
		if idx, ok := s.Names[a.Name]; !ok || idx != a.Index || a.Index >= s.Next {
			return nil, nil, bad("agent %s: name %q or index %d inconsistent", d, a.Name, a.Index)
		}
		if a.Serves == nil {
			return nil, nil, bad("agent %s: no serves (a state written before registrations listed the actions they serve); audit again from index 0", d)
		}
		if !slices.IsSorted(a.Serves) || len(slices.Compact(slices.Clone(a.Serves))) != len(a.Serves) {
			return nil, nil, bad("agent %s: serves %q not sorted without duplicates", d, a.Serves)
		}
	}
	byIndex = make(map[uint64]string, len(s.Contracts))
	byID = make(map[string]uint64, len(s.Contracts))
	for leaf, ct := range s.Contracts {
		if _, err := proofs.ParseHash(leaf); err != nil {
			return nil, nil, bad("contract %q: %v", leaf, err)
		}
		if ct.Index >= s.Next {
			return nil, nil, bad("contract %s: index %d not before next %d", leaf, ct.Index, s.Next)
		}
		if _, dup := byIndex[ct.Index]; dup {
			return nil, nil, bad("two contracts at index %d", ct.Index)
		}
		if _, dup := byID[ct.ID]; dup {
			return nil, nil, bad("two contracts with id %q", ct.ID)
		}
		byIndex[ct.Index], byID[ct.ID] = leaf, ct.Index
	}
	for leaf, idx := range s.Revoked {
		ct, ok := s.Contracts[leaf]
		if !ok || idx <= ct.Index || idx >= s.Next {
			return nil, nil, bad("revocation of %q at %d inconsistent", leaf, idx)
		}
	}
	for k, us := range s.Nonces {
		if len(us) == 0 {
			return nil, nil, bad("nonce %q has no uses", k)
		}
		for i, u := range us {
			if u.Index >= s.Next || (i > 0 && u.Index <= us[i-1].Index) {
				return nil, nil, bad("nonce %q: use at %d out of order or not before next %d", k, u.Index, s.Next)
			}
		}
	}
	for idx, ch := range s.Charges {
		if idx >= s.Next {
			return nil, nil, bad("charge at %d not before next %d", idx, s.Next)
		}
		if _, err := proofs.ParseHash(ch.LeafHash); err != nil {
			return nil, nil, bad("charge at %d: %v", idx, err)
		}
		if ch.Amount < 0 || ch.Refunded < 0 || ch.Refunded > ch.Amount {
			return nil, nil, bad("charge at %d: %d refunded of %d", idx, ch.Refunded, ch.Amount)
		}
		for d, r := range ch.Refunds {
			if r <= idx || r >= s.Next {
				return nil, nil, bad("refund %q of the charge at %d: index %d out of range", d, idx, r)
			}
		}
	}
	for i, v := range s.Violations {
		if v.Index >= s.Next || (i > 0 && v.Index < s.Violations[i-1].Index) {
			return nil, nil, bad("violation %d at index %d out of order", i, v.Index)
		}
	}
	if len(s.Violations) > MaxViolations {
		return nil, nil, bad("%d violations, limit %d", len(s.Violations), MaxViolations)
	}
	return byIndex, byID, nil
}
