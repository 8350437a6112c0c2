package fulfillment

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

const orderCaller = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"

func openDB(t *testing.T, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, "db")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newService opens a fresh store in a temporary directory.
func newService(t *testing.T, cfg Config) (*Service, *badger.DB) {
	t.Helper()
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	s, err := NewService(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

var (
	contractLeaf = proofs.LeafHash([]byte("the order agent's contract"))
	receiptLeaf  = proofs.LeafHash([]byte("the approval receipt"))
)

// approval is what the guard hands a handler for body.
func approval(body []byte, index uint64) *guard.Approval {
	return &guard.Approval{
		Caller:   orderCaller,
		Contract: &verify.Contract{Index: 3, LeafHash: contractLeaf},
		Receipt:  receipt.Receipt{Index: index, LeafHash: receiptLeaf},
		Nonce:    "nonce-of-the-request-0001",
		Body:     body,
	}
}

// call runs handler h on body and decodes the answer into out (if not nil).
func call(t *testing.T, h guard.Handler, body []byte, index uint64, out any) int {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	h(w, r, approval(body, index))
	if out != nil && w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("answer %s: %v", w.Body.String(), err)
		}
	}
	if w.Code != http.StatusOK {
		var e map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["error"] == "" {
			t.Fatalf("refusal is not {error,message}: %s", w.Body.String())
		}
	}
	return w.Code
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The customer's private details: on the label, never in a message input.
const (
	street     = "221B Baker Street"
	lastName   = "Holmesworthy"
	postalCode = "NW1 6XE"
	cardNumber = "4242424242424242"
)

func labelBody(order string) map[string]any {
	return map[string]any{
		"order_id": order,
		"name":     map[string]any{"first": "Ada", "last": lastName},
		"address": map[string]any{"lines": []string{street, "Flat 2"}, "city": "London",
			"postal_code": postalCode, "country": "GB"},
		"items": []map[string]any{{"sku": "WIDGET-1", "qty": 2}, {"sku": "GADGET-7", "qty": 1}},
	}
}

func notifyBody(order, note string) map[string]any {
	return map[string]any{
		"order_id":        order,
		"first_name":      "Ada",
		"items":           []map[string]any{{"sku": "WIDGET-1", "qty": 2}, {"sku": "GADGET-7", "qty": 1}},
		"carrier":         Carrier,
		"tracking_number": TrackingNumber(order),
		"note":            note,
	}
}

// fakeModel is a local OpenAI-compatible chat-completions server.
type fakeModel struct {
	srv *httptest.Server

	mu       sync.Mutex
	status   int           // 0: 200
	content  string        // the assistant's answer
	noChoice bool          // answer with no choices
	delay    time.Duration // wait this long (or until the client goes)
	requests [][]byte      // bodies received
	paths    []string
	auth     []string
}

func newFakeModel(t *testing.T, content string) *fakeModel {
	t.Helper()
	f := &fakeModel{content: content}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeModel) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, body)
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	status, content, noChoice, delay := f.status, f.content, f.noChoice, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 && status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"message":"model down","type":"server_error"}}`))
		return
	}
	choices := []map[string]any{{"index": 0, "message": map[string]any{"role": "assistant", "content": content},
		"finish_reason": "stop"}}
	if noChoice {
		choices = []map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "created": 1764190000,
		"model": "test-model", "choices": choices,
		"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})
}

func (f *fakeModel) set(fn func(f *fakeModel)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (f *fakeModel) received() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.requests...)
}

// newLLM returns an LLM notifier on f, with the key in the environment.
func newLLM(t *testing.T, f *fakeModel, timeout time.Duration) *LLM {
	t.Helper()
	t.Setenv("FULFILLMENT_TEST_LLM_KEY", "sk-test-key")
	l, err := NewLLM(LLMConfig{BaseURL: f.srv.URL + "/v1/", Model: "test-model",
		APIKeyEnv: "FULFILLMENT_TEST_LLM_KEY", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// dump returns every key and value in db.
func dump(t *testing.T, db *badger.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
