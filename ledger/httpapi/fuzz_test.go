package httpapi

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
)

// fuzzAuthority is the fuzzed server's authority. Its key is fixed, so the
// entries it signs for the seed corpus are valid in every fuzz worker.
var fuzzAuthority = fixture.Fixed("authority", 7)

// fuzzServer is a real ledger with the registry's rules and endpoints,
// served in-process, holding a few registrations and a contract under a
// published checkpoint.
type fuzzServer struct {
	api      *Server
	log      *ledger.Log
	verifier note.Verifier
	regs     [][]byte // registrations already in the log
	contract []byte   // a contract already in the log
	fresh    [][]byte // valid entries not yet in the log
	agent    string   // the did:key of a registered agent
}

func newFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	api, l, verifier := openFuzzAPI(f)
	s := &fuzzServer{api: api, log: l, verifier: verifier}

	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	ids := make([]fixture.Identity, 4)
	for i := range ids {
		ids[i] = fixture.Fixed(fmt.Sprintf("agent-%d", i), byte(i+1))
		raw, err := fixture.Registration(fuzzAuthority.Key, ids[i], "low", t0, "payment:charge")
		if err != nil {
			f.Fatal(err)
		}
		if i == 1 {
			s.agent = ids[i].DID
		}
		if i < 2 {
			s.regs = append(s.regs, raw)
		} else {
			s.fresh = append(s.fresh, raw)
		}
	}
	var err error
	if s.contract, err = fixture.ContractWithID(fuzzAuthority.Key, "0123456789abcdef0123456789abcdef", ids[0].DID, ids[1].DID,
		[]string{"payment:charge:max_100usd"}, t0, time.Hour); err != nil {
		f.Fatal(err)
	}
	for _, raw := range append(append([][]byte(nil), s.regs...), s.contract) {
		if _, err := api.submit.Submit(f.Context(), raw); err != nil {
			f.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, size, _ := l.Checkpoint(); size == 3 {
			break
		}
		if time.Now().After(deadline) {
			f.Fatal("no checkpoint of the seeded log")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// openFuzzAPI opens a ledger under a fresh log key with the registry of
// fuzzAuthority, and returns its API, not yet served.
func openFuzzAPI(f *testing.F) (*Server, *ledger.Log, note.Verifier) {
	f.Helper()
	l, verifier, _ := openTestLog(f, 5*time.Millisecond, registry.Indexer{})
	reg := registry.New(l, fuzzAuthority.Key.Public().(ed25519.PublicKey))
	api := New(l, reg, zerolog.Nop(), nil)
	api.ServeRegistry(reg)
	return api, l, verifier
}

// FuzzServer drives the ledger's whole HTTP API, the write endpoint and
// every read and registry endpoint, with fuzzed methods, paths, queries and
// bodies. No request may panic or answer 5xx; every refusal is JSON
// {"error","message"}; a refused write leaves the log as it was, and an
// accepted one is in the log; and every answer the API does give checks
// out: checkpoints open under the log key, tiles have the width their path
// names, bundles verify, and entries match their leaf hashes.
func FuzzServer(f *testing.F) {
	s := newFuzzServer(f)
	leaf := proofs.LeafHash(s.regs[0]).String()
	for _, p := range []string{
		"/checkpoint", "/healthz", "/readyz", "/metrics",
		"/tile/0/000.p/3", "/tile/entries/000.p/3", "/tile/0/000", "/tile/1/000.p/1", "/tile/0/x001/000",
		"/tile/entries/000.p/0", "/tile/0/000.p/256", "/tile//000",
		"/v1/entries/0", "/v1/entries/2", "/v1/entries/3", "/v1/entries/007", "/v1/entries/18446744073709551615",
		"/v1/entries?hash=" + url.QueryEscape(leaf), "/v1/entries?hash=" + leaf,
		"/v1/proofs/inclusion?index=1", "/v1/proofs/inclusion?index=0&size=3", "/v1/proofs/inclusion?hash=" + url.QueryEscape(leaf),
		"/v1/proofs/inclusion?index=1&hash=x", "/v1/proofs/inclusion?index=5&size=2",
		"/v1/proofs/consistency?old=1&new=3", "/v1/proofs/consistency?old=0&new=0", "/v1/proofs/consistency?old=3&new=1",
		"/v1/bundles/1", "/v1/bundles/1?size=2", "/v1/bundles/2?size=0", "/v1/bundles/9",
		"/v1/agents", "/v1/agents?limit=1", "/v1/agents?limit=0", "/v1/agents/agent-0", "/v1/agents/" + s.agent,
		"/v1/contracts", "/v1/contracts?subject=x&audience=y&limit=2", "/v1/contracts/0123456789abcdef0123456789abcdef",
		"/v1/contracts/zz", "/v1/entries/x/y", "/%zz", "/v1/agents/%2e%2e",
	} {
		f.Add("GET", p, []byte(nil))
	}
	for _, raw := range append(append([][]byte{s.contract}, s.regs...), s.fresh...) {
		f.Add("POST", "/v1/entries", raw)
	}
	f.Add("POST", "/v1/entries", []byte(`{"payloadType":"x","payload":"","signatures":[]}`))
	f.Add("POST", "/v1/entries", []byte("not json"))
	f.Add("PUT", "/checkpoint", []byte("x"))
	f.Add("DELETE", "/v1/entries", []byte(nil))
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !validMethod(method) {
			return // net/http refuses such a request line before any handler
		}
		r := &http.Request{Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: nopBody(body), ContentLength: int64(len(body)), Host: "ledger.test"}
		r = r.WithContext(t.Context())
		before := s.log.Size()
		rec := httptest.NewRecorder()
		s.api.ServeHTTP(rec, r)
		status, out := rec.Code, rec.Body.Bytes()
		if status >= 500 {
			t.Fatalf("%s %q: %d %s", method, target, status, out)
		}
		if status >= 400 {
			checkRefusal(t, rec)
			if method == http.MethodPost && s.log.Size() != before {
				t.Fatalf("%s %q refused with %d but the log grew from %d to %d", method, target, status, before, s.log.Size())
			}
			return
		}
		if status >= 300 {
			// The mux redirects unclean paths, such as /tile//000.
			if rec.Header().Get("Location") == "" || (method == http.MethodPost && s.log.Size() != before) {
				t.Fatalf("%s %q: %d with no Location, or with a write", method, target, status)
			}
			return
		}
		s.checkAnswer(t, method, u, body, status, out)
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	return true
}

func nopBody(b []byte) *nopCloser { return &nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// checkRefusal checks that an error answer is {"error","message"} JSON.
func checkRefusal(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("refusal %d has content type %q: %s", rec.Code, ct, rec.Body)
	}
	fuzzcheck.Refusal(t, rec.Code, rec.Body.Bytes())
}

// checkAnswer checks what a successful answer claims.
func (s *fuzzServer) checkAnswer(t *testing.T, method string, u *url.URL, body []byte, status int, out []byte) {
	t.Helper()
	p := u.Path
	switch {
	case method == http.MethodPost && p == "/v1/entries":
		var a wire.Appended
		if err := json.Unmarshal(out, &a); err != nil {
			t.Fatalf("append answer %s: %v", out, err)
		}
		got, err := s.log.Entry(a.Index)
		if err != nil || !bytes.Equal(got, body) || a.LeafHash != proofs.LeafHash(body).String() {
			t.Fatalf("append answered %d %s, but entry %d is %q (%v)", status, out, a.Index, got, err)
		}
	case method != http.MethodGet:
		// HEAD of a GET route answers as GET does, with no body.
	case p == "/checkpoint":
		if _, err := proofs.OpenCheckpoint(out, testOrigin, s.verifier); err != nil {
			t.Fatalf("served checkpoint does not open: %v\n%s", err, out)
		}
	case strings.HasPrefix(p, "/tile/"):
		tile, err := proofs.ParseTilePath(p[1:])
		if err != nil {
			t.Fatalf("served %s, which does not parse: %v", p, err)
		}
		if tile.Entries {
			if _, err := proofs.ParseEntryBundle(out, int(tile.Width)); err != nil {
				t.Fatalf("served entry bundle %s does not parse: %v", p, err)
			}
		} else if len(out) != int(tile.Width)*proofs.HashSize {
			t.Fatalf("served hash tile %s has %d bytes", p, len(out))
		}
	case strings.HasPrefix(p, "/v1/bundles/"):
		b, err := proofs.ParseBundle(out)
		if err != nil {
			t.Fatalf("served bundle does not parse: %v", err)
		}
		if _, err := proofs.VerifyBundle(b, testOrigin, s.verifier); err != nil {
			t.Fatalf("served bundle does not verify: %v", err)
		}
	case strings.HasPrefix(p, "/v1/entries"):
		var e wire.Entry
		if err := json.Unmarshal(out, &e); err != nil || e.LeafHash != proofs.LeafHash(e.Entry).String() {
			t.Fatalf("served entry %s does not match its leaf hash (%v)", out, err)
		}
	}
}
