package registry

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// MaxList bounds how many records one query returns.
const MaxList = 1000

// Agent is a registered agent and where its registration sits.
type Agent struct {
	Name string
	DID  string
	Risk string
	// Serves is the actions it serves, as its registration lists them;
	// nil when it serves none.
	Serves []string
	Time   time.Time
	Index  uint64
}

// Contract is a contract entry and what the log says of it.
type Contract struct {
	Index       uint64
	LeafHash    proofs.Hash
	Statement   *statement.Contract
	Revocations []Revocation // ascending by index
}

// Revocation is a revocation entry of a contract.
type Revocation struct {
	Index  uint64
	Signer string
	Reason string
	Time   time.Time
}

// Agent returns the agent registered under a name or a did:key.
func (r *Registry) Agent(nameOrDID string) (Agent, error) {
	key := prefixAgentName + nameOrDID
	if strings.HasPrefix(nameOrDID, "did:") {
		key = prefixAgentDID + nameOrDID
	}
	idx, err := r.lookup(key)
	if err != nil {
		return Agent{}, fmt.Errorf("agent %q: %w", nameOrDID, err)
	}
	return r.agentAt(idx)
}

func (r *Registry) agentAt(idx uint64) (Agent, error) {
	_, st, err := r.readStatement(idx, envelope.KindRegistration)
	if err != nil {
		return Agent{}, err
	}
	reg := st.(*statement.Registration)
	return Agent{Name: reg.Name, DID: reg.DID, Risk: reg.Risk, Serves: reg.Serves, Time: reg.Time, Index: idx}, nil
}

// Agents lists registered agents by name, at most limit (capped at MaxList).
func (r *Registry) Agents(limit int) ([]Agent, error) {
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	idxs, err := r.scanIndexes(prefixAgentName, limit, true)
	if err != nil {
		return nil, err
	}
	out := make([]Agent, 0, len(idxs))
	for _, idx := range idxs {
		a, err := r.agentAt(idx)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Contract returns the contract with the given id.
func (r *Registry) Contract(id string) (Contract, error) {
	idx, err := r.lookup(prefixContractID + id)
	if err != nil {
		return Contract{}, fmt.Errorf("contract %q: %w", id, err)
	}
	return r.ContractAt(idx)
}

// ContractAt returns the contract entry at index.
func (r *Registry) ContractAt(idx uint64) (Contract, error) {
	raw, st, err := r.readStatement(idx, envelope.KindContract)
	if err != nil {
		return Contract{}, err
	}
	c := Contract{Index: idx, LeafHash: proofs.LeafHash(raw), Statement: st.(*statement.Contract)}
	revs, err := r.revocations(idx)
	if err != nil {
		return Contract{}, err
	}
	for _, ri := range revs {
		raw, st, err := r.readStatement(ri, envelope.KindRevocation)
		if err != nil {
			return Contract{}, err
		}
		env, _ := envelope.Parse(raw)
		rev := st.(*statement.Revocation)
		c.Revocations = append(c.Revocations, Revocation{Index: ri, Signer: env.KeyID, Reason: rev.Reason, Time: rev.Time})
	}
	return c, nil
}

// ContractQuery filters Contracts. Empty fields match everything.
type ContractQuery struct {
	Subject  string // the caller's did:key
	Audience string // the callee's did:key
	Limit    int
}

// Contracts lists contracts in log order, filtered by subject and
// audience.
func (r *Registry) Contracts(q ContractQuery) ([]Contract, error) {
	var idxs []uint64
	var err error
	switch {
	case q.Subject != "":
		idxs, err = r.scanIndexes(prefixBySubject+q.Subject+"/", 0, false)
	case q.Audience != "":
		idxs, err = r.scanIndexes(prefixByAudience+q.Audience+"/", 0, false)
	default:
		idxs, err = r.scanIndexes(prefixContractHash, 0, true)
	}
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	slices.Sort(idxs)
	var out []Contract
	for _, idx := range idxs {
		if len(out) == limit {
			break
		}
		c, err := r.ContractAt(idx)
		if err != nil {
			return nil, err
		}
		if (q.Subject != "" && c.Statement.Subject != q.Subject) || (q.Audience != "" && c.Statement.Audience != q.Audience) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// scanIndexes collects entry indexes under prefix: from the record's value
// when inValue, else from the key's last 8 bytes. A limit of 0 means all.
func (r *Registry) scanIndexes(prefix string, limit int, inValue bool) ([]uint64, error) {
	var out []uint64
	var bad error
	err := r.log.IndexScan([]byte(prefix), func(k, v []byte) bool {
		src := v
		if !inValue {
			src = k[len(k)-8:]
		}
		if len(src) != 8 {
			bad = fmt.Errorf("%w: index record under %q is malformed", ledger.ErrUnavailable, prefix)
			return false
		}
		out = append(out, binary.BigEndian.Uint64(src))
		return limit <= 0 || len(out) < limit
	})
	if err == nil {
		err = bad
	}
	return out, err
}
