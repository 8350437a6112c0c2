package order_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/agents/order"
)

func TestCreateRequestBounds(t *testing.T) {
	e := newEnv(t, envOptions{})
	many := make([]order.Item, order.MaxItems+1)
	for i := range many {
		many[i] = order.Item{SKU: fmt.Sprintf("sku-%d", i), Qty: 1, UnitPrice: 1}
	}
	noCard := newOrder("B-2", "US")
	noCard.Card = ""
	dup := newOrder("B-3", "US", order.Item{SKU: "a", Qty: 1, UnitPrice: 1}, order.Item{SKU: "a", Qty: 1, UnitPrice: 1})
	badCountry := newOrder("B-4", "Narnia")
	free := newOrder("B-5", "US", order.Item{SKU: "a", Qty: 1, UnitPrice: 0})
	badID := newOrder("../etc", "US")
	huge := make([]order.Item, order.MaxItems)
	for i := range huge {
		huge[i] = order.Item{SKU: fmt.Sprintf("x%d", i), Qty: order.MaxQty, UnitPrice: order.MaxUnitPrice}
	}
	overflow := newOrder("B-6", "US", huge...)
	for name, req := range map[string]order.CreateRequest{
		"too many items": newOrder("B-1", "US", many...), "no card": noCard, "duplicate sku": dup,
		"bad country": badCountry, "free": free, "bad id": badID, "overflow": overflow,
	} {
		if code, v := e.create(customer.DID, req); code != http.StatusBadRequest || v.Error != order.ReasonBadRequest {
			t.Errorf("%s: got %d %+v", name, code, v)
		}
	}
	raw := func(body string) int {
		rec := httptest.NewRecorder()
		e.svc.CreateHandler()(rec, httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(body)), e.approval(customer.DID, []byte(body)))
		return rec.Code
	}
	if code := raw(`{"order_id":"x","extra":1}`); code != http.StatusBadRequest {
		t.Errorf("unknown field: %d", code)
	}
	if code := raw(`{"order_id":"x"} {}`); code != http.StatusBadRequest {
		t.Errorf("trailing data: %d", code)
	}
	if code := raw(`{"note":"` + strings.Repeat("a", order.MaxRequestBytes) + `"}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", code)
	}
	if _, err := e.svc.CreateValues(nil, bytes.Repeat([]byte(" "), order.MaxRequestBytes+1)); err == nil {
		t.Error("CreateValues took an oversized body")
	}
	v, err := e.svc.CreateValues(nil, mustJSON(t, newOrder("V-1", "US")))
	if err != nil || !v.HasAmount || v.Amount != 2*1250+4999 || v.Currency != "USD" {
		t.Errorf("CreateValues = %+v, %v", v, err)
	}
	wantCalls(t, e, nil)
}

func TestConfig(t *testing.T) {
	c, err := order.ParseConfig([]byte(`{"inventory_url":"http://i","inventory_did":"did:key:i","payment_url":"http://p",
		"payment_did":"did:key:p","fulfillment_url":"http://f","fulfillment_did":"did:key:f","reservation_ttl":"30m"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HighValueThreshold != 50000 || c.Currency != "USD" || c.DigitalSKUPrefix != "digital-" ||
		len(c.BlockedCountries) != 4 || time.Duration(c.ReservationTTL) != 30*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
	for name, in := range map[string]string{
		"unknown field":   `{"inventory_url":"x","colour":"red"}`,
		"missing urls":    `{}`,
		"bad currency":    `{"currency":"usd"}`,
		"bad country":     `{"blocked_countries":["North Korea"]}`,
		"trailing object": `{} {}`,
	} {
		if _, err := order.ParseConfig([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestResumeNeverRepeatsDoneSteps: an order interrupted after its charge
// (the store failed, or the process died) resumes on retry from the label,
// without reserving or charging again.
func TestResumeNeverRepeatsDoneSteps(t *testing.T) {
	e := newEnv(t, envOptions{})
	if code, _ := e.create(customer.DID, newOrder("Z-1", "US")); code != http.StatusCreated {
		t.Fatal(code)
	}
	ref := order.Ref(customer.DID, "Z-1")
	o, err := e.svc.Store().Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	o.Status, o.Label, o.Notified, o.Steps = order.StatusProcessing, nil, false, o.Steps[:2]
	if err := e.svc.Store().Put(&o); err != nil {
		t.Fatal(err)
	}
	code, v := e.create(customer.DID, newOrder("Z-1", "US"))
	if code != http.StatusOK || v.Status != order.StatusCompleted || len(v.Steps) != 4 {
		t.Fatalf("resumed: %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 2, order.ActionNotify: 2})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
