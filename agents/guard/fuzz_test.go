package guard_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/agents/replay"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// fuzzT0 is when the fuzzed guard's contracts start; its clock reads a
// minute later.
var fuzzT0 = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)

// guardWorld is a payment agent's guard in front of a counting handler,
// following a real ledger that holds, at fixed indexes with fixed bytes,
// the caller's contract in the agent's view (2), a revoked one (3), and one
// issued after the agent's last refresh (5).
type guardWorld struct {
	l             *testledger.Ledger
	h             http.Handler
	caller, agent fixture.Identity
	ran           atomic.Int64
	inView, later statement.ContractRef
	revoked       statement.ContractRef
	laterBundle   []byte
	signer        *httpsig.Signer
}

func newGuardWorld(f *testing.F) *guardWorld {
	f.Helper()
	now := func() time.Time { return fuzzT0.Add(time.Minute) }
	w := &guardWorld{caller: fixture.Fixed("order-agent", 1), agent: fixture.Fixed("payment-agent", 2)}
	w.l = testledger.StartFixed(f, 4)
	authority := w.l.Authority
	w.l.Append(fixture.Registration(authority.Key, w.caller, "low", fuzzT0))
	w.l.Append(fixture.Registration(authority.Key, w.agent, "low", fuzzT0, "payment:charge"))
	contract := func(id string) statement.ContractRef {
		res := w.l.Append(fixture.ContractWithID(authority.Key, id, w.caller.DID, w.agent.DID, []string{"payment:charge:max_100usd"}, fuzzT0, time.Hour))
		return statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}
	}
	w.inView = contract("00000000000000000000000000000001")
	w.revoked = contract("00000000000000000000000000000002")
	w.l.Append(fixture.Revocation(authority.Key, w.revoked.LeafHash, "fuzz", fuzzT0))

	db, err := badger.Open(badger.DefaultOptions(filepath.Join(f.TempDir(), "db")).WithLogger(nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	fl, err := verify.NewFollower(verify.Options{Policy: w.l.Policy(), Source: w.l.Client, StateDir: filepath.Join(f.TempDir(), "view")})
	if err != nil {
		f.Fatal(err)
	}
	if err := fl.Refresh(context.Background()); err != nil {
		f.Fatal(err)
	}
	w.later = contract("00000000000000000000000000000003")
	if w.laterBundle, err = w.l.Client.Bundle(context.Background(), w.later.Index, w.later.Index+1); err != nil {
		f.Fatal(err)
	}
	g, err := guard.New(guard.Options{Follower: fl, Replay: replay.New(db), Receipts: receipt.NewWriter(w.agent.Key, w.l.Client, 5*time.Second),
		Verifier: &httpsig.Verifier{Now: now}, Logger: zerolog.Nop(), Now: now})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/charge", g.Protect("payment:charge", amountValues, func(w2 http.ResponseWriter, _ *http.Request, _ *guard.Approval) {
		w.ran.Add(1)
		w2.Header().Set("Content-Type", "application/json")
		_, _ = w2.Write([]byte(`{"charged":true}`))
	}))
	w.h = mux
	w.signer = &httpsig.Signer{Key: w.caller.Key, KeyID: w.caller.DID, Now: now}
	return w
}

// signed returns the headers of a valid signed charge of body under ref,
// with bundle attached if not nil.
func (w *guardWorld) signed(f *testing.F, ref statement.ContractRef, bundle, body []byte) (in, sig, digest, contract string) {
	f.Helper()
	req := httptest.NewRequest(http.MethodPost, fuzzURL, bytes.NewReader(body))
	v, err := contractref.Format(ref, bundle)
	if err != nil {
		f.Fatal(err)
	}
	req.Header.Set(contractref.ContractHeader, v)
	if err := w.signer.Sign(req, body); err != nil {
		f.Fatal(err)
	}
	return req.Header.Get(httpsig.HeaderSignatureInput), req.Header.Get(httpsig.HeaderSignature),
		req.Header.Get(httpsig.HeaderContentDigest), v
}

const fuzzURL = "http://payment.test/v1/charge"

// FuzzGuard sends the guard requests with fuzzed Signature-Input,
// Signature, Content-Digest and Ledger-Contract headers and bodies, seeded
// with validly signed ones under a contract in view, a revoked one, and
// one the guard must fetch or take from the attached tlog-proof. A request
// reaches the handler only with a receipt that is the agent's approval of
// exactly its body by its signer; every other answer is a refusal with a
// guard status and a JSON reason, the handler not run, and nothing
// written to the ledger.
func FuzzGuard(f *testing.F) {
	w := newGuardWorld(f)
	body := chargeBody(1000, "USD")
	add := func(ref statement.ContractRef, bundle, body []byte) {
		in, sig, dig, c := w.signed(f, ref, bundle, body)
		f.Add(in, sig, dig, c, body)
	}
	add(w.inView, nil, body)
	add(w.inView, nil, chargeBody(100000, "USD")) // over the scope's limit
	add(w.inView, nil, []byte(`{"amount":"x"}`))
	add(w.revoked, nil, body)
	add(w.later, w.laterBundle, body) // the first use: from its tlog-proof
	add(w.later, nil, body)
	add(w.inView, w.laterBundle, body)
	add(statement.ContractRef{Index: 99, LeafHash: w.inView.LeafHash}, nil, body)
	in, sig, dig, c := w.signed(f, w.inView, nil, body)
	f.Add(in, sig, dig, c, chargeBody(1001, "USD"))
	f.Add(in, sig, "", c, body)
	f.Add(in, sig, dig, "", body)
	f.Add("", "", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, in, sig, dig, contract string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, fuzzURL, bytes.NewReader(body))
		for name, v := range map[string]string{httpsig.HeaderSignatureInput: in, httpsig.HeaderSignature: sig,
			httpsig.HeaderContentDigest: dig, contractref.ContractHeader: contract} {
			if v != "" {
				req.Header[name] = []string{v}
			}
		}
		size, ran := w.l.Log.Size(), w.ran.Load()
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			if w.ran.Load() != ran+1 {
				t.Fatal("200 without the handler running")
			}
			w.l.CheckReceipt(t, rec.Header().Get(contractref.ReceiptHeader), w.agent.DID, w.caller.DID, "payment:charge", body)
			return
		}
		switch rec.Code {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		reason := fuzzcheck.Refusal(t, rec.Code, rec.Body.Bytes())
		if rec.Code == http.StatusServiceUnavailable && reason != verify.ReasonCheckpointStale && reason != verify.ReasonLogInconsistent {
			t.Fatalf("503 %s: the ledger is up and consistent", reason)
		}
		if w.ran.Load() != ran || w.l.Log.Size() != size || rec.Header().Get(contractref.ReceiptHeader) != "" {
			t.Fatalf("refusal %d %s ran the handler or wrote to the ledger", rec.Code, reason)
		}
	})
}
