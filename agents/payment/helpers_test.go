package payment

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

var t0 = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)

func openDB(t *testing.T, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// world is a payment agent with its own store, and an in-memory list of
// the ledger entries the guard would have written for it.
type world struct {
	t       *testing.T
	dir     string
	db      *badger.DB
	proc    *Simulated
	svc     *Service
	agent   fixture.Identity
	caller  fixture.Identity
	ref     statement.ContractRef
	mu      sync.Mutex
	entries [][]byte
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dir: filepath.Join(t.TempDir(), "db"), agent: fixture.NewIdentity("payment"), caller: fixture.NewIdentity("order")}
	w.open()
	t.Cleanup(func() { w.db.Close() })
	authority := fixture.NewIdentity("authority")
	contract, _, err := fixture.Contract(authority.Key, w.caller.DID, w.agent.DID,
		[]string{"payment:charge:max_10000usd", "payment:refund"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.ref = statement.ContractRef{Index: 0, LeafHash: proofs.LeafHash(contract)}
	w.entries = append(w.entries, contract) // index 0: a contract, not an action
	return w
}

// open (re)opens the store with a fresh processor.
func (w *world) open() {
	w.db = openDB(w.t, w.dir)
	w.proc = NewSimulated()
	svc, err := New(Options{Store: NewStore(w.db), Processor: w.proc, DID: w.agent.DID, Now: func() time.Time { return t0 }})
	if err != nil {
		w.t.Fatal(err)
	}
	w.svc = svc
}

func (w *world) reopen() {
	if err := w.db.Close(); err != nil {
		w.t.Fatal(err)
	}
	w.open()
}

// approve does what the guard does before a handler runs: it appends the
// agent's signed action entry for body and returns the approval.
func (w *world) approve(action string, body []byte) *guard.Approval {
	w.t.Helper()
	return w.approveBound(action, body, nil)
}

// approveBound is approve for an approval whose Bind found target.
func (w *world) approveBound(action string, body []byte, target *statement.EntryRef) *guard.Approval {
	w.t.Helper()
	values := ChargeValues
	if action == ActionRefund {
		values = RefundValues
	}
	spec := fixture.ActionSpec{Caller: w.caller.DID, Contract: w.ref, Action: action, Body: body, Target: target, Nonce: nonce(), Time: t0}
	if req, err := values(nil, body); err == nil {
		spec.Amount, spec.Currency = fixture.Int64(req.Amount), req.Currency
	}
	entry, err := fixture.Action(w.agent, spec)
	if err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.entries = append(w.entries, entry)
	index := uint64(len(w.entries) - 1)
	return &guard.Approval{Caller: w.caller.DID, Receipt: receipt.Receipt{Index: index, LeafHash: proofs.LeafHash(entry)},
		Nonce: spec.Nonce, Body: body, Target: target}
}

// call does what the guard does with a request of action from w.caller:
// for a refund, RefundBind first (its refusal answered as the guard
// answers it, with nothing recorded); then the approval and the handler.
func (w *world) call(action string, body []byte) (int, []byte) {
	w.t.Helper()
	var b guard.Binding
	if action == ActionRefund {
		var err error
		if b, err = w.svc.RefundBind(context.Background(), w.caller.DID, body); err != nil {
			return refusalAnswer(w.t, err)
		}
		defer b.Release()
	}
	a := w.approveBound(action, body, b.Target)
	h := w.svc.ChargeHandler()
	if action == ActionRefund {
		h = w.svc.RefundHandler()
	}
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/"+action, bytes.NewReader(body)), a)
	return rec.Code, rec.Body.Bytes()
}

// refusalAnswer is the guard's answer to a Bind's refusal.
func refusalAnswer(t *testing.T, err error) (int, []byte) {
	t.Helper()
	var r *guard.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("bind: %v, want a *guard.Refusal", err)
	}
	rec := httptest.NewRecorder()
	jsonapi.WriteJSON(rec, r.Status, jsonapi.Error{Error: r.Reason, Message: r.Detail})
	return rec.Code, rec.Body.Bytes()
}

func (w *world) charge(body string) (int, ChargeResponse) {
	w.t.Helper()
	code, b := w.call(ActionCharge, []byte(body))
	var resp ChargeResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		w.t.Fatalf("charge answer %s: %v", b, err)
	}
	return code, resp
}

func (w *world) refund(body string) (int, RefundResponse) {
	w.t.Helper()
	code, b := w.call(ActionRefund, []byte(body))
	var resp RefundResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		w.t.Fatalf("refund answer %s: %v", b, err)
	}
	return code, resp
}

// ledger yields the entries, as Reconcile reads them.
func (w *world) ledger(yield func(uint64, []byte) bool) {
	w.mu.Lock()
	entries := append([][]byte(nil), w.entries...)
	w.mu.Unlock()
	for i, e := range entries {
		if !yield(uint64(i), e) {
			return
		}
	}
}

func nonce() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
