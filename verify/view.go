package verify

import (
	"bytes"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// Contract is a contract the relying party found in the log it follows,
// with its signature verified.
type Contract struct {
	Index     uint64
	LeafHash  proofs.Hash
	Signer    string // did:key that signed the contract entry
	Statement *statement.Contract
}

// view is the verified state of the log up to one checkpoint: the
// checkpoint, the compact range of the tree it commits to, and what the
// entries say about contracts and revocations.
type view struct {
	cp        proofs.SignedCheckpoint
	rng       *compact.Range
	contracts map[proofs.Hash]*Contract
	// revoked maps a contract's leaf hash to the index of the first
	// revocation of it by the authority or the contract's issuer.
	revoked map[proofs.Hash]uint64
	// entries are the contract and revocation entries recorded, kept so the
	// view can be persisted and restored without reading the log again. A
	// revocation counts only after its contract: it names the contract by
	// leaf hash, and the ledger admits it only once the contract is in.
	entries []rawEntry
}

type rawEntry struct {
	Index uint64 `json:"index"`
	Entry []byte `json:"entry"`
}

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

func newView() *view {
	return &view{
		rng:       rangeFactory.NewEmptyRange(0),
		contracts: map[proofs.Hash]*Contract{},
		revoked:   map[proofs.Hash]uint64{},
	}
}

// clone copies the view so an update can be built and thrown away if it
// fails to verify.
func (v *view) clone() *view {
	// Range.Hashes is the range's own slice, and appending to a range
	// built on it rewrites its elements: copy them, or a refresh that is
	// refused after reading some entries corrupts the verified view.
	hashes := make([][]byte, len(v.rng.Hashes()))
	for i, h := range v.rng.Hashes() {
		hashes[i] = bytes.Clone(h)
	}
	rng, err := rangeFactory.NewRange(v.rng.Begin(), v.rng.End(), hashes)
	if err != nil {
		panic(fmt.Sprintf("cloning a valid compact range: %v", err)) // cannot happen
	}
	c := &view{cp: v.cp, rng: rng, contracts: make(map[proofs.Hash]*Contract, len(v.contracts)),
		revoked: make(map[proofs.Hash]uint64, len(v.revoked)), entries: append([]rawEntry(nil), v.entries...)}
	for k, x := range v.contracts {
		c.contracts[k] = x
	}
	for k, x := range v.revoked {
		c.revoked[k] = x
	}
	return c
}

// size is the number of entries the view has integrated.
func (v *view) size() uint64 { return v.rng.End() }

// root is the root hash of the integrated entries.
func (v *view) root() (proofs.Hash, error) {
	if v.size() == 0 {
		return proofs.EmptyRoot(), nil
	}
	r, err := v.rng.GetRootHash(nil)
	if err != nil {
		return proofs.Hash{}, err
	}
	return proofs.Hash(r), nil
}

// add integrates the entry at the next index. Contracts and revocations
// are recorded only when their signature verifies and their signer is one
// the policy allows; anything else in the log is hashed and otherwise
// ignored (the relying party does not trust the ledger's admission).
func (v *view) add(entry []byte, authority string) error {
	index := v.size()
	leaf := proofs.LeafHash(entry)
	if err := v.rng.Append(leaf[:], nil); err != nil {
		return err
	}
	v.note(index, leaf, entry, authority)
	return nil
}

func (v *view) note(index uint64, leaf proofs.Hash, entry []byte, authority string) {
	env, err := envelope.Parse(entry)
	if err != nil || (env.Kind != envelope.KindContract && env.Kind != envelope.KindRevocation) {
		return
	}
	if _, err := env.Verify(); err != nil {
		return
	}
	switch env.Kind {
	case envelope.KindContract:
		c, err := statement.ParseContract(env.Payload)
		if err != nil || env.KeyID != authority || c.Issuer != env.KeyID {
			return
		}
		v.contracts[leaf] = &Contract{Index: index, LeafHash: leaf, Signer: env.KeyID, Statement: c}
	case envelope.KindRevocation:
		r, err := statement.ParseRevocation(env.Payload)
		if err != nil {
			return
		}
		c, ok := v.contracts[r.Contract]
		if !ok || (env.KeyID != authority && env.KeyID != c.Statement.Issuer) {
			return
		}
		if _, done := v.revoked[r.Contract]; !done {
			v.revoked[r.Contract] = index
		}
	}
	v.entries = append(v.entries, rawEntry{Index: index, Entry: entry})
}

// restore rebuilds the contracts and revocations of a persisted view.
func (v *view) restore(entries []rawEntry, authority string) {
	for _, e := range entries {
		v.note(e.Index, proofs.LeafHash(e.Entry), e.Entry, authority)
	}
}
