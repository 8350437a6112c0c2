package httpapi

import (
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/internal/connlimit"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// newRegistryServer runs a ledger with the registry's rules and endpoints.
// The checkpoint interval is long, so tests publish checkpoints on purpose
// by waiting for them.
func newRegistryServer(t *testing.T, interval time.Duration) (*testServer, fixture.Identity) {
	return newHardenedServer(t, interval, hardening{})
}

// hardening is what a test server adds to the production server's
// timeouts and size limits (HTTPServer): the zero value adds nothing.
type hardening struct {
	maxConns int                           // a connection limit, if positive
	limits   func(string) registry.Limiter // signer rate limits, given the authority's DID
	metrics  *prometheus.Registry          // where the server's metrics register
}

// newHardenedServer runs a ledger with the registry's rules behind the
// production HTTP server configuration, on loopback, with h's additions.
func newHardenedServer(t *testing.T, interval time.Duration, h hardening) (*testServer, fixture.Identity) {
	t.Helper()
	l, verifier, _ := openTestLog(t, interval, registry.Indexer{})
	authority := fixture.NewIdentity("authority")
	reg := registry.New(l, authority.Key.Public().(ed25519.PublicKey))
	if h.limits != nil {
		reg.LimitSigners(h.limits(authority.DID))
	}
	api := New(l, reg, zerolog.Nop(), h.metrics)
	if h.metrics != nil {
		if err := api.RegisterMetrics(h.metrics); err != nil {
			t.Fatal(err)
		}
	}
	api.ServeRegistry(reg)
	srv := httptest.NewUnstartedServer(api)
	srv.Config = HTTPServer("", api)
	if h.maxConns > 0 {
		limited := connlimit.New(srv.Listener, h.maxConns)
		srv.Listener, srv.Config.ConnState = limited, limited.ConnState
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return &testServer{url: srv.URL, log: l, auth: authority.Key, verifier: verifier}, authority
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// verifyProof checks that proof is a valid tlog-proof of an entry whose
// statement is of kind, and returns the entry.
func verifyProof(t *testing.T, s *testServer, proof string, index uint64, kind envelope.Kind) []byte {
	t.Helper()
	b, err := proofs.ParseBundle([]byte(proof))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proofs.VerifyBundle(b, testOrigin, s.verifier); err != nil {
		t.Fatalf("proof of %d does not verify: %v", index, err)
	}
	if b.Index != index {
		t.Fatalf("proof is for %d, claimed %d", b.Index, index)
	}
	env, err := envelope.Parse(b.Extra)
	if err != nil || env.Kind != kind {
		t.Fatalf("proved entry is %v (%v), want a %s", env, err, kind)
	}
	return b.Extra
}

func TestRegistryEndpointsCarryProofs(t *testing.T) {
	s, authority := newRegistryServer(t, 20*time.Millisecond)
	order, pay := fixture.NewIdentity("order-agent"), fixture.NewIdentity("payment-agent")
	serves := map[string][]string{pay.DID: {"payment:charge", "payment:refund"}}
	for _, id := range []fixture.Identity{order, pay} {
		raw, _ := fixture.Registration(authority.Key, id, "low", time.Now(), serves[id.DID]...)
		if resp, body := s.post(t, raw); resp.StatusCode != http.StatusCreated {
			t.Fatalf("register: %d %s", resp.StatusCode, body)
		}
	}
	contract, id, _ := fixture.Contract(authority.Key, order.DID, pay.DID, []string{"payment:charge:max_10000usd"}, time.Now(), time.Hour)
	if resp, body := s.post(t, contract); resp.StatusCode != http.StatusCreated {
		t.Fatalf("contract: %d %s", resp.StatusCode, body)
	}
	s.waitCheckpoint(t, 3)

	var agents wire.Agents
	if code := getJSON(t, s.url+"/v1/agents", &agents); code != 200 || len(agents.Agents) != 2 {
		t.Fatalf("agents: %d %+v", code, agents)
	}
	for _, a := range agents.Agents {
		raw := verifyProof(t, s, a.Proof, a.Index, envelope.KindRegistration)
		env, _ := envelope.Parse(raw)
		reg, _ := statement.ParseRegistration(env.Payload)
		if reg.Name != a.Name || reg.DID != a.DID || !slices.Equal(reg.Serves, a.Serves) || a.Serves == nil {
			t.Fatalf("proved registration %+v does not match the answer %+v", reg, a)
		}
		if want := serves[a.DID]; !slices.Equal(a.Serves, want) {
			t.Fatalf("agent %s serves %q, want %q", a.Name, a.Serves, want)
		}
	}
	var c wire.Contract
	if code := getJSON(t, s.url+"/v1/contracts/"+id, &c); code != 200 || c.Revoked || c.Subject != order.DID {
		t.Fatalf("contract: %d %+v", code, c)
	}
	if got := verifyProof(t, s, c.Proof, c.Index, envelope.KindContract); string(got) != string(contract) {
		t.Fatalf("proved entry is not the contract")
	}

	// Revoke; once a checkpoint covers the revocation, the answer says so
	// and carries the revocation's proof.
	rev, _ := fixture.Revocation(authority.Key, proofs.LeafHash(contract), "compromised", time.Now())
	if resp, body := s.post(t, rev); resp.StatusCode != http.StatusCreated {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	s.waitCheckpoint(t, 4)
	if code := getJSON(t, s.url+"/v1/contracts/"+id, &c); code != 200 || !c.Revoked || len(c.Revocations) != 1 {
		t.Fatalf("revoked contract: %d %+v", code, c)
	}
	verifyProof(t, s, c.Revocations[0].Proof, c.Revocations[0].Index, envelope.KindRevocation)

	var list wire.Contracts
	if code := getJSON(t, s.url+"/v1/contracts?subject="+order.DID, &list); code != 200 || len(list.Contracts) != 1 {
		t.Fatalf("contracts by subject: %d %+v", code, list)
	}
	var e wire.Error
	if code := getJSON(t, s.url+"/v1/contracts/"+"00000000000000000000000000000000", &e); code != 404 || e.Error != "not_found" {
		t.Fatalf("unknown contract: %d %+v", code, e)
	}
	if code := getJSON(t, s.url+"/v1/agents?limit=0", &e); code != 400 {
		t.Fatalf("limit=0: %d %+v", code, e)
	}
}

func TestRegistryAnswersOnlyWhatACheckpointCovers(t *testing.T) {
	s, authority := newRegistryServer(t, time.Hour) // only the checkpoint at open
	order := fixture.NewIdentity("order-agent")
	raw, _ := fixture.Registration(authority.Key, order, "low", time.Now())
	if resp, body := s.post(t, raw); resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	var agents wire.Agents
	if code := getJSON(t, s.url+"/v1/agents", &agents); code != 200 || len(agents.Agents) != 0 || agents.CheckedSize != 0 {
		t.Fatalf("an agent no checkpoint covers was listed: %+v", agents)
	}
	var e wire.Error
	if code := getJSON(t, s.url+"/v1/agents/order-agent", &e); code != 404 || e.Error != "not_in_checkpoint" {
		t.Fatalf("uncovered agent: %d %+v", code, e)
	}
}
