// Package registry gives the ledger its knowledge of identities and
// contracts: it indexes registrations, contracts and revocations as they
// are appended, decides who may write what, and answers queries about
// agents and contracts.
//
// Write rules (docs/protocol.md):
//   - the authority writes registrations, contracts and revocations;
//   - a revocation may also come from the contract's issuer;
//   - a registered agent writes action entries signed by its own key,
//     each naming a contract in the log (index and leaf hash) whose
//     audience is that agent;
//   - a registration may not reuse a name or a DID; a contract must name
//     registered parties and a fresh id, and grant only actions its
//     audience's registration serves.
//
// Whether an action was allowed (its scope, limits, validity, revocation)
// is not judged here: agents decide that before they act, and the auditor
// checks it.
package registry

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// Index keys (inside the ledger's index keyspace):
//
//	a/n/<name>                 -> registration index
//	a/d/<did>                  -> registration index
//	c/i/<id>                   -> contract index
//	c/h/<leaf hash>            -> contract index
//	c/s/<subject did>/<idx>    -> (empty)  contracts by subject
//	c/a/<audience did>/<idx>   -> (empty)  contracts by audience
//	r/<contract idx><rev idx>  -> (empty)  revocations by contract
const (
	prefixAgentName    = "a/n/"
	prefixAgentDID     = "a/d/"
	prefixContractID   = "c/i/"
	prefixContractHash = "c/h/"
	prefixBySubject    = "c/s/"
	prefixByAudience   = "c/a/"
	prefixRevocation   = "r/"
)

// Indexer is the ledger.Indexer for registry statements. It trusts that
// entries were admitted by Registry.Submit and indexes what it can parse.
type Indexer struct{}

var _ ledger.Indexer = Indexer{}

// actionPrefix starts every action entry: envelope.Parse accepts only the
// one compact form, whose first field is the payload type.
var actionPrefix = []byte(`{"payloadType":"` + envelope.KindAction.PayloadType() + `"`)

// IndexEntry indexes one new entry. It runs on the sequencer's single
// goroutine, so actions, which index nothing and are most entries, are
// recognised from their first bytes without parsing.
func (Indexer) IndexEntry(index uint64, entry []byte, w ledger.IndexWriter) error {
	if bytes.HasPrefix(entry, actionPrefix) {
		return nil
	}
	env, err := envelope.Parse(entry)
	if err != nil {
		return nil // not ours to judge here; nothing to index
	}
	idx := u64(index)
	switch env.Kind {
	case envelope.KindRegistration:
		reg, err := statement.ParseRegistration(env.Payload)
		if err != nil {
			return nil
		}
		return setAll(w, idx, prefixAgentName+reg.Name, prefixAgentDID+reg.DID)
	case envelope.KindContract:
		c, err := statement.ParseContract(env.Payload)
		if err != nil {
			return nil
		}
		leaf := proofs.LeafHash(entry)
		if err := setAll(w, idx, prefixContractID+c.ID, prefixContractHash+string(leaf[:])); err != nil {
			return err
		}
		return setAll(w, nil, prefixBySubject+c.Subject+"/"+string(idx), prefixByAudience+c.Audience+"/"+string(idx))
	case envelope.KindRevocation:
		rev, err := statement.ParseRevocation(env.Payload)
		if err != nil {
			return nil
		}
		cidx, err := w.Get([]byte(prefixContractHash + string(rev.Contract[:])))
		if errors.Is(err, ledger.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return w.Set([]byte(prefixRevocation+string(cidx)+string(idx)), nil)
	}
	return nil
}

func setAll(w ledger.IndexWriter, value []byte, keys ...string) error {
	for _, k := range keys {
		if err := w.Set([]byte(k), value); err != nil {
			return err
		}
	}
	return nil
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}
