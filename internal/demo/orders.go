package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/verify"
)

// scene is the demo once the agents run: the ledger, the seed's world and
// the four agents.
type scene struct {
	*story
	l      *stack.Ledger
	w      *stack.World
	agents *stack.Agents
}

// order is the order agent's own signed client, for direct calls.
func (a *scene) order() *caller.Client { return a.agents.Nodes["order"].Caller }

// paymentDID is the payment agent's did:key.
func (a *scene) paymentDID() string { return a.w.IDs["payment-agent"].DID }

// placeOrders has the storefront place n orders and shows each go through
// every agent with its receipts, then a declined card compensated and a
// restricted destination refused.
func (a *scene) placeOrders(ctx context.Context, n int) error {
	for i := 1; i <= n; i++ {
		items := []string{"tea-earl-grey", "mug-blue"}
		if i%3 == 0 {
			items = []string{"digital-gift-card"}
		}
		got, err := a.agents.PlaceOrder(ctx, stack.OrderBody(fmt.Sprintf("demo-%03d", i), "GB", "4242424242424242", items...))
		if err != nil {
			return err
		}
		steps := receiptsOf(got.Body)
		a.expect(fmt.Sprintf("order demo-%03d (%s)", i, got.Body["classification"]),
			got.Status == http.StatusCreated && got.Body["status"] == "completed" && len(steps) >= 3,
			fmt.Sprintf("%d %v; receipts %s", got.Status, got.Body["status"], steps))
		a.report.Orders++
	}
	got, err := a.agents.PlaceOrder(ctx, stack.OrderBody("demo-declined", "GB", "4000000000000002", "tea-earl-grey"))
	if err != nil {
		return err
	}
	a.expect("a declined card: the reservation is released", got.Body["status"] == "payment_failed" && hasStep(got.Body, "inventory:release"),
		fmt.Sprintf("%d %v, steps %s", got.Status, got.Body["status"], receiptsOf(got.Body)))
	got, err = a.agents.PlaceOrder(ctx, stack.OrderBody("demo-restricted", "KP", "4242424242424242", "tea-earl-grey"))
	if err != nil {
		return err
	}
	a.expect("an order to a blocked destination, refused before anything is reserved",
		got.Status == 422 && got.Body["reason"] == order.ReasonRestricted && len(receiptsOf(got.Body)) == 0,
		fmt.Sprintf("%d %v", got.Status, got.Body["reason"]))
	return nil
}

// receiptsOf lists "action@index" for an order's steps.
func receiptsOf(body map[string]any) string {
	steps, _ := body["steps"].([]any)
	out := ""
	for _, s := range steps {
		step, _ := s.(map[string]any)
		if idx, ok := step["receipt_index"].(float64); ok {
			if out != "" {
				out += " "
			}
			out += fmt.Sprintf("%s@%d", step["action"], int64(idx))
		}
	}
	return out
}

func hasStep(body map[string]any, action string) bool {
	steps, _ := body["steps"].([]any)
	for _, s := range steps {
		if step, _ := s.(map[string]any); step["action"] == action && step["outcome"] != "failed" {
			return true
		}
	}
	return false
}

// charge is a charge request's body.
func charge(id string, amount int64, currency string) []byte {
	b, _ := json.Marshal(map[string]any{"order_id": id, "idempotency_key": id + "-charge", "amount": amount, "currency": currency, "card": "4242424242424242"})
	return b
}

// enforce shows the payment agent acting on a valid call, with its receipt
// in the log before it acts, and refusing calls its contract does not
// cover.
func (a *scene) enforce(ctx context.Context) error {
	pay := a.agents.URLs["payment"]
	order := a.order()
	k, err := order.Pick(a.paymentDID(), "payment:charge")
	if err != nil {
		return err
	}
	body := charge("direct-1", 12999, "USD")
	req, err := order.NewRequest(ctx, http.MethodPost, pay+"/v1/payment/charge", k, body)
	if err != nil {
		return err
	}
	replayed := req.Clone(ctx)
	replayed.Body = io.NopCloser(bytes.NewReader(body))
	got, err := stack.Send(req)
	if err != nil {
		return err
	}
	a.expect("order-agent charges $129.99 at payment-agent", got.Status == http.StatusOK && got.Receipt != "",
		fmt.Sprintf("%d, Ledger-Receipt: %s", got.Status, got.Receipt))
	if got.Status == http.StatusOK {
		ok, detail := a.checkReceipt(ctx, got.Receipt, a.paymentDID())
		a.expect("the receipt is payment-agent's signed approval, in the log", ok, detail)
	}
	got, err = stack.Send(replayed)
	if err != nil {
		return err
	}
	a.expect("the same signed request sent again", got.Status == 401 && got.Reason == guard.ReasonReplay, fmt.Sprintf("%d %s", got.Status, got.Reason))

	for _, c := range []struct {
		name, path string
		body       []byte
		status     int
		reason     string
	}{
		{"a charge one cent over the $10,000 limit", "/v1/payment/charge", charge("direct-2", 1000001, "USD"), 403, string(scope.ReasonAmountExceeded)},
		{"a charge in another currency", "/v1/payment/charge", charge("direct-3", 100, "EUR"), 403, string(scope.ReasonCurrencyMismatch)},
		{"a refund under a charge-only contract", "/v1/payment/refund", []byte(`{"charge_id":"x","amount":100,"currency":"USD","idempotency_key":"r-1"}`), 403, string(scope.ReasonNoScope)},
	} {
		req, err := order.NewRequest(ctx, http.MethodPost, pay+c.path, k, c.body)
		if err != nil {
			return err
		}
		got, err := stack.Send(req)
		if err != nil {
			return err
		}
		a.expect(c.name, got.Status == c.status && got.Reason == c.reason, fmt.Sprintf("%d %s", got.Status, got.Reason))
	}
	// The inventory agent presents the order agent's contract as its own.
	thief := caller.New(a.w.IDs["inventory-agent"].Key, nil, nil)
	req, err = thief.NewRequest(ctx, http.MethodPost, pay+"/v1/payment/charge", k, charge("direct-4", 100, "USD"))
	if err != nil {
		return err
	}
	got, err = stack.Send(req)
	if err != nil {
		return err
	}
	a.expect("another agent using the order agent's contract", got.Status == 403 && got.Reason == verify.ReasonSubjectMismatch, fmt.Sprintf("%d %s", got.Status, got.Reason))
	return nil
}

// checkReceipt verifies a Ledger-Receipt: its tlog-proof verifies, and the
// entry is an action signed by agent.
func (a *scene) checkReceipt(ctx context.Context, header, agent string) (bool, string) {
	index, leaf, err := contractref.ParseReceipt(header)
	if err != nil {
		return false, err.Error()
	}
	if _, err := verified.CheckpointCovering(ctx, a.l.Client, a.l.LogKey, index+1, 10*time.Second); err != nil {
		return false, err.Error()
	}
	// The receipt is proved like any entry: its inclusion, and the
	// approving agent's signature over the action.
	e, _, err := verify.FetchProved(ctx, a.l.Client, index, 0, a.l.LogKey, verify.Want{Kind: envelope.KindAction, Signer: agent})
	if err == nil && e.LeafHash != leaf {
		err = errors.New("the proved entry is not the one the receipt names")
	}
	if err != nil {
		return false, err.Error()
	}
	return true, fmt.Sprintf("action entry %d, signed by payment-agent, signature and proof verified", index)
}

// refusedAfterRevocation waits until the payment agent's view covers the
// revocation at index, then shows its next charge refused.
func (a *scene) refusedAfterRevocation(ctx context.Context, index uint64) error {
	deadline := time.Now().Add(10 * time.Second)
	for a.agents.Nodes["payment"].Follower.Checkpoint().Size <= index {
		if time.Now().After(deadline) {
			a.expect("the next charge is refused", false, "the payment agent's view never reached the revocation")
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	order := a.order()
	k, err := order.Pick(a.paymentDID(), "payment:charge")
	if err != nil {
		return err
	}
	req, err := order.NewRequest(ctx, http.MethodPost, a.agents.URLs["payment"]+"/v1/payment/charge", k,
		[]byte(`{"order_id":"after-revocation","idempotency_key":"after-revocation","amount":500,"currency":"USD","card":"4242424242424242"}`))
	if err != nil {
		return err
	}
	got, err := stack.Send(req)
	if err != nil {
		return err
	}
	a.expect("the next charge under it is refused", got.Status == 403 && got.Reason == verify.ReasonRevoked, fmt.Sprintf("%d %s", got.Status, got.Reason))
	return nil
}
