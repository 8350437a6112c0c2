package verify

import (
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
	rng       *proofs.Range
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

func newView() *view {
	return &view{
		rng:       proofs.NewRange(),
		contracts: map[proofs.Hash]*Contract{},
		revoked:   map[proofs.Hash]uint64{},
	}
}

// clone copies the view so an update can be built and thrown away if it
// fails to verify.
func (v *view) clone() *view {
	c := &view{cp: v.cp, rng: v.rng.Clone(), contracts: make(map[proofs.Hash]*Contract, len(v.contracts)),
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
func (v *view) size() uint64 { return v.rng.Size() }

// note records the entry at index if it is a contract or a revocation.
// Contracts and revocations are recorded only when their signature
// verifies and their signer is one the policy allows; anything else in the
// log is ignored (the relying party does not trust the ledger's
// admission). The entry itself was verified against the checkpoint by the
// EntryReader that read it.
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
