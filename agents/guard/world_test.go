package guard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/agents/replay"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/verify"
)

const origin = testledger.Origin

// ledgerWorld is a real ledger on loopback, with the registry's rules.
type ledgerWorld struct {
	t         testing.TB
	l         *testledger.Ledger
	log       *ledger.Log
	client    *client.Client
	verifier  note.Verifier
	authority fixture.Identity
}

func newLedger(t testing.TB, signer note.Signer, verifier note.Verifier, authority fixture.Identity) *ledgerWorld {
	t.Helper()
	l := testledger.StartWith(t, signer, verifier, authority)
	return &ledgerWorld{t: t, l: l, log: l.Log, client: l.Client, verifier: verifier, authority: authority}
}

func newLogKeys(t testing.TB) (note.Signer, note.Verifier) { return testledger.NewLogKey(t) }

// append appends an entry and waits until a checkpoint covers it.
func (w *ledgerWorld) append(raw []byte, err error) client.AppendResult {
	w.t.Helper()
	return w.l.Append(raw, err)
}

// register registers a new identity that serves the actions serves.
func (w *ledgerWorld) register(name, risk string, serves ...string) fixture.Identity {
	w.t.Helper()
	return w.l.Register(name, risk, serves...)
}

// issue appends a contract valid from start for ttl and returns it with
// its tlog-proof, as the caller would hold it.
func (w *ledgerWorld) issue(subject, audience fixture.Identity, start time.Time, ttl time.Duration, scopes ...string) caller.Contract {
	w.t.Helper()
	raw, _, err := fixture.Contract(w.authority.Key, subject.DID, audience.DID, scopes, start, ttl)
	res := w.append(raw, err)
	bundle, err := w.client.Bundle(context.Background(), res.Index, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := caller.ParseContract(bundle)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// agent is a payment agent server: its own key, Badger store, follower,
// receipts and guard, serving charge, refund and chargeback, and a refund
// bound by agentConfig.bind at /v1/bound-refund.
type agent struct {
	t        *testing.T
	id       fixture.Identity
	url      string
	stateDir string
	follower *verify.Follower
	ran      atomic.Int64 // handler runs
	// inLedger records, for each handler run, whether the receipt entry was
	// already in the ledger when the handler started.
	inLedger atomic.Int64
	close    func()
}

type agentConfig struct {
	id        fixture.Identity
	ledger    *ledgerWorld
	dir       string           // Badger and follower state; kept across restarts
	receiptTo receipt.Appender // default: the ledger
	now       func() time.Time // the guard's, verifier's and follower's clock; default: time.Now
	addr      string           // listen address; default: any free port
	bind      guard.Bind       // for /v1/bound-refund; default: none
}

func startAgent(t *testing.T, cfg agentConfig) *agent {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(cfg.dir, "db")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, id: cfg.id, stateDir: filepath.Join(cfg.dir, "view")}
	f, err := verify.NewFollower(verify.Options{
		Policy:   verify.TrustPolicy{LogKey: cfg.ledger.verifier, Authority: cfg.ledger.authority.DID},
		Source:   cfg.ledger.client,
		StateDir: a.stateDir,
		Now:      cfg.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.follower = f
	to := cfg.receiptTo
	if to == nil {
		to = cfg.ledger.client
	}
	g, err := guard.New(guard.Options{
		Follower: f,
		Replay:   replay.New(db),
		Receipts: receipt.NewWriter(cfg.id.Key, to, 2*time.Second),
		Verifier: &httpsig.Verifier{Now: cfg.now},
		Logger:   zerolog.Nop(),
		Now:      cfg.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	handler := func(w http.ResponseWriter, r *http.Request, ap *guard.Approval) {
		a.ran.Add(1)
		if _, err := cfg.ledger.log.Entry(ap.Receipt.Index); err == nil {
			a.inLedger.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"charged":%d}`, ap.Request.Amount)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/charge", g.Protect("payment:charge", amountValues, handler))
	mux.Handle("POST /v1/refund", g.Protect("payment:refund", amountValues, handler))
	mux.Handle("POST /v1/chargeback", g.Protect("payment:chargeback", amountValues, handler))
	mux.Handle("POST /v1/bound-refund", g.ProtectBound("payment:refund", amountValues, cfg.bind, handler))
	srv := httptest.NewUnstartedServer(mux)
	if cfg.addr != "" {
		ln, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			t.Fatalf("listen again on %s: %v", cfg.addr, err)
		}
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	a.url = srv.URL
	var once sync.Once
	a.close = func() { once.Do(func() { srv.Close(); db.Close() }) }
	t.Cleanup(a.close)
	return a
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

func chargeBody(minor int64, currency string) []byte {
	return []byte(fmt.Sprintf(`{"amount":%d,"currency":%q}`, minor, currency))
}

// answer is a response read in full.
type answer struct {
	status  int
	reason  string
	receipt string
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return answer{status: resp.StatusCode, reason: e.Error, receipt: resp.Header.Get("Ledger-Receipt")}
}

// signed builds a request signed by c under contract k.
func signed(t *testing.T, c *caller.Client, url string, k caller.Contract, body []byte) *http.Request {
	t.Helper()
	req, err := c.NewRequest(context.Background(), http.MethodPost, url, k, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// testClock is a settable clock.
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

// deadLedger is a ledger client for an address nothing listens on.
func deadLedger(t *testing.T) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := client.New(url, &http.Client{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
