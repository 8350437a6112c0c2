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
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/verify"
)

// demoStack is the four agents of the demo running as nodes on loopback,
// and the storefront's and the order agent's signed clients.
type demoStack struct {
	urls       map[string]string // role -> base URL
	nodes      map[string]*node.Node
	storefront *caller.Client
	order      *caller.Client // the order agent's own client, for direct calls
	payment    fixture.Identity
	stops      []func()
}

func (s *demoStack) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

// startAgents runs the inventory, payment, fulfillment and order agents,
// each with its own key, store, view of the log and guard.
// demoStock is the inventory the demo's stack starts with.
var demoStock = map[string]int64{"tea-earl-grey": 500, "mug-blue": 200, "digital-gift-card": 1000000}

func (d *demo) startAgents(ctx context.Context, cl *client.Client, verifier note.Verifier, authority, dir string,
	ids map[string]fixture.Identity, stock map[string]int64) (*demoStack, error) {
	proof := func(what string) ([]byte, error) { return cl.Bundle(ctx, d.entry("contract "+what).Index, 0) }
	var bundles = map[string][]byte{}
	for _, what := range []string{"order-agent -> inventory-agent", "order-agent -> payment-agent",
		"order-agent -> fulfillment-agent", "storefront -> order-agent"} {
		b, err := proof(what)
		if err != nil {
			return nil, err
		}
		bundles[what] = b
	}
	s := &demoStack{urls: map[string]string{}, nodes: map[string]*node.Node{}, payment: ids["payment-agent"]}
	start := func(role roles.Role, name string, cfg roles.Config, contracts ...[]byte) error {
		log, err := d.logger(name)
		if err != nil {
			return err
		}
		n, err := node.New(ctx, node.Config{Key: ids[name].Key, Ledger: cl.URL(),
			Policy:  verify.TrustPolicy{LogKey: verifier, Authority: authority},
			DataDir: filepath.Join(dir, "agents", name+".data"), Listen: "127.0.0.1:0",
			Logger: log, Refresh: 50 * time.Millisecond, Contract: contracts})
		if err != nil {
			return err
		}
		background, err := roles.Mount(n, role, cfg)
		if err == nil {
			var addr string
			if addr, err = n.Listen(); err == nil {
				s.urls[string(role)] = "http://" + addr
			}
		}
		if err != nil {
			n.DB.Close()
			return err
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{}, 2)
		go func() { _ = n.Serve(runCtx); done <- struct{}{} }()
		go func() { background(runCtx); done <- struct{}{} }()
		s.nodes[string(role)] = n
		s.stops = append(s.stops, func() { cancel(); <-done; <-done })
		return nil
	}
	fail := func(err error) (*demoStack, error) { s.stop(); return nil, err }
	if err := start(roles.Inventory, "inventory-agent", roles.Config{Inventory: inventory.Config{Seed: stock}}); err != nil {
		return fail(err)
	}
	if err := start(roles.Payment, "payment-agent", roles.Config{}); err != nil {
		return fail(err)
	}
	if err := start(roles.Fulfillment, "fulfillment-agent", roles.Config{}); err != nil {
		return fail(err)
	}
	oc := order.Config{InventoryURL: s.urls["inventory"], InventoryDID: ids["inventory-agent"].DID,
		PaymentURL: s.urls["payment"], PaymentDID: ids["payment-agent"].DID,
		FulfillmentURL: s.urls["fulfillment"], FulfillmentDID: ids["fulfillment-agent"].DID}
	if err := start(roles.Order, "order-agent", roles.Config{Order: oc}, bundles["order-agent -> inventory-agent"],
		bundles["order-agent -> payment-agent"], bundles["order-agent -> fulfillment-agent"]); err != nil {
		return fail(err)
	}
	s.order = s.nodes["order"].Caller
	s.storefront = caller.New(ids["storefront"].Key, nil, nil)
	for _, c := range []struct {
		client *caller.Client
		proof  string
	}{{s.storefront, "storefront -> order-agent"}} {
		k, err := caller.ParseContract(bundles[c.proof])
		if err == nil {
			err = c.client.Add(k)
		}
		if err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// callResult is one call's answer.
type callResult struct {
	status  int
	reason  string
	receipt string
	body    map[string]any
}

func send(req *http.Request) (callResult, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return callResult{}, err
	}
	return readAnswer(resp), nil
}

func readAnswer(resp *http.Response) callResult {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	reason, _ := body["error"].(string)
	return callResult{status: resp.StatusCode, reason: reason, receipt: resp.Header.Get(contractref.ReceiptHeader), body: body}
}

// demoOrder is an order the storefront places.
func demoOrder(id, country, card string, items ...string) []byte {
	type item struct {
		SKU       string `json:"sku"`
		Qty       int64  `json:"qty"`
		UnitPrice int64  `json:"unit_price"`
	}
	var lines []item
	for _, sku := range items {
		lines = append(lines, item{SKU: sku, Qty: 1, UnitPrice: 1299})
	}
	b, _ := json.Marshal(map[string]any{"order_id": id,
		"customer": map[string]string{"first": "Ada", "last": "Lovelace", "email": "ada@example.com"},
		"address":  map[string]any{"lines": []string{"12 Analytical Row"}, "city": "London", "postal_code": "N1 1AA", "country": country},
		"items":    lines, "currency": "USD", "card": card, "note": "please leave with the neighbour"})
	return b
}

// placeOrders has the storefront place n orders and shows each go through
// every agent with its receipts, then a declined card compensated and a
// restricted destination refused.
func (d *demo) placeOrders(ctx context.Context, s *demoStack, n int) error {
	call := func(body []byte) (callResult, error) {
		resp, err := s.storefront.Call(ctx, http.MethodPost, s.urls["order"]+"/v1/orders", s.nodes["order"].DID, "order:create", body)
		if err != nil {
			return callResult{}, err
		}
		return readAnswer(resp), nil
	}
	for i := 1; i <= n; i++ {
		items := []string{"tea-earl-grey", "mug-blue"}
		if i%3 == 0 {
			items = []string{"digital-gift-card"}
		}
		got, err := call(demoOrder(fmt.Sprintf("demo-%03d", i), "GB", "4242424242424242", items...))
		if err != nil {
			return err
		}
		steps := receiptsOf(got.body)
		d.expect(fmt.Sprintf("order demo-%03d (%s)", i, got.body["classification"]),
			got.status == http.StatusCreated && got.body["status"] == "completed" && len(steps) >= 3,
			fmt.Sprintf("%d %v; receipts %s", got.status, got.body["status"], steps))
		d.report.Orders++
	}
	got, err := call(demoOrder("demo-declined", "GB", "4000000000000002", "tea-earl-grey"))
	if err != nil {
		return err
	}
	d.expect("a declined card: the reservation is released", got.body["status"] == "payment_failed" && hasStep(got.body, "inventory:release"),
		fmt.Sprintf("%d %v, steps %s", got.status, got.body["status"], receiptsOf(got.body)))
	got, err = call(demoOrder("demo-restricted", "KP", "4242424242424242", "tea-earl-grey"))
	if err != nil {
		return err
	}
	d.expect("an order to a blocked destination, refused before anything is reserved",
		got.status == 422 && got.body["reason"] == "restricted_destination" && len(receiptsOf(got.body)) == 0,
		fmt.Sprintf("%d %v", got.status, got.body["reason"]))
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

// enforce shows the payment agent acting on a valid call, with its receipt
// in the log before it acts, and refusing calls its contract does not
// cover.
func (d *demo) enforce(ctx context.Context, s *demoStack, cl *client.Client, verifier note.Verifier, ids map[string]fixture.Identity) error {
	pay := s.urls["payment"]
	k, err := s.order.Pick(s.payment.DID, "payment:charge")
	if err != nil {
		return err
	}
	charge := func(id string, amount int64, currency string) []byte {
		b, _ := json.Marshal(map[string]any{"order_id": id, "idempotency_key": id + "-charge", "amount": amount, "currency": currency, "card": "4242424242424242"})
		return b
	}
	body := charge("direct-1", 12999, "USD")
	req, err := s.order.NewRequest(ctx, http.MethodPost, pay+"/v1/payment/charge", k, body)
	if err != nil {
		return err
	}
	replayed := req.Clone(ctx)
	replayed.Body = io.NopCloser(bytes.NewReader(body))
	got, err := send(req)
	if err != nil {
		return err
	}
	d.expect("order-agent charges $129.99 at payment-agent", got.status == http.StatusOK && got.receipt != "",
		fmt.Sprintf("%d, Ledger-Receipt: %s", got.status, got.receipt))
	if got.status == http.StatusOK {
		ok, detail := d.checkReceipt(ctx, cl, verifier, got.receipt, s.payment.DID)
		d.expect("the receipt is payment-agent's signed approval, in the log", ok, detail)
	}
	got, err = send(replayed)
	if err != nil {
		return err
	}
	d.expect("the same signed request sent again", got.status == 401 && got.reason == "replay", fmt.Sprintf("%d %s", got.status, got.reason))

	for _, c := range []struct {
		name, path string
		body       []byte
		status     int
		reason     string
	}{
		{"a charge one cent over the $10,000 limit", "/v1/payment/charge", charge("direct-2", 1000001, "USD"), 403, "amount_exceeded"},
		{"a charge in another currency", "/v1/payment/charge", charge("direct-3", 100, "EUR"), 403, "currency_mismatch"},
		{"a refund under a charge-only contract", "/v1/payment/refund", []byte(`{"charge_id":"x","amount":100,"currency":"USD","idempotency_key":"r-1"}`), 403, "scope_missing"},
	} {
		req, err := s.order.NewRequest(ctx, http.MethodPost, pay+c.path, k, c.body)
		if err != nil {
			return err
		}
		got, err := send(req)
		if err != nil {
			return err
		}
		d.expect(c.name, got.status == c.status && got.reason == c.reason, fmt.Sprintf("%d %s", got.status, got.reason))
	}
	// The inventory agent presents the order agent's contract as its own.
	thief := caller.New(ids["inventory-agent"].Key, nil, nil)
	req, err = thief.NewRequest(ctx, http.MethodPost, pay+"/v1/payment/charge", k, charge("direct-4", 100, "USD"))
	if err != nil {
		return err
	}
	got, err = send(req)
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
	if _, err := verified.CheckpointCovering(ctx, cl, verifier, index+1, 10*time.Second); err != nil {
		return false, err.Error()
	}
	// The receipt is proved like any entry: its inclusion, and the
	// approving agent's signature over the action.
	e, _, err := verify.FetchProved(ctx, cl, index, 0, verifier, verify.Want{Kind: envelope.KindAction, Signer: agent})
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
func (d *demo) refusedAfterRevocation(ctx context.Context, s *demoStack, index uint64) error {
	deadline := time.Now().Add(10 * time.Second)
	for s.nodes["payment"].Follower.Checkpoint().Size <= index {
		if time.Now().After(deadline) {
			d.expect("the next charge is refused", false, "the payment agent's view never reached the revocation")
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	k, err := s.order.Pick(s.payment.DID, "payment:charge")
	if err != nil {
		return err
	}
	req, err := s.order.NewRequest(ctx, http.MethodPost, s.urls["payment"]+"/v1/payment/charge", k,
		[]byte(`{"order_id":"after-revocation","idempotency_key":"after-revocation","amount":500,"currency":"USD","card":"4242424242424242"}`))
	if err != nil {
		return err
	}
	got, err := send(req)
	if err != nil {
		return err
	}
	d.expect("the next charge under it is refused", got.status == 403 && got.reason == "contract_revoked", fmt.Sprintf("%d %s", got.status, got.reason))
	return nil
}

// moreAttacks runs the rest of the enforcement issue's attacks against the
// payment agent and shows each refused with its reason: what the guard
// checks before any contract, contracts that are not in force, and a
// relying party whose view of the log is stale.
func (d *demo) moreAttacks(ctx context.Context, s *demoStack, cl *client.Client, verifier note.Verifier, authority fixture.Identity, ids map[string]fixture.Identity) error {
	pay := s.urls["payment"] + "/v1/payment/charge"
	k, err := s.order.Pick(s.payment.DID, "payment:charge")
	if err != nil {
		return err
	}
	n := 0
	charge := func() []byte {
		n++
		return []byte(fmt.Sprintf(`{"order_id":"attack-%d","idempotency_key":"attack-%d","amount":100,"currency":"USD","card":"4242424242424242"}`, n, n))
	}
	expect := func(name string, req *http.Request, status int, reason string) error {
		got, err := send(req)
		if err != nil {
			return err
		}
		d.expect(name, got.status == status && got.reason == reason, fmt.Sprintf("%d %s", got.status, got.reason))
		return nil
	}
	plain, _ := http.NewRequestWithContext(ctx, http.MethodPost, pay, bytes.NewReader(charge()))
	if err := expect("an unsigned request", plain, 401, "signature_missing"); err != nil {
		return err
	}
	req, err := s.order.NewRequest(ctx, http.MethodPost, pay, k, charge())
	if err != nil {
		return err
	}
	req.Header.Set("Signature", "sig1=:"+strings.Repeat("A", 86)+"==:")
	if err := expect("a forged signature", req, 401, "signature_invalid"); err != nil {
		return err
	}
	req, err = s.order.NewRequest(ctx, http.MethodPost, pay, k, charge())
	if err != nil {
		return err
	}
	changed := []byte(`{"order_id":"attack-x","idempotency_key":"attack-x","amount":999999,"currency":"USD","card":"4242424242424242"}`)
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(changed)), int64(len(changed))
	if err := expect("the body changed after signing", req, 401, "digest_mismatch"); err != nil {
		return err
	}
	late := caller.New(ids["order-agent"].Key, nil, func() time.Time { return time.Now().Add(-10 * time.Minute) })
	req, err = late.NewRequest(ctx, http.MethodPost, pay, k, charge())
	if err != nil {
		return err
	}
	if err := expect("a request signed ten minutes ago", req, 401, "signature_stale"); err != nil {
		return err
	}
	// Contracts that are not in force.
	issue := func(start time.Time, callee string) (caller.Contract, error) {
		raw, _, err := fixture.Contract(authority.Key, ids["order-agent"].DID, ids[callee].DID, []string{"payment:charge:max_10000usd"}, start, time.Hour)
		if err != nil {
			return caller.Contract{}, err
		}
		res, err := cl.Append(ctx, raw)
		if err != nil {
			return caller.Contract{}, err
		}
		if _, err := verified.CheckpointCovering(ctx, cl, verifier, res.Index+1, 10*time.Second); err != nil {
			return caller.Contract{}, err
		}
		b, err := cl.Bundle(ctx, res.Index, 0)
		if err != nil {
			return caller.Contract{}, err
		}
		return caller.ParseContract(b)
	}
	for _, c := range []struct {
		name   string
		start  time.Time
		callee string
		reason string
	}{
		{"a contract that expired an hour ago", time.Now().Add(-2 * time.Hour), "payment-agent", "contract_expired"},
		{"a contract valid only from tomorrow", time.Now().Add(24 * time.Hour), "payment-agent", "contract_not_yet_valid"},
		{"a contract for another audience (inventory) at payment", time.Now(), "inventory-agent", "contract_audience_mismatch"},
	} {
		bad, err := issue(c.start, c.callee)
		if err != nil {
			return err
		}
		req, err := s.order.NewRequest(ctx, http.MethodPost, pay, bad, charge())
		if err != nil {
			return err
		}
		if err := expect(c.name, req, 403, c.reason); err != nil {
			return err
		}
	}
	unlogged, _, err := fixture.Contract(authority.Key, ids["order-agent"].DID, s.payment.DID, []string{"payment:charge"}, time.Now(), time.Hour)
	if err != nil {
		return err
	}
	ghost := caller.Contract{Ref: k.Ref}
	ghost.Ref.LeafHash = proofs.LeafHash(unlogged)
	req, err = s.order.NewRequest(ctx, http.MethodPost, pay, ghost, charge())
	if err != nil {
		return err
	}
	if err := expect("a validly signed contract that was never appended", req, 403, "contract_unknown"); err != nil {
		return err
	}
	// A payment agent that cannot reach the ledger refuses everything.
	stale, err := node.New(ctx, node.Config{Key: s.payment.Key, Ledger: "http://127.0.0.1:1",
		Policy:  verify.TrustPolicy{LogKey: verifier, Authority: authority.DID},
		DataDir: filepath.Join(d.report.DataDir, "agents", "payment-agent.unreachable"), Listen: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	if _, err := roles.Mount(stale, roles.Payment, roles.Config{}); err != nil {
		stale.DB.Close()
		return err
	}
	addr, err := stale.Listen()
	if err != nil {
		stale.DB.Close()
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = stale.Serve(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	req, err = s.order.NewRequest(ctx, http.MethodPost, "http://"+addr+"/v1/payment/charge", k, charge())
	if err != nil {
		return err
	}
	return expect("a payment agent whose ledger is unreachable", req, 503, "checkpoint_stale")
}
