package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/importcheck"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// cleanLog is a log with no violations: three registrations, two
// contracts, two actions and a revocation after them.
func cleanLog(t testing.TB) *world {
	w := newWorld(t)
	w.register(w.order)
	w.register(w.pay)
	w.register(w.inv)
	c1 := w.contract(w.auth.Key, w.order, w.pay, "payment:charge:max_100usd")
	c2 := w.contract(w.auth.Key, w.order, w.inv, "inventory:reserve:max_qty10")
	w.act(w.pay, w.order, w.ref(c1), charge(4999))
	w.act(w.inv, w.order, w.ref(c2), reserve(3))
	w.revoke(w.auth.Key, c1)
	return w
}

func TestCleanLog(t *testing.T) {
	w := cleanLog(t)
	e := New(w.auth.DID, skew)
	audit(t, e, w.entries, 0, len(w.entries))
	s := e.State()
	if len(s.Violations) != 0 {
		t.Fatalf("violations in a clean log: %+v", s.Violations)
	}
	want := Counts{Entries: 8, Registrations: 3, Contracts: 2, Revocations: 1, Actions: 2}
	if s.Counts != want {
		t.Errorf("counts = %+v, want %+v", s.Counts, want)
	}
	if s.Next != 8 || len(s.Agents) != 3 || len(s.Contracts) != 2 || len(s.Revoked) != 1 || len(s.Nonces) != 2 {
		t.Errorf("state = %+v", s)
	}
}

type want struct {
	index  uint64
	kind   string
	reason string
}

// badLog is a log holding every kind of violation, and the violations an
// audit must find in it, in order.
func badLog(t testing.TB) (*world, []want) {
	w := newWorld(t)
	var ws []want
	expect := func(idx uint64, kind, reason string) { ws = append(ws, want{idx, kind, reason}) }

	w.register(w.order)
	w.register(w.pay)
	w.register(w.inv)
	c1 := w.contract(w.auth.Key, w.order, w.pay, "payment:charge:max_100usd")
	c2 := w.contract(w.auth.Key, w.order, w.inv, "inventory:reserve:max_qty10")
	w.act(w.pay, w.order, w.ref(c1), charge(5000))
	reused := w.lastNonce

	norefund := w.act(w.pay, w.order, w.ref(c1), fixture0("payment:refund"))
	expect(norefund, KindNotCovered, "scope_missing")
	expect(norefund, KindRefundNotYourCharge, "no_charge")
	expect(w.act(w.pay, w.order, w.ref(c1), charge(50000)), KindNotCovered, "amount_exceeded")
	spec := charge(100)
	spec.Nonce = reused
	nr := w.act(w.pay, w.order, w.ref(c1), spec)
	expect(nr, KindNonceReused, "")
	later := w.ref(c1)
	later.Index = 1000
	expect(w.act(w.pay, w.order, later, charge(1)), KindContractNotInLog, "later_index")
	notAudience := w.act(w.inv, w.order, w.ref(c1), charge(1))
	expect(notAudience, KindActionNotServed, "")
	expect(notAudience, KindNotAudience, "")
	expect(w.act(w.stranger, w.order, w.ref(c1), charge(1)), KindUnregisteredSigner, "")
	expect(w.contract(w.stranger.Key, w.order, w.pay, "payment:charge"), KindNotAuthority, "")
	expect(w.add([]byte("not an envelope"), nil), KindMalformedEntry, "")
	impostor := w.stranger
	impostor.Name = w.order.Name
	expect(w.register(impostor), KindNameTaken, "")
	w.revoke(w.auth.Key, c1)
	expect(w.act(w.pay, w.order, w.ref(c1), charge(1)), KindAfterRevocation, "")

	// A signature by one key under another key's keyid.
	good, err := envelope.Sign(envelope.KindRegistration, []byte(`{}`), w.pay.Key)
	if err != nil {
		t.Fatal(err)
	}
	expect(w.add(bytes.Replace(good, []byte(w.pay.DID), []byte(w.inv.DID), 1), nil), KindBadSignature, "")
	expect(w.add(envelope.Sign(envelope.KindAction, []byte(`{"v":2}`), w.pay.Key)), KindInvalidStatement, "")
	forged := &statement.Action{Agent: w.inv.DID, Caller: w.order.DID, Contract: w.ref(c2), Action: "inventory:reserve",
		ArgsDigest: "sha256:" + strings.Repeat("0", 64), Nonce: "nonce-forged-0000001", Time: t0.Add(time.Minute)}
	expect(w.signed(envelope.KindAction, forged, w.pay.Key), KindAgentMismatch, "")
	expect(w.revoke(w.auth.Key, 0), KindUnknownContract, "")
	expect(w.revoke(w.order.Key, c2), KindNotIssuer, "")
	twin := w.pay
	twin.Name = "payment-twin"
	expect(w.register(twin), KindDIDRegistered, "")
	expect(w.contract(w.auth.Key, w.order, w.stranger, "payment:charge"), KindUnknownParty, "audience")
	late := reserve(1)
	late.Time = t0.Add(2 * time.Hour)
	expect(w.act(w.inv, w.order, w.ref(c2), late), KindOutsideValidity, "expired")
	early := reserve(1)
	early.Time = t0.Add(-time.Hour)
	expect(w.act(w.inv, w.order, w.ref(c2), early), KindOutsideValidity, "not_yet_valid")
	expect(w.act(w.inv, w.pay, w.ref(c2), reserve(1)), KindNotSubject, "")
	idx := w.act(w.inv, w.stranger, w.ref(c2), reserve(1))
	expect(idx, KindUnregisteredIdentity, "caller")
	expect(idx, KindNotSubject, "")
	dup := &statement.Contract{ID: w.contractIDs[c2], Issuer: w.auth.DID, Subject: w.order.DID, Audience: w.pay.DID,
		Scopes: []string{"payment:charge"}, NotBefore: t0, Expires: t0.Add(time.Hour), Time: t0}
	expect(w.signed(envelope.KindContract, dup, w.auth.Key), KindContractIDTaken, "")
	expect(w.revoke(w.auth.Key, c1), KindAlreadyRevoked, "")
	expect(w.act(w.inv, w.order, w.ref(0), reserve(1)), KindContractNotInLog, "not_a_contract")
	wrong := w.ref(c1)
	wrong.Index = c2
	expect(w.act(w.inv, w.order, wrong, reserve(1)), KindContractNotInLog, "leaf_mismatch")
	mis := *dup
	mis.ID, mis.Issuer = strings.Repeat("ab", 16), w.order.DID
	expect(w.signed(envelope.KindContract, &mis, w.auth.Key), KindIssuerMismatch, "")
	expect(w.act(w.inv, w.order, w.ref(c2), reserve(50)), KindNotCovered, "quantity_exceeded")
	expect(w.act(w.inv, w.order, w.ref(c2), fixture0("inventory:restock")), KindNotCovered, "scope_missing")
	// Refunds: one within its charge, one beyond it, one by another caller.
	c3 := w.contract(w.auth.Key, w.order, w.pay, "payment:charge", "payment:refund")
	c4 := w.contract(w.auth.Key, w.inv, w.pay, "payment:refund")
	ch := w.act(w.pay, w.order, w.ref(c3), charge(300))
	w.act(w.pay, w.order, w.ref(c3), w.refund(200, "r1", ch))
	expect(w.act(w.pay, w.order, w.ref(c3), w.refund(200, "r2", ch)), KindRefundExceedsCharge, "amount_exceeded")
	expect(w.act(w.pay, w.inv, w.ref(c4), w.refund(50, "r3", ch)), KindRefundNotYourCharge, "other_caller")
	// A contract grants only what its audience serves; one that grants
	// more takes no effect.
	unserved := w.contract(w.auth.Key, w.order, w.pay, "payment:charge", "paymnt:charge:max_10000usd")
	expect(unserved, KindScopeNotServed, "")
	expect(w.contract(w.auth.Key, w.pay, w.order, "order:create"), KindScopeNotServed, "")
	expect(w.act(w.pay, w.order, w.ref(unserved), charge(1)), KindContractNotInLog, "not_a_contract")
	// An action its agent does not serve, even under a contract.
	unservedAction := w.act(w.pay, w.order, w.ref(c2), fixture0("inventory:reserve"))
	expect(unservedAction, KindActionNotServed, "")
	expect(unservedAction, KindNotAudience, "")
	expect(unservedAction, KindNotCovered, "constraint_value_missing")
	return w, ws
}

func fixture0(action string) fixture.ActionSpec { return fixture.ActionSpec{Action: action} }

func TestViolations(t *testing.T) {
	w, ws := badLog(t)
	e := New(w.auth.DID, skew)
	audit(t, e, w.entries, 0, len(w.entries))
	s := e.State()
	var got []want
	for _, v := range s.Violations {
		got = append(got, want{v.Index, v.Kind, v.Reason})
		if v.Detail == "" {
			t.Errorf("violation %+v has no detail", v)
		}
	}
	if len(got) != len(ws) {
		t.Errorf("got %d violations, want %d", len(got), len(ws))
	}
	for i := range max(len(got), len(ws)) {
		var g, x want
		if i < len(got) {
			g = got[i]
		}
		if i < len(ws) {
			x = ws[i]
		}
		if g != x {
			t.Errorf("violation %d = %+v, want %+v", i, g, x)
		}
	}
	invalid := map[uint64]bool{}
	for _, x := range ws {
		invalid[x.index] = true
	}
	if s.Counts.Invalid != uint64(len(invalid)) || s.Counts.Entries != uint64(len(w.entries)) {
		t.Errorf("counts = %+v, want %d invalid of %d", s.Counts, len(invalid), len(w.entries))
	}
	for _, v := range s.Violations {
		if v.Kind == KindNonceReused && !strings.Contains(v.Detail, "index 5") {
			t.Errorf("nonce_reused detail %q does not name index 5", v.Detail)
		}
	}
}

func TestOutOfOrder(t *testing.T) {
	w := cleanLog(t)
	e := New(w.auth.DID, skew)
	fresh := stateJSON(t, e.State())
	for _, idx := range []uint64{1, 5, 1 << 40} {
		if err := e.Check(idx, w.entries[0]); !errors.Is(err, ErrOutOfOrder) {
			t.Errorf("Check(%d) on a fresh engine: %v, want ErrOutOfOrder", idx, err)
		}
	}
	if stateJSON(t, e.State()) != fresh {
		t.Errorf("a refused Check changed the state")
	}
	audit(t, e, w.entries, 0, 1)
	if err := e.Check(0, w.entries[0]); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("re-checking index 0: %v", err)
	}
	if e.State().Next != 1 {
		t.Errorf("next = %d, want 1", e.State().Next)
	}
}

func TestViolationCap(t *testing.T) {
	e := New(newWorld(t).auth.DID, skew)
	e.limit = 2
	for i := range 3 {
		if err := e.Check(uint64(i), []byte("junk")); err != nil {
			t.Fatal(err)
		}
	}
	s := e.State()
	if len(s.Violations) != 2 || s.DroppedViolations != 1 || s.Counts.Invalid != 3 {
		t.Errorf("violations %d, dropped %d, invalid %d", len(s.Violations), s.DroppedViolations, s.Counts.Invalid)
	}
}

func TestStateIsACopy(t *testing.T) {
	w := cleanLog(t)
	e := New(w.auth.DID, skew)
	audit(t, e, w.entries, 0, len(w.entries))
	s := e.State()
	before := stateJSON(t, e.State())
	for k, c := range s.Contracts {
		c.Scopes[0] = "mutated:scope"
		s.Contracts[k] = c
	}
	clear(s.Agents)
	s.Violations = append(s.Violations, Violation{Kind: "x"})
	if stateJSON(t, e.State()) != before {
		t.Error("mutating a returned State changed the engine")
	}
}

// TestNoServerImports keeps the package vendorable: the standard library
// and the pure protocol packages only.
func TestNoServerImports(t *testing.T) {
	importcheck.Allow(t,
		"errors",
		"fmt",
		"maps",
		"runtime",
		"slices",
		"sync",
		"time",
		"github.com/agentledger/agentledger/proofs/did",
		"github.com/agentledger/agentledger/proofs/envelope",
		"github.com/agentledger/agentledger/proofs",
		"github.com/agentledger/agentledger/proofs/scope",
		"github.com/agentledger/agentledger/proofs/statement",
	)
}

// TestPrepareAllMatchesCheck audits a log twice, entry by entry and with
// the signatures checked in parallel, and gets the same state.
func TestPrepareAllMatchesCheck(t *testing.T) {
	w, _ := badLog(t)
	one := New(w.auth.DID, skew)
	audit(t, one, w.entries, 0, len(w.entries))
	two := New(w.auth.DID, skew)
	for i, p := range PrepareAll(w.entries) {
		if err := two.CheckPrepared(uint64(i), p); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := stateJSON(t, one.State()), stateJSON(t, two.State()); a != b || len(one.State().Violations) == 0 {
		t.Fatalf("parallel preparation changed the audit:\n%s\n%s", a, b)
	}
}
