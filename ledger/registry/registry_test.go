package registry

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

const origin = "registry.test/log"

type env struct {
	t         *testing.T
	dir       string
	signer    note.Signer
	log       *ledger.Log
	reg       *Registry
	authority fixture.Identity
	// caller holds a contract at each agent e.serve registered; refs are
	// those contracts, by the agent's did:key.
	caller fixture.Identity
	refs   map[string]statement.ContractRef
}

func newEnv(t *testing.T) *env {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	dir := filepath.Join(t.TempDir(), "db")
	if err := ledger.Create(dir, origin); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, signer: signer, authority: fixture.NewIdentity("authority"), refs: map[string]statement.ContractRef{}}
	e.open()
	return e
}

func (e *env) open() {
	l, err := ledger.Open(ledger.Options{Dir: e.dir, Signer: e.signer, CheckpointInterval: time.Hour, Indexer: Indexer{}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.log = l
	e.reg = New(l, e.authority.Key.Public().(ed25519.PublicKey))
	e.t.Cleanup(func() { l.Close() })
}

func (e *env) submit(raw []byte, err error) (ledger.AppendResult, error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("building the entry: %v", err)
	}
	return e.reg.Submit(context.Background(), raw)
}

// mustOK submits and fails the test on refusal.
func (e *env) mustOK(raw []byte, err error) ledger.AppendResult {
	e.t.Helper()
	res, err := e.submit(raw, err)
	if err != nil {
		e.t.Fatalf("refused: %v", err)
	}
	return res
}

// refuse returns a check that an entry is refused with class and code, and
// that the log does not grow: e.refuse(class, code)(fixture.X(...)).
func (e *env) refuse(class error, code string) func([]byte, error) {
	return func(raw []byte, buildErr error) {
		e.t.Helper()
		e.refused(raw, buildErr, class, code)
	}
}

// refused checks a refusal's class and code, and that the log did not grow.
func (e *env) refused(raw []byte, buildErr error, class error, code string) {
	e.t.Helper()
	before := e.log.Size()
	_, err := e.submit(raw, buildErr)
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, class) || r.Code != code {
		e.t.Fatalf("got %v, want a %v refusal with code %q", err, class, code)
	}
	if e.log.Size() != before {
		e.t.Fatalf("a refused entry changed the log size from %d to %d", before, e.log.Size())
	}
}

// register registers id, serving the actions serves.
func (e *env) register(id fixture.Identity, serves ...string) ledger.AppendResult {
	e.t.Helper()
	return e.mustOK(fixture.Registration(e.authority.Key, id, "low", time.Now(), serves...))
}

// serve registers agent, serving inventory:check, and issues e.caller a
// contract at it: what e.action(agent, n) writes under.
func (e *env) serve(agent fixture.Identity) {
	e.t.Helper()
	if e.caller.DID == "" {
		e.caller = fixture.NewIdentity("caller")
		e.register(e.caller)
	}
	e.register(agent, "inventory:check")
	raw, _, err := fixture.Contract(e.authority.Key, e.caller.DID, agent.DID, []string{"inventory:check"}, time.Now(), time.Hour)
	res := e.mustOK(raw, err)
	e.refs[agent.DID] = statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}
}

func TestRegistrationRules(t *testing.T) {
	e := newEnv(t)
	order := fixture.NewIdentity("order-agent")
	first, err := fixture.Registration(e.authority.Key, order, "low", time.Now(), "order:create")
	if err != nil {
		t.Fatal(err)
	}
	res := e.mustOK(first, nil)
	storefront := fixture.NewIdentity("storefront")
	e.register(storefront)

	// The same entry again is a duplicate, not a conflict.
	again := e.mustOK(first, nil)
	if !again.Duplicate || again.Index != res.Index {
		t.Fatalf("resubmission = %+v, want duplicate of %d", again, res.Index)
	}
	stranger := fixture.NewIdentity("stranger")
	e.refuse(ErrForbidden, "not_authority")(fixture.Registration(stranger.Key, fixture.NewIdentity("rogue"), "low", time.Now()))
	e.refuse(ErrConflict, "name_taken")(fixture.Registration(e.authority.Key, fixture.NewIdentity("order-agent"), "high", time.Now()))
	e.refuse(ErrConflict, "did_registered")(fixture.Registration(e.authority.Key, fixture.FromKey("order-twin", order.Key), "low", time.Now()))
	bad, _ := envelope.Sign(envelope.KindRegistration, []byte(`{"v":1,"name":"x","did":"did:key:nope","risk":"low","time":"2026-01-01T00:00:00Z"}`), e.authority.Key)
	e.refused(bad, nil, ErrInvalid, "invalid_statement")
	// Served actions in one order only, so that each list has one form.
	unsorted, _ := envelope.Sign(envelope.KindRegistration, []byte(fmt.Sprintf(
		`{"v":1,"name":"payment-agent","did":%q,"risk":"high","serves":["payment:refund","payment:charge"],"time":"2026-01-01T00:00:00Z"}`,
		fixture.NewIdentity("p").DID)), e.authority.Key)
	e.refused(unsorted, nil, ErrInvalid, "invalid_statement")

	a, err := e.reg.Agent("order-agent")
	if err != nil || a.DID != order.DID || a.Index != res.Index || !slices.Equal(a.Serves, []string{"order:create"}) {
		t.Fatalf("Agent by name = %+v, %v", a, err)
	}
	if s, err := e.reg.Agent("storefront"); err != nil || s.Serves != nil {
		t.Fatalf("Agent storefront = %+v, %v; want one serving nothing", s, err)
	}
	b, err := e.reg.Agent(order.DID)
	if err != nil || b.Name != "order-agent" {
		t.Fatalf("Agent by DID = %+v, %v", b, err)
	}
	if _, err := e.reg.Agent("nobody"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
}

func TestConcurrentRegistrationsOfOneNameAdmitOne(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, conflicts := 0, 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, err := fixture.Registration(e.authority.Key, fixture.NewIdentity("payment-agent"), "high", time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			_, err = e.reg.Submit(context.Background(), raw)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || conflicts != 15 {
		t.Fatalf("%d registrations admitted and %d refused, want 1 and 15", won, conflicts)
	}
}

func TestContractRules(t *testing.T) {
	e := newEnv(t)
	order, pay := fixture.NewIdentity("order-agent"), fixture.NewIdentity("payment-agent")
	e.register(order, "order:create")
	e.register(pay, "payment:charge", "payment:refund")
	scopes := []string{"payment:charge:max_10000usd"}
	now := time.Now()

	raw, id, err := fixture.Contract(e.authority.Key, order.DID, pay.DID, scopes, now, time.Hour)
	res := e.mustOK(raw, err)

	e.refusedContract(order.Key, order.DID, pay.DID, scopes, ErrForbidden, "not_authority")
	ghost := fixture.NewIdentity("ghost")
	e.refusedContract(e.authority.Key, ghost.DID, pay.DID, scopes, ErrInvalid, "unknown_subject")
	e.refusedContract(e.authority.Key, order.DID, ghost.DID, scopes, ErrInvalid, "unknown_audience")

	// A contract grants only what its audience serves: a typo in a scope
	// is refused, not logged for good.
	for _, bad := range [][]string{
		{"paymnt:charge:max_10000usd"},
		{"payment:chrage"},
		{"payment:charge", "payment:chargeback"},
		{"payment:reconcile"},
		{"order:create"},
	} {
		e.refusedContract(e.authority.Key, order.DID, pay.DID, bad, ErrInvalid, "scope_not_served")
	}
	// The storefront only calls: it serves nothing, so no contract is at it.
	storefront := fixture.NewIdentity("storefront")
	e.register(storefront)
	e.refusedContract(e.authority.Key, order.DID, storefront.DID, []string{"order:create"}, ErrInvalid, "scope_not_served")
	callerOnly, _, err := fixture.Contract(e.authority.Key, storefront.DID, order.DID, []string{"order:create"}, now, time.Hour)
	e.mustOK(callerOnly, err)

	// Same id again, different content: a conflict.
	c := &statement.Contract{ID: id, Issuer: e.authority.DID, Subject: order.DID, Audience: pay.DID,
		Scopes: []string{"payment:refund"}, NotBefore: now.UTC(), Expires: now.Add(time.Hour).UTC(), Time: now.UTC()}
	payload, _ := c.Marshal()
	dupID, _ := envelope.Sign(envelope.KindContract, payload, e.authority.Key)
	e.refused(dupID, nil, ErrConflict, "contract_id_taken")

	// The issuer must be the signer.
	stranger := fixture.NewIdentity("stranger")
	c.ID = strings.Repeat("ab", 16)
	c.Issuer = stranger.DID
	payload, _ = c.Marshal()
	wrongIssuer, _ := envelope.Sign(envelope.KindContract, payload, e.authority.Key)
	e.refused(wrongIssuer, nil, ErrInvalid, "issuer_mismatch")

	// A scope that does not parse makes the contract unrecordable.
	badScope := fmt.Sprintf(`{"v":1,"id":"%s","issuer":"%s","subject":"%s","audience":"%s","scopes":["payment:charge:max_10000xyz"],"not_before":"2026-01-01T00:00:00Z","expires":"2026-01-01T01:00:00Z","time":"2026-01-01T00:00:00Z"}`,
		strings.Repeat("cd", 16), e.authority.DID, order.DID, pay.DID)
	raw2, _ := envelope.Sign(envelope.KindContract, []byte(badScope), e.authority.Key)
	e.refused(raw2, nil, ErrInvalid, "invalid_statement")

	got, err := e.reg.Contract(id)
	if err != nil || got.Index != res.Index || got.Statement.Subject != order.DID || len(got.Revocations) != 0 {
		t.Fatalf("Contract(%s) = %+v, %v", id, got, err)
	}
	for _, q := range []ContractQuery{{Subject: order.DID}, {Audience: pay.DID}, {Subject: order.DID, Audience: pay.DID}} {
		list, err := e.reg.Contracts(q)
		if err != nil || len(list) != 1 || list[0].Statement.ID != id {
			t.Fatalf("Contracts(%+v) = %d contracts, %v", q, len(list), err)
		}
	}
	if list, _ := e.reg.Contracts(ContractQuery{Subject: pay.DID}); len(list) != 0 {
		t.Fatalf("payment-agent is the subject of %d contracts, want 0", len(list))
	}
}

func (e *env) refusedContract(signer ed25519.PrivateKey, caller, callee string, scopes []string, class error, code string) {
	e.t.Helper()
	raw, _, err := fixture.Contract(signer, caller, callee, scopes, time.Now(), time.Hour)
	e.refused(raw, err, class, code)
}

func TestRevocationRules(t *testing.T) {
	e := newEnv(t)
	order, inv := fixture.NewIdentity("order-agent"), fixture.NewIdentity("inventory-agent")
	e.register(order)
	e.register(inv, "inventory:reserve")
	raw, id, err := fixture.Contract(e.authority.Key, order.DID, inv.DID, []string{"inventory:reserve"}, time.Now(), time.Hour)
	e.mustOK(raw, err)
	leaf := proofs.LeafHash(raw)

	e.refuse(ErrForbidden, "not_issuer")(fixture.Revocation(order.Key, leaf, "not mine to revoke", time.Now()))
	e.refuse(ErrInvalid, "unknown_contract")(fixture.Revocation(e.authority.Key, proofs.LeafHash([]byte("no such contract")), "gone", time.Now()))
	rev := e.mustOK(fixture.Revocation(e.authority.Key, leaf, "agent compromised", time.Now()))
	e.refuse(ErrConflict, "already_revoked")(fixture.Revocation(e.authority.Key, leaf, "again", time.Now()))

	// The index survives a restart: it was written with the entries.
	e.log.Close()
	e.open()
	c, err := e.reg.Contract(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Revocations) != 1 || c.Revocations[0].Index != rev.Index || c.Revocations[0].Reason != "agent compromised" || c.Revocations[0].Signer != e.authority.DID {
		t.Fatalf("revocations after reopen: %+v", c.Revocations)
	}
}

func TestActionRules(t *testing.T) {
	e := newEnv(t)
	order, pay, inv := fixture.NewIdentity("order-agent"), fixture.NewIdentity("payment-agent"), fixture.NewIdentity("inventory-agent")
	e.register(order)
	e.register(pay, "payment:charge")
	e.register(inv, "inventory:reserve")
	contract, _, err := fixture.Contract(e.authority.Key, order.DID, pay.DID, []string{"payment:charge:max_10000usd"}, time.Now(), time.Hour)
	c := e.mustOK(contract, err)
	invContract, _, err := fixture.Contract(e.authority.Key, order.DID, inv.DID, []string{"inventory:reserve"}, time.Now(), time.Hour)
	ic := e.mustOK(invContract, err)
	ref := statement.ContractRef{Index: c.Index, LeafHash: c.LeafHash}
	spec := fixture.ActionSpec{Caller: order.DID, Contract: ref,
		Action: "payment:charge", Body: []byte(`{"amount":100}`), Amount: fixture.Int64(100), Currency: "USD",
		Nonce: "nonce-0123456789abcdef", Time: time.Now()}
	action, err := fixture.Action(pay, spec)
	first := e.mustOK(action, err)
	if again := e.mustOK(action, nil); !again.Duplicate || again.Index != first.Index {
		t.Fatalf("resubmitted action = %+v, want a duplicate of %d", again, first.Index)
	}

	// An unregistered key cannot write actions, even naming itself.
	rogue := fixture.NewIdentity("rogue")
	spec.Nonce = "nonce-rogue-0123456789"
	e.refuse(ErrForbidden, "unregistered_signer")(fixture.Action(rogue, spec))
	// A registered agent cannot write an action in another agent's name.
	impersonated, err := fixture.Action(pay, spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := statement.ParseAction(mustPayload(t, impersonated))
	if err != nil {
		t.Fatal(err)
	}
	st.Agent = inv.DID
	payload, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	e.refuse(ErrForbidden, "agent_mismatch")(envelope.Sign(envelope.KindAction, payload, pay.Key))
	// The authority is not an agent.
	e.refuse(ErrForbidden, "unregistered_signer")(fixture.Action(e.authority, spec))

	// The named contract must be in the log, at the index named.
	for i, r := range []statement.ContractRef{
		{Index: c.Index, LeafHash: proofs.LeafHash([]byte("no such contract"))}, // no such leaf hash
		{Index: c.Index + 1, LeafHash: c.LeafHash},                              // the contract's leaf, moved
		{Index: 0, LeafHash: proofs.LeafHash(e.entry(0))},                       // a registration's entry
		{Index: first.Index, LeafHash: first.LeafHash},                          // the action's own entry
		{Index: 1 << 40, LeafHash: c.LeafHash},                                  // beyond the log
	} {
		spec.Contract, spec.Nonce = r, fmt.Sprintf("nonce-not-in-log-%d-0123456789", i)
		e.refuse(ErrInvalid, "contract_not_in_log")(fixture.Action(pay, spec))
	}
	// The signer must be the contract's audience: an agent cannot record
	// an action about itself under a contract at another agent.
	spec.Contract, spec.Nonce = ref, "nonce-not-audience-0123456789"
	e.refuse(ErrForbidden, "not_audience")(fixture.Action(inv, spec))
	spec.Contract = statement.ContractRef{Index: ic.Index, LeafHash: ic.LeafHash}
	e.refuse(ErrForbidden, "not_audience")(fixture.Action(pay, spec))
	// Under its own contract it may, whether or not the contract grants
	// the action: that is for the agent to decide and the auditor to check.
	e.mustOK(fixture.Action(inv, spec))

	// The rule holds the same with a cold cache, after a restart.
	e.log.Close()
	e.open()
	spec.Contract, spec.Nonce = ref, "nonce-after-restart-0123456789"
	e.refuse(ErrForbidden, "not_audience")(fixture.Action(inv, spec))
	e.mustOK(fixture.Action(pay, spec))
}

// entry returns the log's entry at index.
func (e *env) entry(index uint64) []byte {
	e.t.Helper()
	raw, err := e.log.Entry(index)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func mustPayload(t *testing.T, raw []byte) []byte {
	t.Helper()
	env, err := envelope.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return env.Payload
}

// TestActionPrefixMatchesEnvelopes holds the indexer's fast path to the
// envelope format: an action entry starts with the prefix, and no other
// kind does.
func TestActionPrefixMatchesEnvelopes(t *testing.T) {
	key := fixture.NewIdentity("k").Key
	for _, kind := range []envelope.Kind{envelope.KindRegistration, envelope.KindContract, envelope.KindRevocation, envelope.KindAction} {
		raw, err := envelope.Sign(kind, []byte(`{"v":1}`), key)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.HasPrefix(raw, actionPrefix); got != (kind == envelope.KindAction) {
			t.Errorf("%s entry: prefix match %v", kind, got)
		}
	}
}
