package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

var (
	orderAgent = fixture.NewIdentity("order-agent")
	otherAgent = fixture.NewIdentity("other-agent")
	invAgent   = fixture.NewIdentity("inventory-agent")
)

func openDB(t *testing.T, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, "db")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newService opens a fresh store in a temporary directory.
func newService(t *testing.T, rec guard.Recorder, cfg Config) *Service {
	t.Helper()
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	s, err := NewService(db, rec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testClock is an injectable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	contractLeaf = proofs.LeafHash([]byte("the order agent's contract"))
	receiptLeaf  = proofs.LeafHash([]byte("the reserve receipt"))
)

// approval is what the guard hands a handler for caller's body.
func approval(caller string, body []byte) *guard.Approval {
	return &guard.Approval{
		Caller:   caller,
		Contract: &verify.Contract{Index: 3, LeafHash: contractLeaf},
		Receipt:  receipt.Receipt{Index: 7, LeafHash: receiptLeaf},
		Nonce:    "nonce-of-the-request-0001",
		Body:     body,
	}
}

type answer struct {
	status int
	body   map[string]any
	raw    []byte
}

func (a answer) reason() string { s, _ := a.body["error"].(string); return s }
func (a answer) num(k string) int64 {
	f, _ := a.body[k].(float64)
	return int64(f)
}
func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func call(t *testing.T, h guard.Handler, caller string, body any) answer {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	w := httptest.NewRecorder()
	h(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b)), approval(caller, b))
	a := answer{status: w.Code, raw: w.Body.Bytes()}
	if err := json.Unmarshal(a.raw, &a.body); err != nil {
		t.Fatalf("response %q: %v", a.raw, err)
	}
	return a
}

func reserveBody(order string, ttl int64, kv ...any) map[string]any {
	var lines []map[string]any
	for i := 0; i < len(kv); i += 2 {
		lines = append(lines, map[string]any{"sku": kv[i], "qty": kv[i+1]})
	}
	return map[string]any{"order_id": order, "lines": lines, "ttl_seconds": ttl}
}

func stock(t *testing.T, s *Service, sku string) Stock {
	t.Helper()
	st, err := s.Store().Stock(sku)
	if err != nil {
		t.Fatal(err)
	}
	if st.Reserved < 0 || st.Reserved > st.OnHand {
		t.Fatalf("invariant broken: %+v", st)
	}
	return st
}

func wantStock(t *testing.T, s *Service, sku string, onHand, reserved int64) {
	t.Helper()
	if st := stock(t, s, sku); st.OnHand != onHand || st.Reserved != reserved {
		t.Fatalf("%s: on hand %d reserved %d, want %d %d", sku, st.OnHand, st.Reserved, onHand, reserved)
	}
}

// recorder is a fake guard.Recorder: it records the actions it is given,
// notes the watched SKU's stock at the moment of each Record (to prove
// the write-ahead order), and fails while fail is set.
type recorder struct {
	mu      sync.Mutex
	store   *Store
	sku     string
	fail    bool
	actions []statement.Action
	atCall  []Stock
}

func (r *recorder) DID() string { return invAgent.DID }

func (r *recorder) Record(_ context.Context, a statement.Action) (receipt.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a.Agent = invAgent.DID
	if _, err := a.Marshal(); err != nil {
		return receipt.Receipt{}, err // the statement rules must hold
	}
	if r.fail {
		return receipt.Receipt{}, receipt.ErrUnavailable
	}
	if r.store != nil {
		st, err := r.store.Stock(r.sku)
		if err != nil {
			return receipt.Receipt{}, errors.Join(receipt.ErrUnavailable, err)
		}
		r.atCall = append(r.atCall, st)
	}
	r.actions = append(r.actions, a)
	return receipt.Receipt{Index: uint64(100 + len(r.actions)), LeafHash: proofs.LeafHash([]byte("restock"))}, nil
}

func (r *recorder) recorded() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.actions)
}

// standingLeaf is the leaf hash of the inventory agent's standing grant.
var standingLeaf = proofs.LeafHash([]byte("the inventory agent's standing grant"))

// grants is a fake Picker: the inventory agent holding one standing
// grant with scopes, or none when scopes is nil.
type grants struct{ scopes []string }

func (g grants) DID() string { return invAgent.DID }

func (g grants) Pick(callee, action string) (caller.Contract, error) {
	if g.scopes == nil || callee != invAgent.DID {
		return caller.Contract{}, caller.ErrNoContract
	}
	return caller.Contract{Ref: statement.ContractRef{Index: 2, LeafHash: standingLeaf},
		Statement: &statement.Contract{ID: "standing", Subject: invAgent.DID, Audience: invAgent.DID, Scopes: g.scopes}}, nil
}

// reserveAndConsume reserves lines for order and consumes the
// reservation, and returns the consume's answer.
func reserveAndConsume(t *testing.T, s *Service, order string, kv ...any) (ConsumeResponse, answer) {
	t.Helper()
	r := call(t, s.Reserve, orderAgent.DID, reserveBody(order, 0, kv...))
	if r.status != 200 {
		t.Fatalf("reserve %s: %s", order, r.raw)
	}
	got := call(t, s.Consume, orderAgent.DID, map[string]any{"reservation_id": r.str("reservation_id")})
	var resp ConsumeResponse
	if got.status == 200 {
		if err := json.Unmarshal(got.raw, &resp); err != nil {
			t.Fatal(err)
		}
	}
	return resp, got
}
