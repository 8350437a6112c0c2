package stack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/agentledger/agentledger/agents/contractref"
)

// An Answer is one call's answer, read in full.
type Answer struct {
	Status  int
	Reason  string // the body's "error", if any
	Receipt string // the Ledger-Receipt header, if any
	Body    map[string]any
}

// maxAnswer bounds the answers read.
const maxAnswer = 64 << 10

// ReadAnswer reads and closes resp. A body that is not a JSON object
// leaves Body nil.
func ReadAnswer(resp *http.Response) Answer {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	reason, _ := body["error"].(string)
	return Answer{Status: resp.StatusCode, Reason: reason, Receipt: resp.Header.Get(contractref.ReceiptHeader), Body: body}
}

// Send sends req with the default client and reads its answer.
func Send(req *http.Request) (Answer, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{}, err
	}
	return ReadAnswer(resp), nil
}

// PlaceOrder has the storefront place the order body at the order agent.
func (a *Agents) PlaceOrder(ctx context.Context, body []byte) (Answer, error) {
	resp, err := a.Storefront.Call(ctx, http.MethodPost, a.URLs["order"]+"/v1/orders", a.Nodes["order"].DID, "order:create", body)
	if err != nil {
		return Answer{}, err
	}
	return ReadAnswer(resp), nil
}

// OrderBody is an order of one of each SKU in items at $12.99, for Ada
// Lovelace in London, to country, paid with card.
func OrderBody(id, country, card string, items ...string) []byte {
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

// CustomerData is what the orders of OrderBody hold that no log may
// show: the cards (the one approved and the one declined) and the
// customer's address and email.
func CustomerData() []string {
	return []string{"4242424242424242", "4000000000000002", "12 Analytical Row", "ada@example.com"}
}
