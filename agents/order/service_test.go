package order_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
)

func newOrder(id, country string, items ...order.Item) order.CreateRequest {
	if len(items) == 0 {
		items = []order.Item{{SKU: "widget-1", Qty: 2, UnitPrice: 1250}, {SKU: "gadget-9", Qty: 1, UnitPrice: 4999}}
	}
	return order.CreateRequest{OrderID: id,
		Customer: order.Customer{First: "Ada", Last: "Lovelace", Email: "ada@example.com"},
		Address:  order.Address{Lines: []string{"12 St James's Square"}, City: "London", PostalCode: "SW1Y 4JH", Country: country},
		Items:    items, Currency: "USD", Card: "4242424242424242", Note: "leave at the door"}
}

var customer = fixture.NewIdentity("customer")

func wantCalls(t *testing.T, e *env, want map[string]int) {
	t.Helper()
	for _, a := range []string{order.ActionReserve, order.ActionRelease, order.ActionCharge, order.ActionConsume, order.ActionRefund, order.ActionLabel, order.ActionNotify} {
		if got := e.down.count(a); got != want[a] {
			t.Errorf("%s called %d times, want %d", a, got, want[a])
		}
	}
}

func wantReceipts(t *testing.T, v order.View, actions ...string) {
	t.Helper()
	for _, a := range actions {
		if _, ok := v.Receipts[a]; !ok {
			t.Errorf("no receipt recorded for %s: %v", a, v.Receipts)
		}
	}
	for _, st := range v.Steps {
		if st.Outcome == order.OutcomeOK && st.Receipt == nil {
			t.Errorf("step %s has no receipt index", st.Action)
		}
	}
}

func TestStandardHappyPath(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, v := e.create(customer.DID, newOrder("A-1", "GB"))
	if code != http.StatusCreated || v.Status != order.StatusCompleted || v.Classification != order.ClassStandard {
		t.Fatalf("got %d %+v", code, v)
	}
	if v.Amount != 2*1250+4999 || v.Currency != "USD" || v.ChargeID == "" || v.ReservationID == "" || v.Label == nil || v.Label.TrackingNumber != "TRK123" {
		t.Fatalf("order state %+v", v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1, order.ActionNotify: 1})
	wantReceipts(t, v, order.ActionCreate, order.ActionReserve, order.ActionCharge, order.ActionConsume, order.ActionLabel, order.ActionNotify)
	if len(v.Steps) != 5 || v.CreateReceipt == 0 {
		t.Fatalf("steps %+v, create receipt %d", v.Steps, v.CreateReceipt)
	}
	ch := e.down.lastBody(order.ActionCharge)
	if ch["idempotency_key"] != "charge-"+order.Ref(customer.DID, "A-1") || ch["amount"] != float64(v.Amount) {
		t.Fatalf("charge body %v", ch)
	}
	lb := e.down.lastBody(order.ActionLabel)
	if lb["name"].(map[string]any)["first"] != "Ada" || lb["address"].(map[string]any)["country"] != "GB" {
		t.Fatalf("label body %v", lb)
	}
	e.noBadRequests()

	// The status is the same, every receipt included.
	code, s := e.status(customer.DID, "A-1")
	if code != http.StatusOK || s.Status != order.StatusCompleted || len(s.Steps) != 5 || s.Receipts[order.ActionCharge] != v.Receipts[order.ActionCharge] {
		t.Fatalf("status %d %+v", code, s)
	}
}

func TestDigitalOrderShipsNoLabel(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, v := e.create(customer.DID, newOrder("D-1", "US", order.Item{SKU: "digital-ebook", Qty: 1, UnitPrice: 999}))
	if code != http.StatusCreated || v.Status != order.StatusCompleted || v.Classification != order.ClassDigital || v.Label != nil {
		t.Fatalf("got %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionNotify: 1})
	wantReceipts(t, v, order.ActionReserve, order.ActionCharge, order.ActionNotify)
	e.noBadRequests()
}

func TestRestrictedRefusedBeforeReserving(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, v := e.create(customer.DID, newOrder("R-1", "KP"))
	if code != http.StatusUnprocessableEntity || v.Error != order.ReasonRestricted || v.Classification != order.ClassRestricted {
		t.Fatalf("got %d %+v", code, v)
	}
	wantCalls(t, e, nil)
	// A retry gets the same refusal, still without a call.
	code, v = e.create(customer.DID, newOrder("R-1", "KP"))
	if code != http.StatusUnprocessableEntity || v.Error != order.ReasonRestricted {
		t.Fatalf("retry got %d %+v", code, v)
	}
	wantCalls(t, e, nil)
}

func TestHighValueNeedsCoveringPaymentContract(t *testing.T) {
	big := order.Item{SKU: "tv-85", Qty: 1, UnitPrice: 80_000} // $800, over the $500 threshold
	t.Run("not covered", func(t *testing.T) {
		e := newEnv(t, envOptions{chargeScope: "payment:charge:max_700usd"})
		code, v := e.create(customer.DID, newOrder("H-1", "US", big))
		if code != http.StatusUnprocessableEntity || v.Error != order.ReasonNoPayment || v.Classification != order.ClassHighValue {
			t.Fatalf("got %d %+v", code, v)
		}
		wantCalls(t, e, nil)
	})
	t.Run("covered", func(t *testing.T) {
		e := newEnv(t, envOptions{chargeScope: "payment:charge:max_1000usd"})
		code, v := e.create(customer.DID, newOrder("H-2", "US", big))
		if code != http.StatusCreated || v.Status != order.StatusCompleted || v.Classification != order.ClassHighValue {
			t.Fatalf("got %d %+v", code, v)
		}
		wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1, order.ActionNotify: 1})
		e.noBadRequests()
	})
	t.Run("currency mismatch", func(t *testing.T) {
		e := newEnv(t, envOptions{chargeScope: "payment:charge:max_1000usd"})
		req := newOrder("H-3", "FR", big)
		req.Currency = "EUR"
		code, v := e.create(customer.DID, req)
		if code != http.StatusUnprocessableEntity || v.Error != order.ReasonNoPayment {
			t.Fatalf("got %d %+v", code, v)
		}
		wantCalls(t, e, nil)
	})
}

// TestQuantityBeyondContractsRefusedBeforeReserving: an order whose
// quantity no reserve or label contract of the agent covers is refused
// before anything is reserved or charged, as one whose amount no charge
// contract covers is; a digital order needs no label contract.
func TestQuantityBeyondContractsRefusedBeforeReserving(t *testing.T) {
	three := []order.Item{{SKU: "widget-1", Qty: 2, UnitPrice: 100}, {SKU: "gadget-9", Qty: 1, UnitPrice: 100}}
	for _, c := range []struct {
		name   string
		opts   envOptions
		items  []order.Item
		reason string // "": completed
	}{
		{"reserve not covered", envOptions{reserveScope: "inventory:reserve:max_qty2"}, three, order.ReasonNoInventory},
		{"label not covered", envOptions{labelScope: "fulfillment:label:max_qty2"}, three, order.ReasonNoFulfillment},
		{"both covered", envOptions{reserveScope: "inventory:reserve:max_qty3", labelScope: "fulfillment:label:max_qty3"}, three, ""},
		{"digital, no label needed", envOptions{labelScope: "fulfillment:label:max_qty1"},
			[]order.Item{{SKU: "digital-a", Qty: 2, UnitPrice: 100}, {SKU: "digital-b", Qty: 1, UnitPrice: 100}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts)
			code, v := e.create(customer.DID, newOrder("Q-1", "US", c.items...))
			if c.reason == "" {
				if code != http.StatusCreated || v.Status != order.StatusCompleted {
					t.Fatalf("got %d %+v", code, v)
				}
				e.noBadRequests()
				return
			}
			if code != http.StatusUnprocessableEntity || v.Status != order.StatusRefused || v.Error != c.reason {
				t.Fatalf("got %d %+v", code, v)
			}
			wantCalls(t, e, nil)
		})
	}
}

// TestChargeRetriedWhilePaymentIsDown has the payment agent unavailable
// for a moment: the order agent retries the charge under the same
// idempotency key and the order completes, with one reservation.
func TestChargeRetriedWhilePaymentIsDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.down.setFail(order.ActionCharge, failure{status: http.StatusServiceUnavailable, reason: "ledger_unavailable"})
	go func() {
		time.Sleep(250 * time.Millisecond)
		e.down.clearFail(order.ActionCharge)
	}()
	code, v := e.create(customer.DID, newOrder("R-1", "US"))
	if code != http.StatusCreated || v.Status != order.StatusCompleted {
		t.Fatalf("got %d %+v", code, v)
	}
	if n := e.down.count(order.ActionCharge); n < 2 {
		t.Fatalf("charge called %d times; the outage was not retried", n)
	}
	if n := e.down.count(order.ActionReserve); n != 1 {
		t.Fatalf("reserve called %d times", n)
	}
	bodies := e.down.allBodies(order.ActionCharge)
	for _, b := range bodies {
		if b["idempotency_key"] != bodies[0]["idempotency_key"] {
			t.Fatalf("retries used different idempotency keys: %v", bodies)
		}
	}
}

func TestChargeFailureReleasesReservation(t *testing.T) {
	for name, f := range map[string]failure{
		"declined": {status: http.StatusPaymentRequired, reason: "card_declined"},
		"refused":  {status: http.StatusForbidden, reason: "amount_exceeded"},
		"down":     {status: http.StatusBadGateway, reason: "processor_unavailable"},
	} {
		t.Run(name, func(t *testing.T) {
			// No retry window: the order is compensated at once.
			e := newEnv(t, envOptions{refund: true, cfg: func(c *order.Config) { c.ChargeRetry = order.Duration(time.Millisecond) }})
			e.down.setFail(order.ActionCharge, f)
			code, v := e.create(customer.DID, newOrder("P-1", "US"))
			if code != http.StatusPaymentRequired || v.Status != order.StatusPaymentFailed || v.ChargeID != "" {
				t.Fatalf("got %d %+v", code, v)
			}
			wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionRelease: 1})
			if rel := e.down.lastBody(order.ActionRelease); rel["reservation_id"] != v.ReservationID {
				t.Fatalf("released %v, want %s", rel, v.ReservationID)
			}
			wantReceipts(t, v, order.ActionReserve, order.ActionRelease)
			if unknown := slices.Contains(v.Flags, "charge_outcome_unknown"); unknown != (name == "down") {
				t.Fatalf("flags %v", v.Flags)
			}
			// A retry does not charge again.
			if code, _ := e.create(customer.DID, newOrder("P-1", "US")); code != http.StatusPaymentRequired {
				t.Fatalf("retry got %d", code)
			}
			wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionRelease: 1})
			e.noBadRequests()
		})
	}
}

// TestStepsRideOutARestart has every step's agent unavailable for a few
// calls, as while an agent or the ledger restarts: with a retry window
// the order still completes, with one receipt per step and nothing done
// twice.
func TestStepsRideOutARestart(t *testing.T) {
	e := newEnv(t, envOptions{cfg: func(c *order.Config) { c.StepRetry = order.Duration(10 * time.Second) }})
	e.down.setFail(order.ActionReserve, failure{status: http.StatusServiceUnavailable, reason: "ledger_unavailable", times: 2})
	e.down.setFail(order.ActionConsume, failure{status: http.StatusServiceUnavailable, reason: "ledger_unavailable", times: 2})
	e.down.setFail(order.ActionLabel, failure{status: http.StatusServiceUnavailable, reason: "checkpoint_stale", times: 1})
	e.down.setFail(order.ActionNotify, failure{status: http.StatusServiceUnavailable, reason: "ledger_unavailable", times: 3})
	code, v := e.create(customer.DID, newOrder("R-1", "US"))
	if code != http.StatusCreated || v.Status != order.StatusCompleted || len(v.Flags) != 0 {
		t.Fatalf("got %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 3, order.ActionCharge: 1, order.ActionConsume: 3, order.ActionLabel: 2, order.ActionNotify: 4})
	wantReceipts(t, v, order.ActionReserve, order.ActionCharge, order.ActionConsume, order.ActionLabel, order.ActionNotify)
	e.noBadRequests()
}

// TestStepRetryGivesUp shows a step whose agent stays unavailable past the
// window failing the order rather than hanging it.
func TestStepRetryGivesUp(t *testing.T) {
	e := newEnv(t, envOptions{cfg: func(c *order.Config) { c.StepRetry = order.Duration(300 * time.Millisecond) }})
	e.down.setFail(order.ActionReserve, failure{status: http.StatusServiceUnavailable, reason: "ledger_unavailable"})
	code, v := e.create(customer.DID, newOrder("R-2", "US"))
	if code != http.StatusConflict || v.Status != order.StatusReservationFailed || v.ChargeID != "" {
		t.Fatalf("got %d %+v", code, v)
	}
	if e.down.count(order.ActionReserve) < 1 {
		t.Fatal("reserve was never called")
	}
	// Nothing but reserve was called: no charge without a reservation.
	wantCalls(t, e, map[string]int{order.ActionReserve: e.down.count(order.ActionReserve)})
}

func TestChargeUnreachableReleasesReservation(t *testing.T) {
	dead := "http://127.0.0.1:1"
	// A short retry window: the payment agent never comes back.
	e := newEnv(t, envOptions{cfg: func(c *order.Config) {
		c.PaymentURL = dead
		c.ChargeRetry = order.Duration(300 * time.Millisecond)
	}})
	code, v := e.create(customer.DID, newOrder("U-1", "US"))
	if code != http.StatusPaymentRequired || v.Status != order.StatusPaymentFailed || !slices.Contains(v.Flags, "charge_outcome_unknown") {
		t.Fatalf("got %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionRelease: 1})
}

func TestLabelFailureWithRefundContractRefunds(t *testing.T) {
	e := newEnv(t, envOptions{refund: true})
	e.down.setFail(order.ActionLabel, failure{status: http.StatusBadGateway, reason: "carrier_unavailable"})
	code, v := e.create(customer.DID, newOrder("L-1", "US"))
	if code != http.StatusBadGateway || v.Status != order.StatusFulfillmentFailed || v.RefundID == "" {
		t.Fatalf("got %d %+v", code, v)
	}
	// The stock was consumed: no release (it would give nothing back).
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1,
		order.ActionRefund: 1})
	rf := e.down.lastBody(order.ActionRefund)
	if rf["charge_id"] != v.ChargeID || rf["amount"] != float64(v.Amount) || rf["idempotency_key"] != "refund-"+order.Ref(customer.DID, "L-1") {
		t.Fatalf("refund body %v", rf)
	}
	wantReceipts(t, v, order.ActionReserve, order.ActionCharge, order.ActionConsume, order.ActionLabel, order.ActionRefund)
	e.noBadRequests()
}

func TestLabelFailureWithoutRefundContractNeedsAttention(t *testing.T) {
	e := newEnv(t, envOptions{refund: false})
	e.down.setFail(order.ActionLabel, failure{status: http.StatusBadGateway, reason: "carrier_unavailable"})
	code, v := e.create(customer.DID, newOrder("L-2", "US"))
	if code != http.StatusAccepted || v.Status != order.StatusNeedsAttention || v.Reason == "" || v.RefundID != "" {
		t.Fatalf("got %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1})
	// A retry attempts nothing more.
	if code, v := e.create(customer.DID, newOrder("L-2", "US")); code != http.StatusAccepted || v.Status != order.StatusNeedsAttention {
		t.Fatalf("retry got %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1})
	e.noBadRequests()
}

func TestConsumeFailureRefundsAndReleases(t *testing.T) {
	e := newEnv(t, envOptions{refund: true})
	e.down.setFail(order.ActionConsume, failure{status: http.StatusConflict, reason: "reservation_not_active"})
	code, v := e.create(customer.DID, newOrder("C-1", "US"))
	if code/100 == 2 || v.Status != order.StatusFulfillmentFailed || v.Reason != order.ReasonConsumeFailed || v.RefundID == "" {
		t.Fatalf("got %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1,
		order.ActionRefund: 1, order.ActionRelease: 1})
	e.noBadRequests()
}

func TestConsumeFailureWithoutRefundContractNeedsAttention(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.down.setFail(order.ActionConsume, failure{status: http.StatusConflict, reason: "reservation_not_active"})
	code, v := e.create(customer.DID, newOrder("C-2", "US"))
	if code != http.StatusAccepted || v.Status != order.StatusNeedsAttention || v.Reason != order.ReasonConsumeNoRefund {
		t.Fatalf("got %d %+v", code, v)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1})
	e.noBadRequests()
}

func TestRetryIsIdempotent(t *testing.T) {
	e := newEnv(t, envOptions{})
	first, v1 := e.create(customer.DID, newOrder("I-1", "US"))
	second, v2 := e.create(customer.DID, newOrder("I-1", "US"))
	if first != http.StatusCreated || second != http.StatusOK || v2.Status != order.StatusCompleted || v1.ChargeID != v2.ChargeID {
		t.Fatalf("first %d %+v, retry %d %+v", first, v1, second, v2)
	}
	if len(v2.RetryReceipts) != 1 || v2.CreateReceipt != v1.CreateReceipt {
		t.Fatalf("receipts: first %d, retry %+v", v1.CreateReceipt, v2)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1, order.ActionNotify: 1})

	// The same id with another content is a conflict.
	other := newOrder("I-1", "US", order.Item{SKU: "widget-1", Qty: 9, UnitPrice: 1250})
	if code, v := e.create(customer.DID, other); code != http.StatusConflict || v.Error != order.ReasonConflict {
		t.Fatalf("conflict got %d %+v", code, v)
	}
	// Another creator's order of the same id is its own order.
	someone := fixture.NewIdentity("someone")
	if code, _ := e.create(someone.DID, newOrder("I-1", "US")); code != http.StatusCreated {
		t.Fatalf("other creator got %d", code)
	}
	if e.down.count(order.ActionCharge) != 2 {
		t.Fatalf("charges: %d", e.down.count(order.ActionCharge))
	}
}

func TestConcurrentRetriesChargeOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { e.create(customer.DID, newOrder("C-1", "US")) })
	}
	wg.Wait()
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1, order.ActionNotify: 1})
}

func TestStatusOnlyForCreator(t *testing.T) {
	e := newEnv(t, envOptions{})
	if code, _ := e.create(customer.DID, newOrder("S-1", "US")); code != http.StatusCreated {
		t.Fatal(code)
	}
	if code, v := e.status(customer.DID, "S-1"); code != http.StatusOK || v.OrderID != "S-1" {
		t.Fatalf("creator got %d %+v", code, v)
	}
	stranger := fixture.NewIdentity("stranger")
	if code, v := e.status(stranger.DID, "S-1"); code != http.StatusNotFound || v.Status != "" {
		t.Fatalf("stranger got %d %+v", code, v)
	}
	if code, _ := e.status(customer.DID, "nope"); code != http.StatusNotFound {
		t.Fatalf("unknown order got %d", code)
	}
}
