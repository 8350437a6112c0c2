package order_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
)

// failure makes the fake answer an action with status and reason.
type failure struct {
	status int
	reason string
	times  int // fail this many calls, then answer normally (0: every call)
}

// downstream plays inventory, payment and fulfillment on one server. It
// does not run their guards, but it checks that every request is signed
// by the order agent under RFC 9421 and names a contract the order agent
// holds for that callee and action; it answers with a Ledger-Receipt.
type downstream struct {
	t         *testing.T
	srv       *httptest.Server
	orderDID  string
	contracts map[proofs.Hash]caller.Contract
	audience  map[string]string // path prefix → callee DID

	mu     sync.Mutex
	calls  map[string]int      // action → count
	bodies map[string][][]byte // action → bodies
	fail   map[string]failure  // action → forced failure
	next   uint64              // next receipt index
	bad    []string            // requests the fake refused
}

var paths = map[string]string{
	"/v1/inventory/reserve":  order.ActionReserve,
	"/v1/inventory/release":  order.ActionRelease,
	"/v1/inventory/consume":  order.ActionConsume,
	"/v1/payment/charge":     order.ActionCharge,
	"/v1/payment/refund":     order.ActionRefund,
	"/v1/fulfillment/label":  order.ActionLabel,
	"/v1/fulfillment/notify": order.ActionNotify,
}

func newDownstream(t *testing.T, orderDID string, inv, pay, ful fixture.Identity) *downstream {
	d := &downstream{t: t, orderDID: orderDID, contracts: map[proofs.Hash]caller.Contract{},
		audience: map[string]string{"/v1/inventory/": inv.DID, "/v1/payment/": pay.DID, "/v1/fulfillment/": ful.DID},
		calls:    map[string]int{}, bodies: map[string][][]byte{}, fail: map[string]failure{}, next: 1000}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *downstream) setFail(action string, f failure) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[action] = f
}

func (d *downstream) clearFail(action string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.fail, action)
}

func (d *downstream) count(action string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[action]
}

func (d *downstream) allBodies(action string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, b := range d.bodies[action] {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

func (d *downstream) lastBody(action string) map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.bodies[action]
	if len(b) == 0 {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(b[len(b)-1], &m)
	return m
}

func (d *downstream) refuse(w http.ResponseWriter, status int, why string) {
	d.mu.Lock()
	d.bad = append(d.bad, why)
	d.mu.Unlock()
	http.Error(w, `{"error":"fake_refused","message":"`+why+`"}`, status)
}

func (d *downstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	action, ok := paths[r.URL.Path]
	if !ok || r.Method != http.MethodPost {
		d.refuse(w, http.StatusNotFound, "no route "+r.URL.Path)
		return
	}
	sig, err := (&httpsig.Verifier{}).Verify(r, body)
	if err != nil || sig.KeyID != d.orderDID {
		d.refuse(w, http.StatusUnauthorized, fmt.Sprintf("signature: %v", err))
		return
	}
	ref, _, err := contractref.Parse(sig.Contract)
	if err != nil {
		d.refuse(w, http.StatusUnauthorized, "contract header: "+err.Error())
		return
	}
	k, ok := d.contracts[ref.LeafHash]
	var callee string
	for prefix, did := range d.audience {
		if strings.HasPrefix(r.URL.Path, prefix) {
			callee = did
		}
	}
	if !ok || k.Ref != ref || k.Statement.Audience != callee || !grantsName(k.Statement.Scopes, action) {
		d.refuse(w, http.StatusForbidden, "contract does not fit "+action)
		return
	}
	d.mu.Lock()
	d.calls[action]++
	d.bodies[action] = append(d.bodies[action], bytes.Clone(body))
	f, failing := d.fail[action]
	if failing && f.times > 0 {
		if f.times--; f.times == 0 {
			delete(d.fail, action)
		} else {
			d.fail[action] = f
		}
	}
	d.next++
	idx := d.next
	d.mu.Unlock()
	if failing && (f.status == http.StatusForbidden || f.status == http.StatusServiceUnavailable) {
		// A guard refusal: nothing approved, no receipt.
		writeFake(w, f.status, map[string]any{"error": f.reason})
		return
	}
	v, _ := contractref.FormatReceipt(idx, proofs.Hash{1})
	w.Header().Set(contractref.ReceiptHeader, v)
	if failing {
		writeFake(w, f.status, map[string]any{"error": f.reason, "status": "declined", "charge_id": "ch-x"})
		return
	}
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	switch action {
	case order.ActionReserve:
		writeFake(w, 200, map[string]any{"reservation_id": "res-" + req["order_id"].(string), "status": "held"})
	case order.ActionRelease:
		writeFake(w, 200, map[string]any{"reservation_id": req["reservation_id"], "status": "released"})
	case order.ActionConsume:
		writeFake(w, 200, map[string]any{"reservation_id": req["reservation_id"], "status": "consumed"})
	case order.ActionCharge:
		writeFake(w, 200, map[string]any{"charge_id": "ch-" + req["order_id"].(string), "status": "succeeded", "amount": req["amount"]})
	case order.ActionRefund:
		writeFake(w, 200, map[string]any{"refund_id": "rf-" + req["charge_id"].(string), "status": "succeeded"})
	case order.ActionLabel:
		writeFake(w, 200, map[string]any{"order_id": req["order_id"], "carrier": "SimPost", "tracking_number": "TRK123"})
	case order.ActionNotify:
		writeFake(w, 200, map[string]any{"id": "n-1", "order_id": req["order_id"], "text": "hello"})
	}
}

func grantsName(scopes []string, action string) bool {
	for _, s := range scopes {
		if s == action || strings.HasPrefix(s, action+":") {
			return true
		}
	}
	return false
}

func writeFake(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// env is an order agent with real contracts, against the fake.
type env struct {
	t       *testing.T
	svc     *order.Service
	down    *downstream
	client  *caller.Client
	db      *badger.DB
	world   *ledgerWorld
	self    fixture.Identity
	mu      sync.Mutex
	receipt uint64
}

type envOptions struct {
	chargeScope  string // default payment:charge:max_1000usd
	reserveScope string // default inventory:reserve
	labelScope   string // default fulfillment:label
	refund       bool   // hold a payment:refund contract
	cfg          func(*order.Config)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	w := newLedger(t)
	self := w.register("order", "low", order.ActionCreate)
	inv := w.register("inventory", "medium", order.ActionReserve, order.ActionConsume, order.ActionRelease)
	pay := w.register("payment", "high", order.ActionCharge, order.ActionRefund)
	ful := w.register("fulfillment", "medium", order.ActionLabel, order.ActionNotify)
	c := caller.New(self.Key, nil, nil)
	down := newDownstream(t, self.DID, inv, pay, ful)
	if o.chargeScope == "" {
		o.chargeScope = "payment:charge:max_1000usd"
	}
	if o.reserveScope == "" {
		o.reserveScope = "inventory:reserve"
	}
	if o.labelScope == "" {
		o.labelScope = "fulfillment:label"
	}
	held := []caller.Contract{
		w.issue(self, inv, o.reserveScope, "inventory:release", "inventory:consume"),
		w.issue(self, pay, o.chargeScope),
		w.issue(self, ful, o.labelScope, "fulfillment:notify"),
	}
	if o.refund {
		held = append(held, w.issue(self, pay, "payment:refund:max_1000usd"))
	}
	for _, k := range held {
		if err := c.Add(k); err != nil {
			t.Fatal(err)
		}
		down.contracts[k.Ref.LeafHash] = k
	}
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(t.TempDir(), "db")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := order.Config{InventoryURL: down.srv.URL, InventoryDID: inv.DID, PaymentURL: down.srv.URL, PaymentDID: pay.DID,
		FulfillmentURL: down.srv.URL, FulfillmentDID: ful.DID,
		// Failures are final unless a test opens a retry window.
		StepRetry: order.Duration(time.Millisecond)}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	svc, err := order.New(db, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, svc: svc, down: down, client: c, db: db, world: w, self: self, receipt: 1}
}

// approval is what the order agent's guard would hand the handler.
func (e *env) approval(creator string, body []byte) *guard.Approval {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.receipt++
	return &guard.Approval{Caller: creator, Receipt: receipt.Receipt{Index: e.receipt}, Body: body}
}

// create posts an order as creator.
func (e *env) create(creator string, req any) (int, order.View) {
	e.t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		e.t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
	rec := httptest.NewRecorder()
	e.svc.CreateHandler()(rec, r, e.approval(creator, body))
	var v order.View
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		e.t.Fatalf("answer %d %q: %v", rec.Code, rec.Body.String(), err)
	}
	return rec.Code, v
}

// status reads an order as who.
func (e *env) status(who, id string) (int, order.View) {
	e.t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		e.svc.StatusHandler()(w, r, e.approval(who, nil))
	})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/orders/"+id, nil))
	var v order.View
	_ = json.Unmarshal(rec.Body.Bytes(), &v)
	return rec.Code, v
}

func (e *env) noBadRequests() {
	e.t.Helper()
	e.down.mu.Lock()
	defer e.down.mu.Unlock()
	if len(e.down.bad) != 0 {
		e.t.Fatalf("the downstream fake refused requests: %v", e.down.bad)
	}
}
