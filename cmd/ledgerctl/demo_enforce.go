package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/envelope"
	"github.com/agentledger/agentledger/internal/fixture"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/scope"
	"github.com/agentledger/agentledger/verify"
)

// demoPayment is the payment agent of the demo: a node whose guard
// protects a charge and a refund endpoint, and the order agent's client.
type demoPayment struct {
	url     string
	node    *node.Node
	order   *caller.Client
	payment fixture.Identity
	stop    func()
}

// startPayment runs the payment agent on loopback, following the ledger.
func (d *demo) startPayment(ctx context.Context, ledgerURL string, verifier note.Verifier, authority string, dir string,
	ids map[string]fixture.Identity, contract []byte) (*demoPayment, error) {
	payment := ids["payment-agent"]
	n, err := node.New(ctx, node.Config{Key: payment.Key, Ledger: ledgerURL,
		Policy:  verify.TrustPolicy{LogKey: verifier, Authority: authority},
		DataDir: filepath.Join(dir, "agents", "payment-agent.data"), Listen: "127.0.0.1:0",
		Logger: zerolog.Nop(), Refresh: 50 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	charge := func(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"charged": a.Request.Amount, "currency": a.Request.Currency, "receipt": a.Receipt.Index})
	}
	n.Mux.Handle("POST /v1/charge", n.Guard.Protect("payment:charge", demoAmount, charge))
	n.Mux.Handle("POST /v1/refund", n.Guard.Protect("payment:refund", demoAmount, charge))
	addr, err := n.Listen()
	if err != nil {
		n.DB.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = n.Serve(runCtx); close(done) }()
	p := &demoPayment{url: "http://" + addr, node: n, payment: payment, stop: func() { cancel(); <-done }}
	p.order = caller.New(ids["order-agent"].Key, nil, nil)
	k, err := caller.ParseContract(contract)
	if err == nil {
		err = p.order.Add(k)
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// demoAmount reads {"amount":<minor units>,"currency":"USD"}.
func demoAmount(_ *http.Request, body []byte) (scope.Request, error) {
	var b struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Amount: b.Amount, Currency: b.Currency, HasAmount: true}, nil
}

// callResult is one call's answer.
type callResult struct {
	status  int
	reason  string
	receipt string
}

func send(hc *http.Client, req *http.Request) (callResult, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return callResult{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return callResult{status: resp.StatusCode, reason: e.Error, receipt: resp.Header.Get(contractref.ReceiptHeader)}, nil
}

// enforce shows the payment agent acting on a valid call, with its receipt
// in the log before it acts, and refusing calls its contract does not
// cover.
func (d *demo) enforce(ctx context.Context, p *demoPayment, cl *client.Client, verifier note.Verifier, ids map[string]fixture.Identity) error {
	k, err := p.order.Pick(p.payment.DID, "payment:charge")
	if err != nil {
		return err
	}
	req, err := p.order.NewRequest(ctx, http.MethodPost, p.url+"/v1/charge", k, []byte(`{"amount":12999,"currency":"USD"}`))
	if err != nil {
		return err
	}
	replayed := req.Clone(ctx)
	replayed.Body = io.NopCloser(bytes.NewReader([]byte(`{"amount":12999,"currency":"USD"}`)))
	got, err := send(http.DefaultClient, req)
	if err != nil {
		return err
	}
	d.expect("order-agent charges $129.99 at payment-agent", got.status == http.StatusOK && got.receipt != "",
		fmt.Sprintf("%d, Ledger-Receipt: %s", got.status, got.receipt))
	if got.status == http.StatusOK {
		ok, detail := d.checkReceipt(ctx, cl, verifier, got.receipt, p.payment.DID)
		d.expect("the receipt is payment-agent's signed approval, in the log", ok, detail)
	}
	got, err = send(http.DefaultClient, replayed)
	if err != nil {
		return err
	}
	d.expect("the same signed request sent again", got.status == 401 && got.reason == "replay", fmt.Sprintf("%d %s", got.status, got.reason))

	for _, c := range []struct {
		name, path, body string
		status           int
		reason           string
	}{
		{"a charge one cent over the $10,000 limit", "/v1/charge", `{"amount":1000001,"currency":"USD"}`, 403, "amount_exceeded"},
		{"a charge in another currency", "/v1/charge", `{"amount":100,"currency":"EUR"}`, 403, "currency_mismatch"},
		{"a refund under a charge-only contract", "/v1/refund", `{"amount":100,"currency":"USD"}`, 403, "scope_missing"},
	} {
		req, err := p.order.NewRequest(ctx, http.MethodPost, p.url+c.path, k, []byte(c.body))
		if err != nil {
			return err
		}
		got, err := send(http.DefaultClient, req)
		if err != nil {
			return err
		}
		d.expect(c.name, got.status == c.status && got.reason == c.reason, fmt.Sprintf("%d %s", got.status, got.reason))
	}
	// The inventory agent presents the order agent's contract as its own.
	thief := caller.New(ids["inventory-agent"].Key, nil, nil)
	req, err = thief.NewRequest(ctx, http.MethodPost, p.url+"/v1/charge", k, []byte(`{"amount":100,"currency":"USD"}`))
	if err != nil {
		return err
	}
	got, err = send(http.DefaultClient, req)
	if err != nil {
		return err
	}
	d.expect("another agent using the order agent's contract", got.status == 403 && got.reason == "contract_subject_mismatch", fmt.Sprintf("%d %s", got.status, got.reason))
	return nil
}

// checkReceipt verifies a Ledger-Receipt: its tlog-proof verifies, and the
// entry is an action signed by agent.
func (d *demo) checkReceipt(ctx context.Context, cl *client.Client, verifier note.Verifier, header, agent string) (bool, string) {
	index, leaf, err := contractref.ParseReceipt(header)
	if err != nil {
		return false, err.Error()
	}
	if _, err := checkpointCovering(ctx, cl, verifier, index+1, 10*time.Second); err != nil {
		return false, err.Error()
	}
	raw, err := cl.Bundle(ctx, index, 0)
	if err != nil {
		return false, err.Error()
	}
	b, err := proofs.ParseBundle(raw)
	if err == nil {
		_, err = proofs.VerifyBundle(b, demoOrigin, verifier)
	}
	if err == nil && proofs.LeafHash(b.Extra) != leaf {
		err = errors.New("the proved entry is not the one the receipt names")
	}
	var env *envelope.Envelope
	if err == nil {
		env, err = envelope.Parse(b.Extra)
	}
	if err == nil && (env.Kind != envelope.KindAction || env.KeyID != agent) {
		err = fmt.Errorf("the receipt is a %s signed by %s", env.Kind, env.KeyID)
	}
	if err != nil {
		return false, err.Error()
	}
	return true, fmt.Sprintf("action entry %d, signed by payment-agent, proof verified", index)
}

// refusedAfterRevocation waits until the payment agent's view covers the
// revocation at index, then shows its next charge refused.
func (d *demo) refusedAfterRevocation(ctx context.Context, p *demoPayment, index uint64) error {
	deadline := time.Now().Add(10 * time.Second)
	for p.node.Follower.Checkpoint().Size <= index {
		if time.Now().After(deadline) {
			d.expect("the next charge is refused", false, "the payment agent's view never reached the revocation")
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	k, err := p.order.Pick(p.payment.DID, "payment:charge")
	if err != nil {
		return err
	}
	req, err := p.order.NewRequest(ctx, http.MethodPost, p.url+"/v1/charge", k, []byte(`{"amount":500,"currency":"USD"}`))
	if err != nil {
		return err
	}
	got, err := send(http.DefaultClient, req)
	if err != nil {
		return err
	}
	d.expect("the next charge under it is refused", got.status == 403 && got.reason == "contract_revoked", fmt.Sprintf("%d %s", got.status, got.reason))
	return nil
}
