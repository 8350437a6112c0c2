package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/order"
)

// soakSKUs are the SKUs every soak order holds, one of each.
var soakSKUs = []string{"tea-earl-grey", "mug-blue"}

// checkStock holds the inventory agent to the stock equation: on hand is
// the initial stock plus recorded restocks minus what orders sold, for
// every SKU. An order sold its stock when it was consumed (a release
// never gives consumed goods back). An order whose consume failed may or
// may not have sold (the answer may have been lost): it widens the range
// allowed, and the detail says how many there were.
// The soak's stock never falls below the low-stock threshold, so there
// are no restocks to count.
func (s *processes) checkStock(ctx context.Context, orders []*placedOrder) Check {
	const name = "on-hand stock is the initial stock minus what the orders sold"
	var sold, unsure int64
	for _, o := range orders {
		v := o.View
		if v == nil {
			continue
		}
		switch {
		case v.Consumed:
			sold++
		case triedConsume(v):
			unsure++ // a consume with no answer may have been done; a release does not undo it
		}
	}
	var bad []string
	for _, sku := range soakSKUs {
		st, err := s.stockOf(ctx, sku)
		if err != nil {
			return Check{Name: name, Detail: err.Error()}
		}
		if st.OnHand > soakStock-sold || st.OnHand < soakStock-sold-unsure {
			bad = append(bad, fmt.Sprintf("%s: %d on hand, want %d - %d sold (up to %d more unsure)", sku, st.OnHand, int64(soakStock), sold, unsure))
		}
	}
	if len(bad) > 0 {
		return Check{Name: name, Detail: strings.Join(bad, "; ")}
	}
	return Check{Name: name, OK: true, Detail: fmt.Sprintf("%d sold of each SKU; %d orders whose consume failed", sold, unsure)}
}

// triedConsume reports whether an order called inventory:consume.
func triedConsume(v *order.View) bool {
	for _, st := range v.Steps {
		if st.Action == order.ActionConsume {
			return true
		}
	}
	return false
}

// stockOf asks the inventory agent for a SKU's stock, as the order agent
// (whose contract grants inventory:check).
func (s *processes) stockOf(ctx context.Context, sku string) (inventory.StockResponse, error) {
	body, _ := json.Marshal(map[string]string{"sku": sku})
	resp, err := s.orderAgent.Call(ctx, http.MethodPost, s.url("inventory")+"/v1/inventory/check", s.ids["inventory-agent"].DID, inventory.ActionCheck, body)
	if err != nil {
		return inventory.StockResponse{}, fmt.Errorf("inventory:check %s: %w", sku, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var st inventory.StockResponse
	if err := json.Unmarshal(raw, &st); err != nil || resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("inventory:check %s answered %d: %.200s", sku, resp.StatusCode, raw)
	}
	return st, nil
}
