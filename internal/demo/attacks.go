package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

// moreAttacks runs the rest of the enforcement attacks against the
// payment agent and shows each refused with its reason: what the guard
// checks before any contract, contracts that are not in force, and a
// relying party whose view of the log is stale.
func (a *scene) moreAttacks(ctx context.Context) error {
	pay := a.agents.URLs["payment"] + "/v1/payment/charge"
	order := a.order()
	k, err := order.Pick(a.paymentDID(), "payment:charge")
	if err != nil {
		return err
	}
	n := 0
	body := func() []byte {
		n++
		return []byte(fmt.Sprintf(`{"order_id":"attack-%d","idempotency_key":"attack-%d","amount":100,"currency":"USD","card":"4242424242424242"}`, n, n))
	}
	expect := func(name string, req *http.Request, status int, reason string) error {
		got, err := stack.Send(req)
		if err != nil {
			return err
		}
		a.expect(name, got.Status == status && got.Reason == reason, fmt.Sprintf("%d %s", got.Status, got.Reason))
		return nil
	}
	plain, _ := http.NewRequestWithContext(ctx, http.MethodPost, pay, bytes.NewReader(body()))
	if err := expect("an unsigned request", plain, 401, httpsig.ReasonSignatureMissing); err != nil {
		return err
	}
	req, err := order.NewRequest(ctx, http.MethodPost, pay, k, body())
	if err != nil {
		return err
	}
	req.Header.Set("Signature", "sig1=:"+strings.Repeat("A", 86)+"==:")
	if err := expect("a forged signature", req, 401, httpsig.ReasonSignatureInvalid); err != nil {
		return err
	}
	req, err = order.NewRequest(ctx, http.MethodPost, pay, k, body())
	if err != nil {
		return err
	}
	changed := []byte(`{"order_id":"attack-x","idempotency_key":"attack-x","amount":999999,"currency":"USD","card":"4242424242424242"}`)
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(changed)), int64(len(changed))
	if err := expect("the body changed after signing", req, 401, httpsig.ReasonDigestMismatch); err != nil {
		return err
	}
	late := caller.New(a.w.IDs["order-agent"].Key, nil, func() time.Time { return time.Now().Add(-10 * time.Minute) })
	req, err = late.NewRequest(ctx, http.MethodPost, pay, k, body())
	if err != nil {
		return err
	}
	if err := expect("a request signed ten minutes ago", req, 401, httpsig.ReasonSignatureStale); err != nil {
		return err
	}
	// Contracts that are not in force.
	// (A contract at inventory can grant only what inventory serves.)
	for _, c := range []struct {
		name   string
		start  time.Time
		callee string
		scope  string
		reason string
	}{
		{"a contract that expired an hour ago", time.Now().Add(-2 * time.Hour), "payment-agent", "payment:charge:max_10000usd", verify.ReasonExpired},
		{"a contract valid only from tomorrow", time.Now().Add(24 * time.Hour), "payment-agent", "payment:charge:max_10000usd", verify.ReasonNotYetValid},
		{"a contract for another audience (inventory) at payment", time.Now(), "inventory-agent", "inventory:reserve", verify.ReasonAudienceMismatch},
	} {
		bad, err := a.issue(ctx, c.start, c.callee, c.scope)
		if err != nil {
			return err
		}
		req, err := order.NewRequest(ctx, http.MethodPost, pay, bad, body())
		if err != nil {
			return err
		}
		if err := expect(c.name, req, 403, c.reason); err != nil {
			return err
		}
	}
	unlogged, _, err := a.l.Authority.Contract(a.w.IDs["order-agent"].DID, a.paymentDID(), []string{"payment:charge"}, time.Now(), time.Hour)
	if err != nil {
		return err
	}
	ghost := caller.Contract{Ref: k.Ref}
	ghost.Ref.LeafHash = proofs.LeafHash(unlogged)
	req, err = order.NewRequest(ctx, http.MethodPost, pay, ghost, body())
	if err != nil {
		return err
	}
	if err := expect("a validly signed contract that was never appended", req, 403, verify.ReasonContractUnknown); err != nil {
		return err
	}
	// A payment agent that cannot reach the ledger refuses everything.
	addr, stop, err := a.unreachablePayment(ctx)
	if err != nil {
		return err
	}
	defer stop()
	req, err = order.NewRequest(ctx, http.MethodPost, "http://"+addr+"/v1/payment/charge", k, body())
	if err != nil {
		return err
	}
	return expect("a payment agent whose ledger is unreachable", req, 503, verify.ReasonCheckpointStale)
}

// issue has the authority issue the order agent a contract of one scope
// at callee valid from start for an hour, and returns it once proved.
func (a *scene) issue(ctx context.Context, start time.Time, callee, scope string) (caller.Contract, error) {
	raw, _, err := a.l.Authority.Contract(a.w.IDs["order-agent"].DID, a.w.IDs[callee].DID, []string{scope}, start, time.Hour)
	if err != nil {
		return caller.Contract{}, err
	}
	res, err := a.l.Client.Append(ctx, raw)
	if err != nil {
		return caller.Contract{}, err
	}
	if _, err := verified.CheckpointCovering(ctx, a.l.Client, a.l.LogKey, res.Index+1, 10*time.Second); err != nil {
		return caller.Contract{}, err
	}
	b, err := a.l.Client.Bundle(ctx, res.Index, 0)
	if err != nil {
		return caller.Contract{}, err
	}
	return caller.ParseContract(b)
}

// unreachablePayment runs a second payment agent, with the payment
// agent's key, whose ledger address answers nothing.
func (a *scene) unreachablePayment(ctx context.Context) (addr string, stop func(), err error) {
	stale, err := roles.Start(ctx, node.Config{Key: a.w.IDs["payment-agent"].Key, Ledger: "http://127.0.0.1:1",
		Policy:  a.l.Policy(),
		DataDir: filepath.Join(a.cfg.Dir, "agents", "payment-agent.unreachable"), Listen: "127.0.0.1:0", Logger: zerolog.Nop()},
		roles.Payment, roles.Config{})
	if err != nil {
		return "", nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = stale.Run(runCtx); close(done) }()
	addr = stale.Addr
	return addr, func() { cancel(); <-done }, nil
}
