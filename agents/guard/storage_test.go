package guard_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentledger/agentledger/ledger/client"
)

// refusingLedger is a ledger client for a server that answers every append
// with status and the JSON error reason, as a ledger whose storage failed
// does. It counts the appends it refused.
func refusingLedger(t *testing.T, status int, reason string, header ...string) (*client.Client, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/entries" {
			calls.Add(1)
		}
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"` + reason + `","message":"ledger storage unavailable"}`))
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, &http.Client{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, &calls
}

// TestLedgerStorageFaultStopsTheAgentActing has the agent's receipt append
// answered with the ledger's storage refusals: the agent must not act, and
// must answer 503 ledger_unavailable with no receipt.
func TestLedgerStorageFaultStopsTheAgentActing(t *testing.T) {
	s := newSeed(t)
	for _, reason := range []string{"storage_unavailable", "storage_failed"} {
		t.Run(reason, func(t *testing.T) {
			to, calls := refusingLedger(t, http.StatusServiceUnavailable, reason)
			a := startAgent(t, agentConfig{id: s.payment, ledger: s.w, dir: t.TempDir(), receiptTo: to})
			s.refused(t, a, signed(t, s.orderClient, a.url+"/v1/charge", s.charge, chargeBody(100, "USD")), 503, "ledger_unavailable")
			if calls.Load() == 0 {
				t.Fatal("the agent refused before it asked the ledger for the receipt")
			}
			if a.ran.Load() != 0 {
				t.Fatal("the handler ran without a receipt")
			}
		})
	}
}

// TestRateLimitedReceiptPassesOnRetryAfter has the ledger refuse the
// agent's receipt with 429 and a Retry-After longer than the agent waits:
// the agent does not act, and tells its caller when to come back.
func TestRateLimitedReceiptPassesOnRetryAfter(t *testing.T) {
	s := newSeed(t)
	to, calls := refusingLedger(t, http.StatusTooManyRequests, "rate_limited", "Retry-After", "30")
	a := startAgent(t, agentConfig{id: s.payment, ledger: s.w, dir: t.TempDir(), receiptTo: to})
	resp, err := http.DefaultClient.Do(signed(t, s.orderClient, a.url+"/v1/charge", s.charge, chargeBody(100, "USD")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("got %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if calls.Load() != 1 || a.ran.Load() != 0 {
		t.Fatalf("%d receipt attempts, handler ran %d times", calls.Load(), a.ran.Load())
	}
}
