package guard_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/agents/replay"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// stubAppender takes receipts without a ledger, to measure the guard alone.
type stubAppender struct{}

func (stubAppender) Append(_ context.Context, entry []byte) (client.AppendResult, error) {
	return client.AppendResult{Index: 1, LeafHash: proofs.LeafHash(entry)}, nil
}

// noReceipt skips the receipt entirely (no signing, no append), to isolate
// the checks.
type noReceipt struct{ did string }

func (n noReceipt) Record(context.Context, statement.Action) (receipt.Receipt, error) {
	return receipt.Receipt{Index: 1}, nil
}
func (n noReceipt) DID() string { return n.did }

// benchWorld is a guarded charge handler with the contract already in the
// agent's view and receipts stubbed out, and the same handler unguarded.
type benchWorld struct {
	guarded, checksOnly, bare http.Handler
	orderClient               *caller.Client
	charge                    caller.Contract
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	signer, verifier := newLogKeys(b)
	w := newLedger(b, signer, verifier, fixture.NewIdentity("authority"))
	order, payment := w.register("order-agent", "low"), w.register("payment-agent", "high", "payment:charge")
	charge := w.issue(order, payment, time.Now(), time.Hour, "payment:charge:max_10000usd")
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(b.TempDir(), "db")).WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	f, err := verify.NewFollower(verify.Options{
		Policy: verify.TrustPolicy{LogKey: verifier, Authority: w.authority.DID}, Source: w.client, StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	g, err := guard.New(guard.Options{Follower: f, Replay: replay.New(db),
		Receipts: receipt.NewWriter(payment.Key, stubAppender{}, time.Second), Verifier: &httpsig.Verifier{}, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	checks, err := guard.New(guard.Options{Follower: f, Replay: replay.New(db),
		Receipts: noReceipt{did: payment.DID}, Verifier: &httpsig.Verifier{}, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	handle := func(w http.ResponseWriter, r *http.Request, _ *guard.Approval) { w.WriteHeader(http.StatusOK) }
	oc := caller.New(order.Key, nil, nil)
	return &benchWorld{
		guarded:    g.Protect("payment:charge", amountValues, handle),
		checksOnly: checks.Protect("payment:charge", amountValues, handle),
		bare: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if _, err := amountValues(r, body); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			handle(w, r, nil)
		}),
		// The steady state: after its first accepted call, caller.Client
		// names the contract by reference only.
		orderClient: oc, charge: caller.Contract{Ref: charge.Ref, Statement: charge.Statement},
	}
}

// BenchmarkGuard is a charge behind the guard: signature, replay store,
// cached contract, authorization, and the receipt signed but its append
// stubbed out (the append is the ledger's latency, measured apart).
// Compare with BenchmarkNoGuard and BenchmarkEd25519Verify.
func BenchmarkGuard(b *testing.B) {
	benchGuarded(b, func(bw *benchWorld) http.Handler { return bw.guarded })
}

// BenchmarkGuardChecksOnly is BenchmarkGuard without the receipt at all:
// what the checks cost.
func BenchmarkGuardChecksOnly(b *testing.B) {
	benchGuarded(b, func(bw *benchWorld) http.Handler { return bw.checksOnly })
}

func benchGuarded(b *testing.B, pick func(*benchWorld) http.Handler) {
	bw := newBenchWorld(b)
	h := pick(bw)
	reqs := make([]*http.Request, b.N)
	body := chargeBody(100, "USD")
	for i := range reqs {
		req, err := bw.orderClient.NewRequest(context.Background(), http.MethodPost, "http://payment.test/v1/charge", bw.charge, body)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = req
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, reqs[i])
		if rec.Code != http.StatusOK {
			b.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

// BenchmarkNoGuard is the same handler with no guard.
func BenchmarkNoGuard(b *testing.B) {
	bw := newBenchWorld(b)
	body := chargeBody(100, "USD")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "http://payment.test/v1/charge", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		bw.bare.ServeHTTP(rec, req)
	}
}

// BenchmarkEd25519Verify is one bare Ed25519 verification: the baseline.
func BenchmarkEd25519Verify(b *testing.B) {
	id := fixture.NewIdentity("x")
	msg := make([]byte, 400)
	sig := ed25519.Sign(id.Key, msg)
	pub := id.Key.Public().(ed25519.PublicKey)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkReceiptAppend is the write-ahead receipt against a real ledger
// on loopback: sign the action entry, append it, wait for the durable
// index. It reports p50 and p99.
func BenchmarkReceiptAppend(b *testing.B) {
	signer, verifier := newLogKeys(b)
	w := newLedger(b, signer, verifier, fixture.NewIdentity("authority"))
	payment := w.register("payment-agent", "high", "payment:charge")
	order := fixture.NewIdentity("order-agent")
	rw := receipt.NewWriter(payment.Key, w.client, 5*time.Second)
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		_, err := rw.Record(context.Background(), statement.Action{Caller: order.DID,
			Contract: statement.ContractRef{Index: 0, LeafHash: proofs.LeafHash([]byte("c"))}, Action: "payment:charge",
			ArgsDigest: statement.ArgsDigestPrefix + strings.Repeat("ab", 32), Nonce: fmt.Sprintf("bench-receipt-%08d", i), Time: time.Now()})
		lat[i] = time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkFirstContact is a call under a contract the agent has never
// seen: the guard refreshes its view (checkpoint, consistency proof, new
// entries) and verifies the contract cold. Issuing the contract is outside
// the timing. It reports p50 and p99.
func BenchmarkFirstContact(b *testing.B) {
	signer, verifier := newLogKeys(b)
	w := newLedger(b, signer, verifier, fixture.NewIdentity("authority"))
	order, payment := w.register("order-agent", "low"), w.register("payment-agent", "high", "payment:charge")
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(b.TempDir(), "db")).WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	f, err := verify.NewFollower(verify.Options{
		Policy: verify.TrustPolicy{LogKey: verifier, Authority: w.authority.DID}, Source: w.client, StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	g, err := guard.New(guard.Options{Follower: f, Replay: replay.New(db),
		Receipts: noReceipt{did: payment.DID}, Verifier: &httpsig.Verifier{}, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	h := g.Protect("payment:charge", amountValues, func(w http.ResponseWriter, r *http.Request, _ *guard.Approval) {})
	oc := caller.New(order.Key, nil, nil)
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k := w.issue(order, payment, time.Now(), time.Hour, "payment:charge:max_10000usd")
		k.Bundle = nil // a reference only: the agent must find it in the log
		req, err := oc.NewRequest(context.Background(), http.MethodPost, "http://payment.test/v1/charge", k, chargeBody(100, "USD"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		lat[i] = time.Since(t0)
		if rec.Code != http.StatusOK {
			b.Fatalf("first contact %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
