package guard_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// seed is the world every attack runs in: a ledger; order, payment and
// inventory agents registered; the contracts the seed issues; and a
// running payment agent.
type seed struct {
	w                      *ledgerWorld
	order, payment, inv    fixture.Identity
	charge, orderToInv     caller.Contract
	orderClient, invClient *caller.Client
	pay                    *agent
	payDir                 string
	signer                 note.Signer // the log's key, to forge a fork with
}

func newSeed(t *testing.T) *seed {
	signer, verifier := newLogKeys(t)
	w := newLedger(t, signer, verifier, fixture.NewIdentity("authority"))
	s := &seed{w: w, signer: signer}
	s.order = w.register("order-agent", "low")
	s.payment = w.register("payment-agent", "high", "payment:charge", "payment:refund")
	s.inv = w.register("inventory-agent", "medium", "inventory:reserve")
	now := time.Now()
	s.charge = w.issue(s.order, s.payment, now, time.Hour, "payment:charge:max_10000usd")
	s.orderToInv = w.issue(s.order, s.inv, now, time.Hour, "inventory:reserve")
	s.orderClient = caller.New(s.order.Key, nil, nil)
	if err := s.orderClient.Add(s.charge); err != nil {
		t.Fatal(err)
	}
	s.invClient = caller.New(s.inv.Key, nil, nil)
	s.payDir = t.TempDir()
	s.pay = startAgent(t, agentConfig{id: s.payment, ledger: w, dir: s.payDir})
	return s
}

// refused sends req and checks it is refused with status and reason, that
// no entry was written to the ledger and that the handler did not run.
func (s *seed) refused(t *testing.T, a *agent, req *http.Request, status int, reason string) {
	t.Helper()
	before, ran := s.w.log.Size(), a.ran.Load()
	got := do(t, req)
	if got.status != status || got.reason != reason {
		t.Fatalf("got %d %q, want %d %q", got.status, got.reason, status, reason)
	}
	if got.receipt != "" {
		t.Fatalf("a refusal carried a receipt: %s", got.receipt)
	}
	if after := s.w.log.Size(); after != before {
		t.Fatalf("a refused request wrote %d entries to the ledger", after-before)
	}
	if a.ran.Load() != ran {
		t.Fatal("the handler ran for a refused request")
	}
}

func TestAcceptedCallIsRecordedBeforeItActs(t *testing.T) {
	s := newSeed(t)
	resp, err := s.orderClient.Call(context.Background(), http.MethodPost, s.pay.url+"/v1/charge", s.payment.DID, "payment:charge", chargeBody(1000000, "USD"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("valid call: %d", resp.StatusCode)
	}
	if s.pay.ran.Load() != 1 || s.pay.inLedger.Load() != 1 {
		t.Fatalf("handler ran %d times, %d with its receipt already in the ledger; want 1 and 1", s.pay.ran.Load(), s.pay.inLedger.Load())
	}
	index, leaf, err := contractref.ParseReceipt(resp.Header.Get(contractref.ReceiptHeader))
	if err != nil {
		t.Fatalf("Ledger-Receipt: %v", err)
	}
	// The receipt is the payment agent's signed approval of exactly this
	// call, and its tlog-proof verifies against the log key.
	s.w.waitCovered(index)
	raw, err := s.w.client.Bundle(context.Background(), index, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proofs.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proofs.VerifyBundle(b, origin, s.w.verifier); err != nil {
		t.Fatalf("receipt proof: %v", err)
	}
	if proofs.LeafHash(b.Extra) != leaf {
		t.Fatal("the receipt header names another entry")
	}
	env, err := envelope.Parse(b.Extra)
	if err != nil || env.Kind != envelope.KindAction || env.KeyID != s.payment.DID {
		t.Fatalf("receipt entry: %v %+v", err, env)
	}
	act, err := statement.ParseAction(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if act.Caller != s.order.DID || act.Contract != s.charge.Ref || act.Action != "payment:charge" || *act.Amount != 1000000 || act.Currency != "USD" {
		t.Fatalf("receipt statement %+v does not describe the call", act)
	}
}

// TestCallerSendsTheProofUntilAccepted checks that the first call under a
// contract carries its tlog-proof and later ones name it by reference.
func TestCallerSendsTheProofUntilAccepted(t *testing.T) {
	s := newSeed(t)
	rec := &headerRecorder{next: http.DefaultTransport}
	c := caller.New(s.order.Key, &http.Client{Transport: rec}, nil)
	if err := c.Add(s.charge); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		resp, err := c.Call(context.Background(), http.MethodPost, s.pay.url+"/v1/charge", s.payment.DID, "payment:charge", chargeBody(100, "USD"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d: %d", i, resp.StatusCode)
		}
	}
	if len(rec.contracts) != 2 || !strings.Contains(rec.contracts[0], "proof=") || strings.Contains(rec.contracts[1], "proof=") {
		t.Fatalf("Ledger-Contract headers sent: %q", rec.contracts)
	}
}

type headerRecorder struct {
	next      http.RoundTripper
	contracts []string
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.contracts = append(h.contracts, r.Header.Get(contractref.ContractHeader))
	return h.next.RoundTrip(r)
}

func (w *ledgerWorld) waitCovered(index uint64) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, size, _ := w.log.Checkpoint(); size > index {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no checkpoint covers %d", index)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAttacksAreRefused runs the attacks of the enforcement issue against a
// real ledger and a real agent on loopback. Each asserts the status and
// reason, that no action entry was written, and that the handler did not
// run.
func TestAttacksAreRefused(t *testing.T) {
	s := newSeed(t)
	outer := t // the restarted agent lives as long as the whole test
	chargeURL := s.pay.url + "/v1/charge"
	ok := chargeBody(100, "USD")

	t.Run("01 unsigned request", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, chargeURL, bytes.NewReader(ok))
		s.refused(t, s.pay, req, 401, "signature_missing")
	})
	t.Run("02 bad signature", func(t *testing.T) {
		req := signed(t, s.orderClient, chargeURL, s.charge, ok)
		// Flip one bit of the signature bytes, keeping the field well formed.
		sig := req.Header.Get("Signature")
		b64 := strings.TrimSuffix(strings.TrimPrefix(sig, "sig1=:"), ":")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatalf("signature field %q: %v", sig, err)
		}
		raw[10] ^= 1
		req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(raw)+":")
		s.refused(t, s.pay, req, 401, "signature_invalid")
	})
	t.Run("03 body changed after signing", func(t *testing.T) {
		req := signed(t, s.orderClient, chargeURL, s.charge, ok)
		changed := chargeBody(900, "USD")
		req.Body = io.NopCloser(bytes.NewReader(changed))
		req.ContentLength = int64(len(changed))
		s.refused(t, s.pay, req, 401, "digest_mismatch")
	})
	t.Run("04 replay, also across a restart", func(t *testing.T) {
		req := signed(t, s.orderClient, chargeURL, s.charge, ok)
		again := cloneRequest(t, req, ok)
		afterRestart := cloneRequest(t, req, ok)
		if got := do(t, req); got.status != 200 {
			t.Fatalf("first send: %+v", got)
		}
		s.refused(t, s.pay, again, 401, "replay")
		// The agent restarts on the same address (the signature covers
		// @authority) with the same store.
		s.pay.close()
		s.pay = startAgent(outer, agentConfig{id: s.payment, ledger: s.w, dir: s.payDir, addr: strings.TrimPrefix(s.pay.url, "http://")})
		s.refused(t, s.pay, afterRestart, 401, "replay")
	})
	chargeURL = s.pay.url + "/v1/charge"
	now := time.Now()

	t.Run("05 created outside the skew window", func(t *testing.T) {
		past := caller.New(s.order.Key, nil, func() time.Time { return now.Add(-10 * time.Minute) })
		s.refused(t, s.pay, signed(t, past, chargeURL, s.charge, ok), 401, "signature_stale")
		future := caller.New(s.order.Key, nil, func() time.Time { return now.Add(10 * time.Minute) })
		s.refused(t, s.pay, signed(t, future, chargeURL, s.charge, ok), 401, "signature_stale")
	})
	t.Run("06 expired contract", func(t *testing.T) {
		k := s.w.issue(s.order, s.payment, now.Add(-2*time.Hour), time.Hour, "payment:charge:max_10000usd")
		s.refresh(t)
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, k, ok), 403, "contract_expired")
	})
	t.Run("07 contract not yet valid", func(t *testing.T) {
		k := s.w.issue(s.order, s.payment, now.Add(time.Hour), time.Hour, "payment:charge:max_10000usd")
		s.refresh(t)
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, k, ok), 403, "contract_not_yet_valid")
	})
	t.Run("08 contract for another audience", func(t *testing.T) {
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, s.orderToInv, ok), 403, "contract_audience_mismatch")
	})
	t.Run("09 stolen contract used with another key", func(t *testing.T) {
		s.refused(t, s.pay, signed(t, s.invClient, chargeURL, s.charge, ok), 403, "contract_subject_mismatch")
	})
	t.Run("10 refund with a charge-only contract", func(t *testing.T) {
		s.refused(t, s.pay, signed(t, s.orderClient, s.pay.url+"/v1/refund", s.charge, ok), 403, "scope_missing")
	})
	t.Run("11 chargeback against payment:charge", func(t *testing.T) {
		s.refused(t, s.pay, signed(t, s.orderClient, s.pay.url+"/v1/chargeback", s.charge, ok), 403, "scope_missing")
	})
	t.Run("12 amount over the max by one cent", func(t *testing.T) {
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, s.charge, chargeBody(1000001, "USD")), 403, "amount_exceeded")
	})
	t.Run("13 currency mismatch", func(t *testing.T) {
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, s.charge, chargeBody(100, "EUR")), 403, "currency_mismatch")
	})
	t.Run("14 contract signed by a non-authority key", func(t *testing.T) {
		raw, _, err := fixture.Contract(s.order.Key, s.order.DID, s.payment.DID, []string{"payment:charge"}, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		forged := caller.Contract{Ref: statement.ContractRef{Index: s.charge.Ref.Index, LeafHash: proofs.LeafHash(raw)}}
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, forged, ok), 403, "contract_unknown")
		// Wrapped in a proof of a real entry, the proof names another entry.
		withProof := caller.Contract{Ref: forged.Ref, Bundle: s.charge.Bundle}
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, withProof, ok), 403, "contract_unknown")
	})
	t.Run("15 contract never appended", func(t *testing.T) {
		raw, _, err := fixture.Contract(s.w.authority.Key, s.order.DID, s.payment.DID, []string{"payment:charge"}, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		k := caller.Contract{Ref: statement.ContractRef{Index: s.w.log.Size(), LeafHash: proofs.LeafHash(raw)}}
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, k, ok), 403, "contract_unknown")
	})
	t.Run("17 contract revoked", func(t *testing.T) {
		k := s.w.issue(s.order, s.payment, now, time.Hour, "payment:charge:max_10000usd")
		s.w.append(fixture.Revocation(s.w.authority.Key, proofs.LeafHash(mustExtra(t, k.Bundle)), "compromised", time.Now()))
		s.refresh(t)
		s.refused(t, s.pay, signed(t, s.orderClient, chargeURL, k, ok), 403, "contract_revoked")
	})
	t.Run("18 ledger unreachable beyond the maximum checkpoint age", func(t *testing.T) {
		clock := &testClock{t: time.Now()}
		stale := startAgent(t, agentConfig{id: s.payment, ledger: s.w, dir: t.TempDir(), now: clock.Now})
		ok := signed(t, s.orderClient, stale.url+"/v1/charge", s.charge, chargeBody(100, "USD"))
		clock.add(11 * time.Second) // no refresh has succeeded since
		s.refused(t, stale, ok, 503, "checkpoint_stale")
	})
	t.Run("19 ledger down when the receipt is written", func(t *testing.T) {
		dead := deadLedger(t)
		down := startAgent(t, agentConfig{id: s.payment, ledger: s.w, dir: t.TempDir(), receiptTo: dead})
		s.refused(t, down, signed(t, s.orderClient, down.url+"/v1/charge", s.charge, ok), 503, "ledger_unavailable")
	})
}

// TestForkedProofRefusedWithEvidence presents a contract whose tlog-proof
// comes from another tree signed with the ledger's own key (attack 16).
func TestForkedProofRefusedWithEvidence(t *testing.T) {
	s := newSeed(t)
	fork := newLedger(t, s.signer, s.w.verifier, s.w.authority)
	fork.append(fixture.Registration(s.w.authority.Key, s.order, "low", time.Now()))
	fork.append(fixture.Registration(s.w.authority.Key, s.payment, "high", time.Now(), "payment:charge"))
	k := fork.issue(s.order, s.payment, time.Now(), time.Hour, "payment:charge:max_99999999usd")
	s.refused(t, s.pay, signed(t, s.orderClient, s.pay.url+"/v1/charge", k, chargeBody(100, "USD")), 503, "log_inconsistent")
	evidence, _ := filepath.Glob(filepath.Join(s.pay.stateDir, "evidence-*.txt"))
	if len(evidence) != 1 {
		t.Fatalf("evidence files: %v", evidence)
	}
	// From then on even valid requests are refused, until an operator acts.
	s.refused(t, s.pay, signed(t, s.orderClient, s.pay.url+"/v1/charge", s.charge, chargeBody(100, "USD")), 503, "log_inconsistent")
}

func (s *seed) refresh(t *testing.T) {
	t.Helper()
	if err := s.pay.follower.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func mustExtra(t *testing.T, bundle []byte) []byte {
	t.Helper()
	b, err := proofs.ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return b.Extra
}

// cloneRequest copies a signed request, headers and body, so the very same
// signed bytes can be sent again.
func cloneRequest(t *testing.T, req *http.Request, body []byte) *http.Request {
	t.Helper()
	c := req.Clone(context.Background())
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	return c
}

// TestBindRefusesBeforeAnythingIsRecorded: a Bind's refusal is answered
// with its own status and reason, nothing reaches the ledger and the
// handler does not run; an approval it binds names its target in the
// action entry, and its Release runs once, after the handler.
func TestBindRefusesBeforeAnythingIsRecorded(t *testing.T) {
	s := newSeed(t)
	refund := s.w.issue(s.order, s.payment, time.Now(), time.Hour, "payment:refund")
	if err := s.orderClient.Add(refund); err != nil {
		t.Fatal(err)
	}
	var released, ranAtRelease atomic.Int64
	var pay *agent
	bind := func(_ context.Context, caller string, body []byte) (guard.Binding, error) {
		if caller != s.order.DID {
			t.Errorf("bind got caller %s", caller)
		}
		if bytes.Contains(body, []byte(`"amount":13,`)) {
			return guard.Binding{}, &guard.Refusal{Status: http.StatusNotFound, Reason: "not_yours", Detail: "no such thing of yours"}
		}
		return guard.Binding{Target: &refund.Ref, Release: func() { released.Add(1); ranAtRelease.Store(pay.ran.Load()) }}, nil
	}
	pay = startAgent(t, agentConfig{id: s.payment, ledger: s.w, dir: t.TempDir(), bind: bind})
	url := pay.url + "/v1/bound-refund"
	s.refused(t, pay, signed(t, s.orderClient, url, refund, chargeBody(13, "USD")), http.StatusNotFound, "not_yours")
	if released.Load() != 0 {
		t.Fatal("a refused bind's release ran")
	}

	got := do(t, signed(t, s.orderClient, url, refund, chargeBody(14, "USD")))
	if got.status != http.StatusOK || got.receipt == "" {
		t.Fatalf("bound refund: %+v", got)
	}
	if released.Load() != 1 || ranAtRelease.Load() != 1 {
		t.Fatalf("release ran %d times, after %d handler runs", released.Load(), ranAtRelease.Load())
	}
	idx, _, err := contractref.ParseReceipt(got.receipt)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.w.log.Entry(idx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	a, err := statement.ParseAction(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if a.Target == nil || *a.Target != refund.Ref {
		t.Fatalf("action entry target %+v, want %+v", a.Target, refund.Ref)
	}
}
