package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentledger/agentledger/internal/testkit/attack"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/signerlimit"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

func (s *testServer) addr() string { return strings.TrimPrefix(s.url, "http://") }

// register has the authority register a fresh agent that serves
// inventory:check.
func (s *testServer) register(t *testing.T, authority fixture.Identity, name string) fixture.Identity {
	t.Helper()
	id := fixture.NewIdentity(name)
	raw, err := fixture.Registration(authority.Key, id, "low", time.Now(), "inventory:check")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := s.post(t, raw); resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: %d %s", name, resp.StatusCode, body)
	}
	return id
}

// contract has the authority grant caller inventory:check at agent.
func (s *testServer) contract(t *testing.T, authority, caller, agent fixture.Identity) statement.ContractRef {
	t.Helper()
	raw, _, err := fixture.Contract(authority.Key, caller.DID, agent.DID, []string{"inventory:check"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := s.post(t, raw)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("contract: %d %s", resp.StatusCode, body)
	}
	var res struct {
		Index uint64 `json:"index"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	return statement.ContractRef{Index: res.Index, LeafHash: proofs.LeafHash(raw)}
}

// action builds agent's n-th action entry for caller under contract.
func action(t *testing.T, agent, caller fixture.Identity, contract statement.ContractRef, n int) []byte {
	t.Helper()
	raw, err := fixture.NthAction(agent, caller.DID, contract, n)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestSlowClientsAreCutOff holds slowloris connections, trickling headers
// and trickling a body, against the production server configuration and
// shows that the server ends each of them, and serves an honest write
// meanwhile. It waits out the real timeouts (ReadHeaderTimeout,
// ReadTimeout), so it takes that long; it asserts no durations.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	s, authority := newHardenedServer(t, 20*time.Millisecond, hardening{})
	// The attacker gives up only long after the server should have.
	ctx, cancel := context.WithTimeout(t.Context(), ReadTimeout+30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	results := make([]attack.Held, 2)
	errs := make([]error, 2)
	wg.Go(func() { results[0], errs[0] = attack.SlowHeaders(ctx, s.addr(), 200*time.Millisecond) })
	wg.Go(func() { results[1], errs[1] = attack.SlowBody(ctx, s.addr(), "/v1/entries", 200*time.Millisecond) })
	s.register(t, authority, "honest-agent")
	wg.Wait()
	for i, name := range []string{"slow headers", "slow body"} {
		if errs[i] != nil {
			t.Fatalf("%s: %v", name, errs[i])
		}
		if !results[i].Closed {
			t.Fatalf("%s: the server kept the connection open for %v, until the attacker gave up", name, results[i].For)
		}
	}
	// A body that never arrives is not an entry.
	if st := results[1].Status; st != 0 && st != http.StatusBadRequest {
		t.Fatalf("slow body answered %d, want 400 or no answer", st)
	}
}

// TestOversizedRequestsAreRefused sends headers and bodies over the limits,
// with and without a Content-Length, and expects 431 and 413.
func TestOversizedRequestsAreRefused(t *testing.T) {
	s, _ := newHardenedServer(t, time.Hour, hardening{})
	ctx := t.Context()
	if st, err := attack.BigHeaders(ctx, s.addr(), "/healthz", 2*MaxHeaderBytes); err != nil || st != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers over the limit: %d %v, want 431", st, err)
	}
	for _, announce := range []bool{true, false} {
		if st, err := attack.BigBody(ctx, s.addr(), "/v1/entries", MaxBodyBytes+1, announce); err != nil || st != http.StatusRequestEntityTooLarge {
			t.Fatalf("body over the limit (Content-Length %v): %d %v, want 413", announce, st, err)
		}
	}
	if s.log.Size() != 0 {
		t.Fatalf("oversized requests grew the log to %d", s.log.Size())
	}
}

// TestIdleConnectionsCannotLockOutClients fills the connection limit with
// idle connections: an honest write is still served, and idle connections
// are closed to make room for it.
func TestIdleConnectionsCannotLockOutClients(t *testing.T) {
	s, authority := newHardenedServer(t, time.Hour, hardening{maxConns: 3})
	idle, err := attack.Idle(t.Context(), s.addr(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer attack.CloseAll(idle)
	s.register(t, authority, "honest-agent")
	_ = idle[0].SetReadDeadline(time.Now().Add(time.Minute)) // a failure, not a hang
	if _, err := idle[0].Read(make([]byte, 1)); err == nil {
		t.Fatal("the oldest idle connection was not closed to make room")
	}
}

// TestSpammingAgentGets429 has a registered agent write past its budget:
// it is refused with 429, Retry-After and the reason rate_limited, counted
// in the refusal metric, while the authority and another agent write on.
func TestSpammingAgentGets429(t *testing.T) {
	metrics := prometheus.NewRegistry()
	s, authority := newHardenedServer(t, time.Hour, hardening{metrics: metrics,
		limits: func(authorityDID string) registry.Limiter {
			lim, err := signerlimit.New(signerlimit.Options{Rate: 1e-6, Burst: 5,
				Exempt: func(s string) bool { return s == authorityDID }})
			if err != nil {
				t.Fatal(err)
			}
			return lim
		}})
	spammer, other := s.register(t, authority, "spammer"), s.register(t, authority, "other")
	atSpammer, atOther := s.contract(t, authority, other, spammer), s.contract(t, authority, spammer, other)
	for i := range 5 {
		if resp, body := s.post(t, action(t, spammer, other, atSpammer, i)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("write %d within the budget: %d %s", i, resp.StatusCode, body)
		}
	}
	size := s.log.Size()
	for i := range 20 {
		resp, body := s.post(t, action(t, spammer, other, atSpammer, 100+i))
		if resp.StatusCode != http.StatusTooManyRequests || decodeError(t, body) != "rate_limited" {
			t.Fatalf("write over the budget: %d %s, want 429 rate_limited", resp.StatusCode, body)
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Fatalf("Retry-After %q, want whole seconds", resp.Header.Get("Retry-After"))
		}
		var e struct{ Message string }
		if json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Message, spammer.DID) {
			t.Fatalf("refusal message %q does not name the signer", body)
		}
	}
	if s.log.Size() != size {
		t.Fatal("refused writes grew the log")
	}
	if resp, body := s.post(t, action(t, other, spammer, atOther, 1)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("another agent during the spam: %d %s", resp.StatusCode, body)
	}
	for i := range 10 {
		s.register(t, authority, fmt.Sprintf("agent-%d", i))
	}
	if n := refusals(t, metrics, "rate_limited"); n != 20 {
		t.Fatalf("ledger_entry_refusals_total{reason=rate_limited} = %v, want 20", n)
	}
}

// refusals reads ledger_entry_refusals_total{reason} from metrics.
func refusals(t *testing.T, metrics *prometheus.Registry, reason string) float64 {
	t.Helper()
	families, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "ledger_entry_refusals_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no ledger_entry_refusals_total{reason=%q}", reason)
	return 0
}
