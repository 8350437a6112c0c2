package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/agents/replay"
	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// GuardResult is the outcome of the enforcement benchmark. Durations are
// per request, all measured in one run on one goroutine.
type GuardResult struct {
	Requests      int           `json:"requests"`
	Guarded       time.Duration `json:"guarded_ns"`        // checks + receipt signed, append stubbed
	ChecksOnly    time.Duration `json:"checks_only_ns"`    // checks, no receipt
	NoGuard       time.Duration `json:"no_guard_ns"`       // the bare handler
	Ed25519Verify time.Duration `json:"ed25519_verify_ns"` // the baseline
	ReceiptP50    time.Duration `json:"receipt_append_p50_ns"`
	ReceiptP99    time.Duration `json:"receipt_append_p99_ns"`
	FirstP50      time.Duration `json:"first_contact_p50_ns"`
	FirstP99      time.Duration `json:"first_contact_p99_ns"`
}

// Overhead is the guard's cost over the bare handler, in Ed25519
// verifications.
func (r GuardResult) Overhead() float64 {
	return float64(r.Guarded-r.NoGuard) / float64(r.Ed25519Verify)
}

// ChecksOverhead is Overhead without the receipt.
func (r GuardResult) ChecksOverhead() float64 {
	return float64(r.ChecksOnly-r.NoGuard) / float64(r.Ed25519Verify)
}

// Guard runs the enforcement benchmark against an in-process ledger served
// on loopback: n guarded requests, n with checks only, n bare, n Ed25519
// verifications, then receipt appends and first contacts (n/10 each,
// at least 50).
func Guard(ctx context.Context, n int) (GuardResult, error) {
	if n < 10 {
		return GuardResult{}, fmt.Errorf("need at least 10 requests")
	}
	w, err := newGuardWorld()
	if err != nil {
		return GuardResult{}, err
	}
	defer w.close()
	res := GuardResult{Requests: n}
	body := []byte(`{"amount":100,"currency":"USD"}`)
	serve := func(h http.Handler, signed bool) (time.Duration, error) {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			if signed {
				if reqs[i], err = w.order.NewRequest(ctx, http.MethodPost, "http://payment.bench/v1/charge", w.charge, body); err != nil {
					return 0, err
				}
			} else {
				reqs[i] = httptest.NewRequest(http.MethodPost, "http://payment.bench/v1/charge", bytes.NewReader(body))
			}
		}
		start := time.Now()
		for _, req := range reqs {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return 0, fmt.Errorf("benchmark request refused: %d %s", rec.Code, rec.Body)
			}
		}
		return time.Since(start) / time.Duration(n), nil
	}
	if res.Guarded, err = serve(w.guarded, true); err != nil {
		return res, err
	}
	if res.ChecksOnly, err = serve(w.checksOnly, true); err != nil {
		return res, err
	}
	if res.NoGuard, err = serve(w.bare, false); err != nil {
		return res, err
	}
	res.Ed25519Verify = ed25519Rate(n)
	m := max(n/10, 50)
	if res.ReceiptP50, res.ReceiptP99, err = w.receipts(ctx, m); err != nil {
		return res, err
	}
	res.FirstP50, res.FirstP99, err = w.firstContacts(ctx, m)
	return res, err
}

func ed25519Rate(n int) time.Duration {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pub := key.Public().(ed25519.PublicKey)
	msg := make([]byte, 400)
	sig := ed25519.Sign(key, msg)
	start := time.Now()
	for i := 0; i < n; i++ {
		ed25519.Verify(pub, msg, sig)
	}
	return time.Since(start) / time.Duration(n)
}

// guardWorld is a ledger on loopback, the seed's order and payment agents,
// an order->payment contract, and the payment agent's guard three ways.
type guardWorld struct {
	dir                       string
	log                       *ledger.Log
	srv                       *httptest.Server
	ledger                    *client.Client
	db                        *badger.DB
	authority, orderID, payID identity.Identity
	follower                  *verify.Follower
	order                     *caller.Client
	charge                    caller.Contract
	guarded, checksOnly, bare http.Handler
	firstContact              http.Handler
}

func newGuardWorld() (*guardWorld, error) {
	dir, err := os.MkdirTemp("", "ledger-bench-guard-")
	if err != nil {
		return nil, err
	}
	ids, err := identity.NewMany("authority", "order-agent", "payment-agent")
	if err != nil {
		return nil, err
	}
	w := &guardWorld{dir: dir, authority: ids[0], orderID: ids[1], payID: ids[2]}
	if err := w.start(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *guardWorld) start() error {
	const origin = "bench.agentledger.local/log"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return err
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	db := filepath.Join(w.dir, "ledger")
	if err := ledger.Create(db, origin); err != nil {
		return err
	}
	if w.log, err = ledger.Open(ledger.Options{Dir: db, Signer: signer, CheckpointInterval: 10 * time.Millisecond, Indexer: registry.Indexer{}}); err != nil {
		return err
	}
	reg := registry.New(w.log, w.authority.Key.Public().(ed25519.PublicKey))
	api := httpapi.New(w.log, reg, zerolog.Nop(), nil)
	w.srv = httptest.NewServer(api)
	if w.ledger, err = client.New(w.srv.URL, nil); err != nil {
		return err
	}
	ctx := context.Background()
	for _, p := range []struct {
		id     identity.Identity
		serves []string
	}{{w.orderID, nil}, {w.payID, []string{"payment:charge"}}} {
		raw, err := w.authority.Register(p.id, "low", p.serves, time.Now())
		if err != nil {
			return err
		}
		if _, err := w.ledger.Append(ctx, raw); err != nil {
			return err
		}
	}
	if w.charge, err = w.issue(ctx, true); err != nil {
		return err
	}
	// The steady state: after its first accepted call, caller.Client names
	// the contract by reference only.
	w.charge.Bundle = nil
	if w.db, err = badger.Open(badger.DefaultOptions(filepath.Join(w.dir, "agent")).WithLogger(nil)); err != nil {
		return err
	}
	if w.follower, err = verify.NewFollower(verify.Options{Policy: verify.TrustPolicy{LogKey: verifier, Authority: w.authority.DID},
		Source: w.ledger, StateDir: filepath.Join(w.dir, "view")}); err != nil {
		return err
	}
	if err := w.follower.Refresh(ctx); err != nil {
		return err
	}
	w.order = caller.New(w.orderID.Key, nil, nil)
	handle := func(rw http.ResponseWriter, r *http.Request, _ *guard.Approval) { rw.WriteHeader(http.StatusOK) }
	mk := func(rec guard.Recorder) (http.Handler, error) {
		g, err := guard.New(guard.Options{Follower: w.follower, Replay: replay.New(w.db), Receipts: rec,
			Verifier: &httpsig.Verifier{}, Logger: zerolog.Nop()})
		if err != nil {
			return nil, err
		}
		return g.Protect("payment:charge", amountValues, handle), nil
	}
	if w.guarded, err = mk(receipt.NewWriter(w.payID.Key, stubAppender{}, time.Second)); err != nil {
		return err
	}
	if w.checksOnly, err = mk(noReceipt{did: w.payID.DID}); err != nil {
		return err
	}
	w.firstContact = w.checksOnly
	w.bare = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if _, err := amountValues(r, b); err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		handle(rw, r, nil)
	})
	return nil
}

// issue appends an order->payment contract and returns it as the order
// agent holds it; with waitProof, with its tlog-proof.
func (w *guardWorld) issue(ctx context.Context, waitProof bool) (caller.Contract, error) {
	raw, _, err := w.authority.Contract(w.orderID.DID, w.payID.DID, []string{"payment:charge:max_10000usd"}, time.Now(), time.Hour)
	if err != nil {
		return caller.Contract{}, err
	}
	res, err := w.ledger.Append(ctx, raw)
	if err != nil {
		return caller.Contract{}, err
	}
	k := caller.Contract{Ref: statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, size, _ := w.log.Checkpoint(); size > res.Index {
			break
		}
		if time.Now().After(deadline) {
			return k, fmt.Errorf("no checkpoint covers the contract")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !waitProof {
		return k, nil
	}
	bundle, err := w.ledger.Bundle(ctx, res.Index, 0)
	if err != nil {
		return k, err
	}
	return caller.ParseContract(bundle)
}

func (w *guardWorld) receipts(ctx context.Context, n int) (p50, p99 time.Duration, err error) {
	rw := receipt.NewWriter(w.payID.Key, w.ledger, 5*time.Second)
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		_, err := rw.Record(ctx, statement.Action{Caller: w.orderID.DID, Contract: w.charge.Ref, Action: "payment:charge",
			ArgsDigest: statement.ArgsDigestPrefix + fmt.Sprintf("%064x", i), Nonce: fmt.Sprintf("bench-receipt-%08d", i), Time: time.Now()})
		if err != nil {
			return 0, 0, err
		}
		lat[i] = time.Since(t0)
	}
	return percentiles(lat)
}

func (w *guardWorld) firstContacts(ctx context.Context, n int) (p50, p99 time.Duration, err error) {
	lat := make([]time.Duration, n)
	body := []byte(`{"amount":100,"currency":"USD"}`)
	for i := range lat {
		k, err := w.issue(ctx, false)
		if err != nil {
			return 0, 0, err
		}
		req, err := w.order.NewRequest(ctx, http.MethodPost, "http://payment.bench/v1/charge", k, body)
		if err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		rec := httptest.NewRecorder()
		w.firstContact.ServeHTTP(rec, req)
		lat[i] = time.Since(t0)
		if rec.Code != http.StatusOK {
			return 0, 0, fmt.Errorf("first contact refused: %d %s", rec.Code, rec.Body)
		}
	}
	return percentiles(lat)
}

func percentiles(lat []time.Duration) (p50, p99 time.Duration, err error) {
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

func (w *guardWorld) close() {
	if w.srv != nil {
		w.srv.Close()
	}
	if w.db != nil {
		w.db.Close()
	}
	if w.log != nil {
		w.log.Close()
	}
	os.RemoveAll(w.dir)
}

// amountValues reads {"amount":<minor units>,"currency":"USD"}.
func amountValues(_ *http.Request, body []byte) (scope.Request, error) {
	var b struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Amount: b.Amount, Currency: b.Currency, HasAmount: true}, nil
}

// stubAppender takes receipts without a ledger.
type stubAppender struct{}

func (stubAppender) Append(_ context.Context, entry []byte) (client.AppendResult, error) {
	return client.AppendResult{Index: 1, LeafHash: proofs.LeafHash(entry)}, nil
}

// noReceipt skips the receipt entirely.
type noReceipt struct{ did string }

func (n noReceipt) Record(context.Context, statement.Action) (receipt.Receipt, error) {
	return receipt.Receipt{Index: 1}, nil
}
func (n noReceipt) DID() string { return n.did }

// WriteText prints r for a person.
func (res GuardResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "guard, %d requests per measurement, one goroutine (%s/%s, %d cores)\n", res.Requests, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "  guarded (receipt signed, append stubbed)  %8v\n", res.Guarded.Round(100*time.Nanosecond))
	fmt.Fprintf(w, "  checks only (no receipt)                  %8v\n", res.ChecksOnly.Round(100*time.Nanosecond))
	fmt.Fprintf(w, "  no guard                                  %8v\n", res.NoGuard.Round(100*time.Nanosecond))
	fmt.Fprintf(w, "  one Ed25519 verification (baseline)       %8v\n", res.Ed25519Verify.Round(100*time.Nanosecond))
	fmt.Fprintf(w, "  overhead: %.2fx a verification with the receipt signed, %.2fx for the checks alone\n", res.Overhead(), res.ChecksOverhead())
	fmt.Fprintf(w, "  receipt append (real ledger, loopback)    p50 %v  p99 %v\n", res.ReceiptP50.Round(time.Microsecond), res.ReceiptP99.Round(time.Microsecond))
	fmt.Fprintf(w, "  first contact (contract fetched cold)     p50 %v  p99 %v\n", res.FirstP50.Round(time.Microsecond), res.FirstP99.Round(time.Microsecond))
}
