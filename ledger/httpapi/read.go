package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
)

// Content types and cache policies of the tlog-tiles read API.
const (
	contentCheckpoint = "text/plain; charset=utf-8"
	contentTile       = "application/octet-stream"
	contentBundle     = "text/plain; charset=utf-8"
	cacheImmutable    = "public, max-age=31536000, immutable"
	cacheNone         = "no-cache"
)

func (s *Server) getCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, _, _ := s.log.Checkpoint()
	if cp == nil {
		writeError(w, http.StatusServiceUnavailable, wire.ReasonNotReady, "no checkpoint published yet")
		return
	}
	w.Header().Set("Content-Type", contentCheckpoint)
	w.Header().Set("Cache-Control", cacheNone)
	_, _ = w.Write(cp)
}

func (s *Server) getTile(w http.ResponseWriter, r *http.Request) {
	t, err := proofs.ParseTilePath(r.URL.Path[1:])
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ReasonBadTilePath, err.Error())
		return
	}
	var data []byte
	if t.Entries {
		data, err = s.log.EntryBundle(t.Index, int(t.Width))
	} else {
		data, err = s.log.HashTile(t.Level, t.Index, int(t.Width))
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", contentTile)
	if t.Width == proofs.TileWidth {
		w.Header().Set("Cache-Control", cacheImmutable)
	} else {
		w.Header().Set("Cache-Control", cacheNone)
	}
	_, _ = w.Write(data)
}

func (s *Server) getEntry(w http.ResponseWriter, r *http.Request) {
	idx, err := parseUint(r.PathValue("index"))
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ReasonBadIndex, err.Error())
		return
	}
	s.writeEntry(w, idx)
}

func (s *Server) getEntryByHash(w http.ResponseWriter, r *http.Request) {
	h, err := proofs.ParseHash(r.URL.Query().Get("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ReasonBadHash, "hash must be a base64 SHA-256 leaf hash")
		return
	}
	idx, err := s.log.IndexOf(h)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeEntry(w, idx)
}

func (s *Server) writeEntry(w http.ResponseWriter, idx uint64) {
	e, err := s.log.Entry(idx)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Entry{Index: idx, LeafHash: proofs.LeafHash(e).String(), Entry: e})
}

// getInclusion proves an entry, named by index or by leaf hash, at the
// given size (default: the latest checkpoint's size).
func (s *Server) getInclusion(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, ok := s.sizeParam(w, q.Get("size"))
	if !ok {
		return
	}
	var idx uint64
	var err error
	switch {
	case q.Has("index") && q.Has("hash"):
		writeError(w, http.StatusBadRequest, wire.ReasonBadQuery, "give index or hash, not both")
		return
	case q.Has("index"):
		if idx, err = parseUint(q.Get("index")); err != nil {
			writeError(w, http.StatusBadRequest, wire.ReasonBadIndex, err.Error())
			return
		}
	case q.Has("hash"):
		h, err := proofs.ParseHash(q.Get("hash"))
		if err != nil {
			writeError(w, http.StatusBadRequest, wire.ReasonBadHash, "hash must be a base64 SHA-256 leaf hash")
			return
		}
		if idx, err = s.log.IndexOf(h); err != nil {
			s.fail(w, err)
			return
		}
	default:
		writeError(w, http.StatusBadRequest, wire.ReasonBadQuery, "give index or hash")
		return
	}
	if idx >= size {
		writeError(w, http.StatusNotFound, wire.ReasonNotInCheckpoint, fmt.Sprintf("entry %d is not covered by a tree of size %d", idx, size))
		return
	}
	p, err := s.log.InclusionProof(idx, size)
	if err != nil {
		s.fail(w, err)
		return
	}
	e, err := s.log.Entry(idx)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Inclusion{Index: idx, Size: size, LeafHash: proofs.LeafHash(e).String(), Proof: hashStrings(p)})
}

func (s *Server) getConsistency(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	oldSize, err1 := parseUint(q.Get("old"))
	newSize, err2 := parseUint(q.Get("new"))
	if err := errors.Join(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, wire.ReasonBadQuery, "old and new must be tree sizes: "+err.Error())
		return
	}
	p, err := s.log.ConsistencyProof(oldSize, newSize)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Consistency{Old: oldSize, New: newSize, Proof: hashStrings(p)})
}

// getBundle returns a self-contained C2SP tlog-proof for an entry under the
// latest checkpoint, or under the checkpoint published at ?size=.
func (s *Server) getBundle(w http.ResponseWriter, r *http.Request) {
	idx, err := parseUint(r.PathValue("index"))
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ReasonBadIndex, err.Error())
		return
	}
	var size uint64
	if q := r.URL.Query().Get("size"); q != "" {
		if size, err = parseUint(q); err != nil || size == 0 {
			writeError(w, http.StatusBadRequest, wire.ReasonBadSize, "size must be a positive tree size")
			return
		}
	}
	b, err := s.log.Bundle(idx, size)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", contentBundle)
	w.Header().Set("Cache-Control", cacheNone)
	_, _ = w.Write(b.Marshal())
}

// sizeParam parses an optional tree size, defaulting to the latest
// checkpoint's size.
func (s *Server) sizeParam(w http.ResponseWriter, v string) (uint64, bool) {
	if v == "" {
		_, size, _ := s.log.Checkpoint()
		return size, true
	}
	size, err := parseUint(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ReasonBadSize, err.Error())
		return 0, false
	}
	return size, true
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	status, code := classify(err)
	if status >= 500 {
		s.logger.Error().Err(err).Msg("read failed")
	}
	writeError(w, status, code, err.Error())
}

// parseUint parses a canonical decimal: no sign, no leading zeros.
func parseUint(s string) (uint64, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("%q is not a canonical decimal number", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a canonical decimal number", s)
	}
	return v, nil
}

func hashStrings(hs []proofs.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}
