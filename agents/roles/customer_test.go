package roles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/roles"
)

// TestCustomerLimitsAgreeAcrossAgents runs the four agents as nodes on a
// real ledger, with no refund contract: the stack in which an order the
// fulfillment agent refuses after the charge leaves the customer charged
// with nothing shipped. For every customer field at its limit, the order
// is accepted by the order agent and labelled and notified by the
// fulfillment agent; one past the limit (or with a control or format
// character), the order agent refuses it at the door with 400
// bad_request, and nothing is approved anywhere: no entry in the ledger,
// no stock reserved, no charge, no order stored.
func TestCustomerLimitsAgreeAcrossAgents(t *testing.T) {
	st := startOrderStack(t, inventory.Config{Seed: map[string]int64{"sku-1": 1000, "sku-bulk": 10 * customer.MaxQty}, DisableRestock: true})
	l, orderID, inv := st.l, st.ids.order, st.ids.inventory
	storefront, orderNode, orderURL, invURL := st.storefront, st.order, st.url[roles.Order], st.url[roles.Inventory]

	// Text at a limit is counted in code points: "é" is two bytes.
	text := func(n int) string { return strings.Repeat("é", n) }
	type mod func(o *order.CreateRequest, n int)
	rows := []struct {
		field string
		limit int
		set   mod
	}{
		{"customer.first", customer.MaxNameChars, func(o *order.CreateRequest, n int) { o.Customer.First = text(n) }},
		{"customer.last", customer.MaxNameChars, func(o *order.CreateRequest, n int) { o.Customer.Last = text(n) }},
		// The fulfillment agent never sees the e-mail address; the order
		// agent's rule for it lives with the others all the same.
		{"customer.email", customer.MaxEmailChars, func(o *order.CreateRequest, n int) { o.Customer.Email = "a@" + text(n-2) }},
		{"address.lines[0]", customer.MaxLineChars, func(o *order.CreateRequest, n int) { o.Address.Lines[0] = text(n) }},
		{"address.lines", customer.MaxAddressLines, func(o *order.CreateRequest, n int) {
			o.Address.Lines = nil
			for i := range n {
				o.Address.Lines = append(o.Address.Lines, fmt.Sprintf("line %d", i+1))
			}
		}},
		{"address.city", customer.MaxCityChars, func(o *order.CreateRequest, n int) { o.Address.City = text(n) }},
		{"address.postal_code", customer.MaxPostalChars, func(o *order.CreateRequest, n int) { o.Address.PostalCode = text(n) }},
		{"note", customer.MaxNoteChars, func(o *order.CreateRequest, n int) { o.Note = text(n) }},
		{"items.qty", customer.MaxQty, func(o *order.CreateRequest, n int) {
			o.Items = append(o.Items, order.Item{SKU: "sku-bulk", Qty: int64(n), UnitPrice: 0})
		}},
	}
	base := func(id string) order.CreateRequest {
		return order.CreateRequest{OrderID: id, Customer: order.Customer{First: "Ada", Last: "Lovelace", Email: "ada@example.com"},
			Address: order.Address{Lines: []string{"1 Main St"}, City: "London", PostalCode: "N1 1AA", Country: "GB"},
			Items:   []order.Item{{SKU: "sku-1", Qty: 1, UnitPrice: 1999}}, Currency: "USD", Card: "4242424242424242", Note: "leave at the door"}
	}
	place := func(o order.CreateRequest) (int, map[string]any) {
		t.Helper()
		body, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		status, got, _ := call(t, storefront, orderURL+"/v1/orders", orderID.DID, "order:create", string(body))
		return status, got
	}
	stock := func(sku string) float64 {
		t.Helper()
		status, got, _ := call(t, orderNode, invURL+"/v1/inventory/check", inv.DID, "inventory:check", `{"sku":"`+sku+`"}`)
		if status != http.StatusOK {
			t.Fatalf("inventory:check %s: %d %v", sku, status, got)
		}
		return got["reserved"].(float64)
	}
	refused := func(name string, o order.CreateRequest) {
		t.Helper()
		reserved := map[string]float64{"sku-1": stock("sku-1"), "sku-bulk": stock("sku-bulk")}
		size := l.Log.Size()
		status, got := place(o)
		if status != http.StatusBadRequest || got["error"] != order.ReasonBadRequest {
			t.Errorf("%s: the order agent answered %d %v, want 400 %s", name, status, got, order.ReasonBadRequest)
		}
		if after := l.Log.Size(); after != size {
			t.Errorf("%s: refused, yet the ledger grew from %d to %d entries", name, size, after)
		}
		for sku, before := range reserved {
			if now := stock(sku); now != before {
				t.Errorf("%s: refused, yet %s went from %v to %v reserved", name, sku, before, now)
			}
		}
		resp, err := storefront.Caller.Call(context.Background(), http.MethodGet, orderURL+"/v1/orders/"+o.OrderID, orderID.DID, "order:create", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: refused, yet the order is stored (%d)", name, resp.StatusCode)
		}
	}
	for i, r := range rows {
		at := base(fmt.Sprintf("at-%d", i))
		r.set(&at, r.limit)
		status, got := place(at)
		if status != http.StatusCreated || got["status"] != order.StatusCompleted || got["flags"] != nil {
			t.Errorf("%s at its limit %d: %d %v", r.field, r.limit, status, got)
		} else if lbl, _ := got["label"].(map[string]any); lbl == nil || lbl["tracking_number"] == "" {
			t.Errorf("%s at its limit %d: no label in %v", r.field, r.limit, got)
		}
		past := base(fmt.Sprintf("past-%d", i))
		r.set(&past, r.limit+1)
		refused(fmt.Sprintf("%s one past its limit %d", r.field, r.limit), past)
	}
	for name, set := range map[string]func(o *order.CreateRequest){
		"first name of 90 characters": func(o *order.CreateRequest) { o.Customer.First = strings.Repeat("a", 90) },
		"no city":                     func(o *order.CreateRequest) { o.Address.City = "" },
		"no address line":             func(o *order.CreateRequest) { o.Address.Lines = nil },
		"blank second line":           func(o *order.CreateRequest) { o.Address.Lines = append(o.Address.Lines, " ") },
		"zero-width space in name":    func(o *order.CreateRequest) { o.Customer.First = "Ada\u200b" },
		"bidi override in line":       func(o *order.CreateRequest) { o.Address.Lines[0] = "1 Main St\u202e" },
		"bidi isolate in city":        func(o *order.CreateRequest) { o.Address.City = "Lon\u2066don" },
		"byte order mark in note":     func(o *order.CreateRequest) { o.Note = "\ufeffhi" },
		"newline in last name":        func(o *order.CreateRequest) { o.Customer.Last = "Love\nlace" },
		"line separator in postcode":  func(o *order.CreateRequest) { o.Address.PostalCode = "N1\u20281AA" },
	} {
		o := base("bad-" + strings.ReplaceAll(name, " ", "-"))
		set(&o)
		refused(name, o)
	}
	// The refused orders' ids are free: the same id with good data is an
	// order like any other.
	o := base("bad-no-city")
	if status, got := place(o); status != http.StatusCreated {
		t.Fatalf("a good order under a refused one's id: %d %v", status, got)
	}
}
