package httpapi

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/wire"
)

// ServeRegistry adds the identity and contract endpoints:
//
//	GET /v1/agents[?limit=N]
//	GET /v1/agents/{name-or-did}
//	GET /v1/contracts[?subject=DID][&audience=DID][&limit=N]
//	GET /v1/contracts/{id}
//
// Every answer is as of the latest checkpoint: entries it does not cover
// yet are left out (or answer 404 not_in_checkpoint), and every entry
// reported carries its tlog-proof under that checkpoint.
func (s *Server) ServeRegistry(reg *registry.Registry) {
	s.mux.HandleFunc("GET /v1/agents", func(w http.ResponseWriter, r *http.Request) {
		limit, ok := limitParam(w, r.URL.Query())
		if !ok {
			return
		}
		agents, err := reg.Agents(limit)
		if err != nil {
			s.fail(w, err)
			return
		}
		size := s.checkedSize()
		out := []wire.Agent{}
		for _, a := range agents {
			if a.Index >= size {
				continue
			}
			j, err := s.agentJSON(a, size)
			if err != nil {
				s.fail(w, err)
				return
			}
			out = append(out, j)
		}
		writeJSON(w, http.StatusOK, wire.Agents{Agents: out, CheckedSize: size})
	})
	s.mux.HandleFunc("GET /v1/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		a, err := reg.Agent(r.PathValue("id"))
		if err != nil {
			s.fail(w, err)
			return
		}
		j, err := s.agentJSON(a, s.checkedSize())
		if err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
	})
	s.mux.HandleFunc("GET /v1/contracts", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, ok := limitParam(w, q)
		if !ok {
			return
		}
		cs, err := reg.Contracts(registry.ContractQuery{Subject: q.Get("subject"), Audience: q.Get("audience"), Limit: limit})
		if err != nil {
			s.fail(w, err)
			return
		}
		size := s.checkedSize()
		out := []wire.Contract{}
		for _, c := range cs {
			if c.Index >= size {
				continue
			}
			j, err := s.contractJSON(c, size)
			if err != nil {
				s.fail(w, err)
				return
			}
			out = append(out, j)
		}
		writeJSON(w, http.StatusOK, wire.Contracts{Contracts: out, CheckedSize: size})
	})
	s.mux.HandleFunc("GET /v1/contracts/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, err := reg.Contract(r.PathValue("id"))
		if err != nil {
			s.fail(w, err)
			return
		}
		j, err := s.contractJSON(c, s.checkedSize())
		if err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
	})
}

// checkedSize is the size of the latest checkpoint.
func (s *Server) checkedSize() uint64 {
	_, size, _ := s.log.Checkpoint()
	return size
}

// bundleText returns the tlog-proof of index under the checkpoint of size.
func (s *Server) bundleText(index, size uint64) (string, error) {
	if index >= size {
		return "", fmt.Errorf("entry %d at checkpoint size %d: %w", index, size, ledger.ErrNotCovered)
	}
	b, err := s.log.Bundle(index, size)
	if err != nil {
		return "", err
	}
	return string(b.Marshal()), nil
}

func (s *Server) agentJSON(a registry.Agent, size uint64) (wire.Agent, error) {
	proof, err := s.bundleText(a.Index, size)
	if err != nil {
		return wire.Agent{}, err
	}
	serves := a.Serves
	if serves == nil {
		serves = []string{}
	}
	return wire.Agent{Name: a.Name, DID: a.DID, Risk: a.Risk, Serves: serves, Time: a.Time, Index: a.Index, Proof: proof, CheckedSize: size}, nil
}

func (s *Server) contractJSON(c registry.Contract, size uint64) (wire.Contract, error) {
	proof, err := s.bundleText(c.Index, size)
	if err != nil {
		return wire.Contract{}, err
	}
	st := c.Statement
	j := wire.Contract{ID: st.ID, Index: c.Index, LeafHash: c.LeafHash.String(), Issuer: st.Issuer, Subject: st.Subject,
		Audience: st.Audience, Scopes: st.Scopes, NotBefore: st.NotBefore, Expires: st.Expires, Time: st.Time,
		Proof: proof, Revocations: []wire.Revocation{}, CheckedSize: size}
	for _, rv := range c.Revocations {
		if rv.Index >= size {
			continue // not yet under the checkpoint: not claimed
		}
		p, err := s.bundleText(rv.Index, size)
		if err != nil {
			return wire.Contract{}, err
		}
		j.Revocations = append(j.Revocations, wire.Revocation{Index: rv.Index, Signer: rv.Signer, Reason: rv.Reason, Time: rv.Time, Proof: p})
	}
	j.Revoked = len(j.Revocations) > 0
	return j, nil
}

func limitParam(w http.ResponseWriter, q url.Values) (int, bool) {
	if !q.Has("limit") {
		return registry.MaxList, true
	}
	v, err := parseUint(q.Get("limit"))
	if err != nil || v == 0 || v > registry.MaxList {
		writeError(w, http.StatusBadRequest, wire.ReasonBadLimit, fmt.Sprintf("limit must be 1..%d", registry.MaxList))
		return 0, false
	}
	return int(v), true
}
