package roles_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/payment"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify/audit"
)

// callNode is a node that only calls: a party holding contracts.
func callNode(t *testing.T, l *testledger.Ledger, id fixture.Identity, contracts ...[]byte) *node.Node {
	t.Helper()
	n, err := node.New(context.Background(), node.Config{Key: id.Key, Ledger: l.URL, Policy: l.Policy(),
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Contract: contracts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.DB.Close() })
	return n
}

// rawCall is call with the raw answer body.
func rawCall(t *testing.T, n *node.Node, url, callee, action, body string) (int, []byte, string) {
	t.Helper()
	resp, err := n.Caller.Call(context.Background(), http.MethodPost, url, callee, action, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get(contractref.ReceiptHeader)
}

// auditLog audits every entry of l and returns the violations.
func auditLog(t *testing.T, l *testledger.Ledger) []audit.Violation {
	t.Helper()
	e := audit.New(l.Authority.DID, 30*time.Second)
	for i := range l.Log.Size() {
		raw, err := l.Log.Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Check(i, raw); err != nil {
			t.Fatal(err)
		}
	}
	return e.State().Violations
}

// reconcileReport asks the payment agent to reconcile until its view
// covers size entries of the log.
func reconcileReport(t *testing.T, n *node.Node, payURL, payDID string, size uint64) payment.Report {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, b, _ := rawCall(t, n, payURL+"/v1/payment/reconcile", payDID, "payment:reconcile", `{}`)
		var rep payment.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("reconcile answer %d %s: %v", status, b, err)
		}
		if status == http.StatusOK && rep.Entries >= size {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconcile never covered %d entries: %d %s", size, status, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRefundOnlyOfOwnCharge is issue 12, item 2, against real processes:
// a second party holding only payment:refund:max_100usd tries to refund
// the order agent's charge of 200. It is refused with
// refund_not_your_charge, answered exactly as a refund of a charge that
// does not exist, and nothing reaches the ledger. The owner's refund still
// works; the log audits clean, and reconcile agrees. A refund of the
// order agent's charge for the second party, planted by the payment
// agent's own key as a compromised agent would, is flagged by the audit
// and by reconcile.
func TestRefundOnlyOfOwnCharge(t *testing.T) {
	l := testledger.Start(t)
	orderID := l.Register("order-agent", "low", roles.Serves(roles.Order)...)
	pay := l.Register("payment-agent", "high", roles.Serves(roles.Payment)...)
	mallory := l.Register("mallory", "low")
	toPay, _ := l.Issue(orderID, pay, "payment:charge:max_10000usd", "payment:refund:max_10000usd", "payment:reconcile")
	refundOnly, refundRef := l.Issue(mallory, pay, "payment:refund:max_100usd")
	_, payURL := startRole(t, l, pay, roles.Payment, roles.Config{})
	owner := callNode(t, l, orderID, toPay)
	other := callNode(t, l, mallory, refundOnly)

	status, b, chargeReceipt := rawCall(t, owner, payURL+"/v1/payment/charge", pay.DID, "payment:charge",
		`{"order_id":"o-1","idempotency_key":"charge-o-1","amount":200,"currency":"USD","card":"4242424242424242"}`)
	var ch payment.ChargeResponse
	if err := json.Unmarshal(b, &ch); status != http.StatusOK || err != nil || ch.Status != payment.StatusSucceeded {
		t.Fatalf("charge: %d %s", status, b)
	}
	chargeIndex, chargeLeaf, err := contractref.ParseReceipt(chargeReceipt)
	if err != nil {
		t.Fatal(err)
	}

	// The attack, and a refund of a charge that does not exist: the same
	// answer, and no entry for either.
	before := l.Log.Size()
	attack := func(chargeID string) []byte {
		t.Helper()
		status, b, receipt := rawCall(t, other, payURL+"/v1/payment/refund", pay.DID, "payment:refund",
			`{"charge_id":"`+chargeID+`","amount":100,"currency":"USD","idempotency_key":"steal-1"}`)
		var e struct{ Error string }
		_ = json.Unmarshal(b, &e)
		if status != http.StatusNotFound || e.Error != payment.ReasonRefundNotYourCharge || receipt != "" {
			t.Fatalf("refund of %s by another party: %d %s (receipt %q)", chargeID, status, b, receipt)
		}
		return b
	}
	if theirs, none := attack(ch.ChargeID), attack("ch_00000000000000000000000000000000"); !bytes.Equal(theirs, none) {
		t.Fatalf("another caller's charge and no charge are told apart:\n%s\n%s", theirs, none)
	}
	if after := l.Log.Size(); after != before {
		t.Fatalf("refused refunds wrote %d entries", after-before)
	}

	// The owner refunds the whole charge, and not a unit more.
	status, b, refundReceipt := rawCall(t, owner, payURL+"/v1/payment/refund", pay.DID, "payment:refund",
		`{"charge_id":"`+ch.ChargeID+`","amount":200,"currency":"USD","idempotency_key":"refund-o-1"}`)
	var rf payment.RefundResponse
	if err := json.Unmarshal(b, &rf); status != http.StatusOK || err != nil || rf.Status != payment.StatusSucceeded {
		t.Fatalf("owner's refund: %d %s", status, b)
	}
	refundIndex, _, err := contractref.ParseReceipt(refundReceipt)
	if err != nil {
		t.Fatal(err)
	}
	if a := actionAt(t, l, refundIndex); a.Target == nil || *a.Target != (statement.EntryRef{Index: chargeIndex, LeafHash: chargeLeaf}) {
		t.Fatalf("the refund's entry names %+v, not the charge's entry %d", a.Target, chargeIndex)
	}
	if status, b, _ := rawCall(t, owner, payURL+"/v1/payment/refund", pay.DID, "payment:refund",
		`{"charge_id":"`+ch.ChargeID+`","amount":1,"currency":"USD","idempotency_key":"refund-o-1-more"}`); status != http.StatusConflict ||
		!bytes.Contains(b, []byte(payment.ReasonRefundExceedsCharge)) {
		t.Fatalf("refund beyond the charge: %d %s", status, b)
	}
	if vs := auditLog(t, l); len(vs) != 0 {
		t.Fatalf("violations in an honest log: %+v", vs)
	}
	if rep := reconcileReport(t, owner, payURL, pay.DID, l.Log.Size()); !rep.Clean() || rep.Refunds != 1 {
		t.Fatalf("reconcile: %+v", rep)
	}

	// A compromised payment agent records the refund it refused.
	planted := l.Append(fixture.Action(pay, fixture.ActionSpec{Caller: mallory.DID, Contract: refundRef, Action: "payment:refund",
		Body:   []byte(`{"charge_id":"` + ch.ChargeID + `","amount":100,"currency":"USD","idempotency_key":"steal-1"}`),
		Amount: fixture.Int64(100), Currency: "USD", Target: &statement.EntryRef{Index: chargeIndex, LeafHash: chargeLeaf},
		Nonce: "planted-refund-0000001", Time: time.Now()})).Index
	vs := auditLog(t, l)
	if len(vs) != 1 || vs[0].Index != planted || vs[0].Kind != audit.KindRefundNotYourCharge || vs[0].Reason != audit.ReasonOtherCaller {
		t.Fatalf("audit of the planted refund at %d: %+v", planted, vs)
	}
	rep := reconcileReport(t, owner, payURL, pay.DID, l.Log.Size())
	found := false
	for _, d := range rep.Differences {
		found = found || d.Index == planted && d.Kind == payment.DiffRefundNotYourCharge
	}
	if !found {
		t.Fatalf("reconcile did not report the planted refund at %d: %+v", planted, rep.Differences)
	}
}

// actionAt parses the action entry at index.
func actionAt(t *testing.T, l *testledger.Ledger, index uint64) *statement.Action {
	t.Helper()
	raw, err := l.Log.Entry(index)
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
	return a
}

// TestOrderAgentRefundsItsOwnCharge: the honest refunder. The order
// agent's label call fails (the fulfillment agent is unreachable), so it
// refunds its own charge through the real payment agent; the refund is
// bound to the charge's entry, and the log audits clean.
func TestOrderAgentRefundsItsOwnCharge(t *testing.T) {
	l := testledger.Start(t)
	storefront, orderID := l.Register("storefront", "low"), l.Register("order-agent", "low", roles.Serves(roles.Order)...)
	inv, pay, ful := l.Register("inventory-agent", "medium", roles.Serves(roles.Inventory)...),
		l.Register("payment-agent", "high", roles.Serves(roles.Payment)...), l.Register("fulfillment-agent", "medium", roles.Serves(roles.Fulfillment)...)
	create, _ := l.Issue(storefront, orderID, "order:create")
	toInv, _ := l.Issue(orderID, inv, "inventory:reserve", "inventory:consume", "inventory:release", "inventory:check")
	toPay, _ := l.Issue(orderID, pay, "payment:charge:max_10000usd", "payment:refund:max_10000usd")
	toFul, _ := l.Issue(orderID, ful, "fulfillment:label", "fulfillment:notify")
	_, invURL := startRole(t, l, inv, roles.Inventory, roles.Config{Inventory: inventory.Config{Seed: map[string]int64{"sku-1": 100}}})
	_, payURL := startRole(t, l, pay, roles.Payment, roles.Config{})
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	cfg := order.Config{InventoryURL: invURL, InventoryDID: inv.DID, PaymentURL: payURL, PaymentDID: pay.DID,
		FulfillmentURL: dead.URL, FulfillmentDID: ful.DID, StepRetry: order.Duration(300 * time.Millisecond)}
	_, orderURL := startRole(t, l, orderID, roles.Order, roles.Config{Order: cfg}, toInv, toPay, toFul)
	shop := callNode(t, l, storefront, create)

	body := `{"order_id":"o-1","customer":{"first":"Ada","last":"Lovelace"},"address":{"lines":["1 Main St"],"city":"London","postal_code":"N1 1AA","country":"GB"},` +
		`"items":[{"sku":"sku-1","qty":2,"unit_price":1999}],"currency":"USD","card":"4242424242424242"}`
	_, b, _ := rawCall(t, shop, orderURL+"/v1/orders", orderID.DID, "order:create", body)
	var v order.View
	if err := json.Unmarshal(b, &v); err != nil || v.Status != order.StatusFulfillmentFailed || v.RefundID == "" {
		t.Fatalf("order: %s", b)
	}
	a := actionAt(t, l, v.Receipts[order.ActionRefund])
	if a.Action != payment.ActionRefund || a.Target == nil || a.Target.Index != v.Receipts[order.ActionCharge] {
		t.Fatalf("refund entry %+v does not name the charge's entry %d", a, v.Receipts[order.ActionCharge])
	}
	if vs := auditLog(t, l); len(vs) != 0 {
		t.Fatalf("violations: %+v", vs)
	}
}
