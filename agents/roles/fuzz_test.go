package roles_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
)

// fuzzRoute is one guarded endpoint of a role.
type fuzzRoute struct {
	role           roles.Role
	action, method string
	path           string // GET /v1/orders/ takes the order id after it
	seed           string // a body the endpoint accepts
}

var fuzzRoutes = []fuzzRoute{
	{roles.Order, "order:create", http.MethodPost, "/v1/orders", `{"order_id":"o-1","customer":{"first":"Ada","last":"Lovelace","email":"ada@example.com"},` +
		`"address":{"lines":["1 Main St"],"city":"London","postal_code":"N1 1AA","country":"GB"},` +
		`"items":[{"sku":"sku-1","qty":2,"unit_price":1999}],"currency":"USD","card":"4242424242424242","note":"leave at the door"}`},
	{roles.Order, "order:create", http.MethodGet, "/v1/orders/", ``},
	{roles.Inventory, "inventory:check", http.MethodPost, "/v1/inventory/check", `{"sku":"sku-1"}`},
	{roles.Inventory, "inventory:reserve", http.MethodPost, "/v1/inventory/reserve", `{"order_id":"o-2","lines":[{"sku":"sku-1","qty":3},{"sku":"sku-2","qty":1}],"ttl_seconds":600}`},
	{roles.Inventory, "inventory:release", http.MethodPost, "/v1/inventory/release", `{"reservation_id":"r-1"}`},
	{roles.Inventory, "inventory:consume", http.MethodPost, "/v1/inventory/consume", `{"reservation_id":"r-1"}`},
	{roles.Inventory, "inventory:restock", http.MethodPost, "/v1/inventory/restock", `{"sku":"sku-2","qty":5}`},
	{roles.Payment, "payment:charge", http.MethodPost, "/v1/payment/charge", `{"order_id":"o-3","idempotency_key":"o-3-charge","amount":12999,"currency":"USD","card":"4242424242424242"}`},
	{roles.Payment, "payment:refund", http.MethodPost, "/v1/payment/refund", `{"charge_id":"ch_1","amount":100,"currency":"USD","idempotency_key":"o-3-refund"}`},
	{roles.Payment, "payment:reconcile", http.MethodPost, "/v1/payment/reconcile", `{}`},
	{roles.Fulfillment, "fulfillment:label", http.MethodPost, "/v1/fulfillment/label", `{"order_id":"o-4","name":{"first":"Ada","last":"Lovelace"},` +
		`"address":{"lines":["1 Main St","Flat 2"],"city":"London","postal_code":"NW1 6XE","country":"GB"},"items":[{"sku":"sku-1","qty":2}]}`},
	{roles.Fulfillment, "fulfillment:notify", http.MethodPost, "/v1/fulfillment/notify", `{"order_id":"o-4","first_name":"Ada","items":[{"sku":"sku-1","qty":2}],` +
		`"carrier":"ACME","tracking_number":"T-1","note":"thanks"}`},
}

// fuzzWorld is the four agents as nodes on a real ledger, and a storefront
// that holds a contract with every one of them for every action.
type fuzzWorld struct {
	l          *testledger.Ledger
	storefront *node.Node
	url, did   map[roles.Role]string
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	f.Helper()
	l := testledger.Start(f)
	store := l.Register("storefront", "low")
	orderID := l.Register("order-agent", "low", roles.Serves(roles.Order)...)
	inv := l.Register("inventory-agent", "medium", roles.Serves(roles.Inventory)...)
	pay := l.Register("payment-agent", "high", roles.Serves(roles.Payment)...)
	ful := l.Register("fulfillment-agent", "medium", roles.Serves(roles.Fulfillment)...)
	toInv, _ := l.Issue(orderID, inv, "inventory:reserve", "inventory:consume", "inventory:release", "inventory:check")
	toPay, _ := l.Issue(orderID, pay, "payment:charge:max_10000usd")
	toFul, _ := l.Issue(orderID, ful, "fulfillment:label", "fulfillment:notify")
	var held [][]byte
	for _, c := range []struct {
		callee fixture.Identity
		scopes []string
	}{
		{orderID, []string{"order:create"}},
		{inv, []string{"inventory:check", "inventory:reserve:max_qty100", "inventory:consume", "inventory:release", "inventory:restock"}},
		{pay, []string{"payment:charge:max_10000usd", "payment:refund", "payment:reconcile"}},
		{ful, []string{"fulfillment:label", "fulfillment:notify"}},
	} {
		b, _ := l.Issue(store, c.callee, c.scopes...)
		held = append(held, b)
	}
	w := &fuzzWorld{l: l, url: map[roles.Role]string{}, did: map[roles.Role]string{
		roles.Order: orderID.DID, roles.Inventory: inv.DID, roles.Payment: pay.DID, roles.Fulfillment: ful.DID}}
	// No background work: nothing may write to the ledger but the
	// requests themselves.
	_, w.url[roles.Inventory] = startNode(f, l, inv, roles.Inventory, roles.Config{Inventory: inventory.Config{Seed: map[string]int64{"sku-1": 1000, "sku-2": 1000}}}, false)
	_, w.url[roles.Payment] = startNode(f, l, pay, roles.Payment, roles.Config{}, false)
	_, w.url[roles.Fulfillment] = startNode(f, l, ful, roles.Fulfillment, roles.Config{}, false)
	cfg := order.Config{InventoryURL: w.url[roles.Inventory], InventoryDID: inv.DID, PaymentURL: w.url[roles.Payment], PaymentDID: pay.DID,
		FulfillmentURL: w.url[roles.Fulfillment], FulfillmentDID: ful.DID}
	_, w.url[roles.Order] = startNode(f, l, orderID, roles.Order, roles.Config{Order: cfg}, false, toInv, toPay, toFul)
	sf, err := node.New(context.Background(), node.Config{Key: store.Key, Ledger: l.URL, Policy: l.Policy(),
		DataDir: f.TempDir(), Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Contract: held})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sf.DB.Close() })
	w.storefront = sf
	return w
}

// FuzzRoles sends every guarded endpoint of the four agents a fuzzed body
// (or order id), validly signed under a contract that covers the action,
// so that the fuzzer reaches each role's parsers and handlers through the
// real guard. No answer is a 500; a 502 or 503 is a documented refusal;
// every refusal is JSON {"error","message"}; a request refused before
// approval leaves the ledger as it was; and an approved one carries a
// receipt that is the agent's action entry for exactly this body.
func FuzzRoles(f *testing.F) {
	w := newFuzzWorld(f)
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), "o-1", []byte(r.seed))
	}
	f.Add(uint8(0), "", []byte(`{"order_id":"o-9","items":[]}`))
	f.Add(uint8(3), "", []byte(`{"order_id":"o-2","lines":[{"sku":"sku-1","qty":3},{"sku":"sku-1","qty":1}]}`))
	f.Add(uint8(6), "", []byte(`{"order_id":"o-5","idempotency_key":"k","amount":-1,"currency":"USD","card":"4242424242424242"}`))
	f.Add(uint8(9), "", []byte(`{"order_id":"../x"}`))
	f.Add(uint8(1), "../payment", []byte(nil))
	f.Fuzz(func(t *testing.T, route uint8, id string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := r.path
		if r.method == http.MethodGet {
			if id == "" || id == "." || id == ".." {
				return // not the order route: the mux's own redirect or 404
			}
			path += url.PathEscape(id)
		}
		before := w.l.Log.Size()
		resp, err := w.storefront.Caller.Call(t.Context(), r.method, w.url[r.role]+path, w.did[r.role], r.action, body)
		if err != nil {
			return // a URL the client will not send
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, receipt := resp.StatusCode, resp.Header.Get(contractref.ReceiptHeader)
		if status == http.StatusInternalServerError || status > http.StatusServiceUnavailable ||
			(status >= 500 && status != http.StatusBadGateway && status != http.StatusServiceUnavailable) {
			t.Fatalf("%s %s %q: %d %s", r.method, path, body, status, out)
		}
		if status >= 400 {
			fuzzcheck.Refusal(t, status, out)
		}
		if receipt == "" {
			if status < 400 {
				t.Fatalf("%s %s: %d with no receipt", r.method, path, status)
			}
			if after := w.l.Log.Size(); after != before {
				t.Fatalf("%s %s refused (%d %s) but the ledger grew from %d to %d", r.method, path, status, out, before, after)
			}
			return
		}
		w.l.CheckReceipt(t, receipt, w.did[r.role], w.storefront.DID, r.action, body)
	})
}
