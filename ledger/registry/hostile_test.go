package registry

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/signerlimit"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// countVerifications makes e's registry count its Ed25519 verifications.
func (e *env) countVerifications() *atomic.Int64 {
	var n atomic.Int64
	e.reg.verify = func(env *envelope.Envelope) (ed25519.PublicKey, error) {
		n.Add(1)
		return env.Verify()
	}
	return &n
}

// limit puts e's registry under a rate that refills only after the test
// has ended, so each signer has exactly burst entries.
func (e *env) limit(burst int) {
	e.t.Helper()
	authority := e.reg.AuthorityDID()
	lim, err := signerlimit.New(signerlimit.Options{Rate: 1e-6, Burst: burst,
		Exempt: func(s string) bool { return s == authority }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.reg.LimitSigners(lim)
}

// forge returns raw with its keyid replaced by did: the claim changes, the
// signature stays the other key's.
func forge(t *testing.T, raw []byte, from, to string) []byte {
	t.Helper()
	if !bytes.Contains(raw, []byte(from)) {
		t.Fatalf("entry does not name %s", from)
	}
	return bytes.ReplaceAll(raw, []byte(from), []byte(to))
}

// action builds agent's n-th action entry, under its contract from
// e.serve (or a made-up one, for an agent e.serve did not register).
func (e *env) action(agent fixture.Identity, n int) []byte {
	e.t.Helper()
	ref, ok := e.refs[agent.DID]
	if !ok {
		ref = statement.ContractRef{Index: 0, LeafHash: proofs.LeafHash([]byte("made up"))}
	}
	raw, err := fixture.NthAction(agent, e.caller.DID, ref, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// TestUnwelcomeEntriesCostNoVerification floods the registry with entries
// that no signature could make acceptable and shows each is refused, with
// its reason, before any Ed25519 verification.
func TestUnwelcomeEntriesCostNoVerification(t *testing.T) {
	e := newEnv(t)
	agent, rogue := fixture.NewIdentity("payment-agent"), fixture.NewIdentity("rogue")
	e.serve(agent)
	e.limit(2)
	verifications := e.countVerifications()
	contract, _, err := fixture.Contract(rogue.Key, agent.DID, rogue.DID, []string{"inventory:check"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	registration, err := fixture.Registration(rogue.Key, fixture.NewIdentity("x"), "low", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		raw   []byte
		class error
		code  string
	}{
		{"action by an unregistered key", e.action(rogue, 1), ErrForbidden, "unregistered_signer"},
		{"contract claimed by a non-authority", contract, ErrForbidden, "not_authority"},
		{"registration claimed by a non-authority", registration, ErrForbidden, "not_authority"},
	} {
		for range 100 {
			e.refused(tc.raw, nil, tc.class, tc.code)
		}
		if n := verifications.Load(); n != 0 {
			t.Fatalf("%s: %d verifications, want none", tc.name, n)
		}
	}
	for range 100 {
		if _, err := e.reg.Submit(t.Context(), []byte(`{"payloadType":`)); !errors.Is(err, envelope.ErrMalformed) {
			t.Fatalf("malformed entry: %v", err)
		}
	}
	if n := verifications.Load(); n != 0 {
		t.Fatalf("malformed entries: %d verifications, want none", n)
	}

	// The agent spends its budget of 2; then its entries, and forgeries
	// in its name, are refused before verification.
	e.mustOK(e.action(agent, 1), nil)
	e.mustOK(e.action(agent, 2), nil)
	if n := verifications.Load(); n != 2 {
		t.Fatalf("%d verifications for 2 accepted entries", n)
	}
	forged := forge(t, e.action(rogue, 3), rogue.DID, agent.DID)
	for _, raw := range [][]byte{e.action(agent, 3), forged} {
		for range 100 {
			_, err := e.reg.Submit(t.Context(), raw)
			var over *signerlimit.Exceeded
			if !errors.As(err, &over) || over.Signer != agent.DID || over.RetryAfter < time.Second {
				t.Fatalf("over budget: got %v, want a rate limit refusal", err)
			}
		}
	}
	if n := verifications.Load(); n != 2 {
		t.Fatalf("over-budget entries were verified: %d verifications, want 2", n)
	}
}

// TestForgedClaimsSpendNoBudget floods the registry with entries that
// claim a registered agent but carry another key's signature, then shows
// the agent still has its whole budget: a forger cannot starve a victim.
func TestForgedClaimsSpendNoBudget(t *testing.T) {
	e := newEnv(t)
	victim, rogue := fixture.NewIdentity("order-agent"), fixture.NewIdentity("rogue")
	e.serve(victim)
	e.limit(3)
	for i := range 50 {
		_, err := e.reg.Submit(t.Context(), forge(t, e.action(rogue, i), rogue.DID, victim.DID))
		if !errors.Is(err, envelope.ErrBadSignature) {
			t.Fatalf("forgery %d: %v, want a bad signature", i, err)
		}
	}
	for i := range 3 {
		e.mustOK(e.action(victim, 100+i), nil)
	}
	if _, err := e.reg.Submit(t.Context(), e.action(victim, 200)); !errors.Is(err, signerlimit.ErrLimited) {
		t.Fatalf("fourth entry of a budget of 3: %v, want a rate limit refusal", err)
	}
	// The authority is exempt.
	for i := range 10 {
		e.register(fixture.NewIdentity(fmt.Sprintf("agent-%d", i)))
	}
	// A resubmitted entry spends budget too: it costs a verification.
	other := fixture.NewIdentity("inventory-agent")
	e.serve(other)
	first := e.action(other, 1)
	for range 3 {
		e.mustOK(first, nil)
	}
	if _, err := e.reg.Submit(t.Context(), first); !errors.Is(err, signerlimit.ErrLimited) {
		t.Fatalf("resubmission over budget: %v, want a rate limit refusal", err)
	}
}
