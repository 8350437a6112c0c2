// Package order is the order agent (low risk): it takes inbound orders,
// classifies them, routes them to the inventory, payment and fulfillment
// agents through signed calls under its own contracts, and compensates
// when a step fails.
//
// An order goes: reserve stock (inventory:reserve), charge (payment:charge,
// under an idempotency key derived from the order), take the paid-for
// stock out of inventory (inventory:consume), label (fulfillment:label,
// unless every SKU is digital), notify (fulfillment:notify). Every step's receipt (the callee's Ledger-Receipt
// index) is recorded with the order in the agent's own Badger store.
//
// A failed charge releases the reservation (payment_failed). A failed
// consume refunds the charge and releases the stock; a failed label
// refunds the charge and leaves the consumed stock taken (a release
// never returns consumed goods); both only if the agent holds a contract
// granting payment:refund of the amount; otherwise the order is flagged
// for a person (needs_attention) and nothing else is attempted.
//
// POST /v1/orders is idempotent per creator and order id: a retry of the
// same order returns its current state, resuming an interrupted one, and
// never repeats a step already done.
package order

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Refusal reasons of POST /v1/orders.
const (
	ReasonRestricted        = "restricted_destination"
	ReasonNoPayment         = "no_payment_contract_covers_amount"
	ReasonNoInventory       = "no_inventory_contract_covers_quantity"
	ReasonNoFulfillment     = "no_fulfillment_contract_covers_quantity"
	ReasonNoConsume         = "no_inventory_consume_contract"
	ReasonConflict          = "order_conflict"
	ReasonNotFound          = "order_not_found"
	ReasonBadRequest        = jsonapi.ReasonBadRequest
	ReasonTooLarge          = jsonapi.ReasonTooLarge
	ReasonStoreDown         = "store_unavailable"
	maxRetryReceipts        = 100
	ReasonReservationFailed = "reservation_failed"
	ReasonPaymentFailed     = "payment_failed"
	ReasonLabelFailed       = "label_failed"
	ReasonNoRefundContract  = "label_failed_no_refund_contract"
	ReasonRefundFailed      = "label_failed_refund_failed"
	ReasonConsumeFailed     = "consume_failed"
	ReasonConsumeNoRefund   = "consume_failed_no_refund_contract"
	ReasonConsumeNoRefunded = "consume_failed_refund_failed"
	flagChargeUnknown       = "charge_outcome_unknown"
	flagReserveUnknown      = "reservation_outcome_unknown"
	flagReleaseFailed       = "reservation_release_failed"
	flagNotifyFailed        = "notify_failed"
)

// Service is the order agent's logic behind its guard. It is safe for
// concurrent use.
type Service struct {
	cfg     Config
	store   *Store
	caller  Caller
	now     func() time.Time
	timeout time.Duration
	log     zerolog.Logger
}

// New returns a Service over the agent's own db, calling the other agents
// through c.
func New(db *badger.DB, c Caller, cfg Config) (*Service, error) {
	if db == nil || c == nil {
		return nil, errors.New("order: db and caller are required")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: NewStore(db), caller: c, now: cfg.Now,
		timeout: time.Duration(cfg.CallTimeout), log: *cfg.Logger}, nil
}

// Store is the service's order store.
func (s *Service) Store() *Store { return s.store }

// Mount serves POST /v1/orders and GET /v1/orders/{id} on mux through g,
// both as order:create.
func (s *Service) Mount(mux *http.ServeMux, g *guard.Guard) {
	mux.Handle("POST /v1/orders", g.Protect(ActionCreate, s.CreateValues, s.CreateHandler()))
	mux.Handle("GET /v1/orders/{id}", g.Protect(ActionCreate, s.StatusValues, s.StatusHandler()))
}

// StatusValues is the guard.Values of GET /v1/orders/{id}: a read moves
// no money, so it asks for an amount of zero in the default currency,
// which an order:create:max_<amount><currency> scope in that currency
// allows (with no amount at all, a limited scope would refuse the read).
func (s *Service) StatusValues(*http.Request, []byte) (scope.Request, error) {
	return scope.Request{Amount: 0, Currency: s.cfg.Currency, HasAmount: true}, nil
}

// View is the answer of both endpoints: an order's state and every
// receipt index. Error and Message are set when the order did not
// complete.
type View struct {
	Error          string            `json:"error,omitempty"`
	Message        string            `json:"message,omitempty"`
	OrderID        string            `json:"order_id"`
	Status         string            `json:"status"`
	Classification string            `json:"classification"`
	Reason         string            `json:"reason,omitempty"`
	Detail         string            `json:"detail,omitempty"`
	Amount         int64             `json:"amount"`
	Currency       string            `json:"currency"`
	ReservationID  string            `json:"reservation_id,omitempty"`
	ChargeID       string            `json:"charge_id,omitempty"`
	Consumed       bool              `json:"consumed,omitempty"` // the stock was taken out of inventory
	RefundID       string            `json:"refund_id,omitempty"`
	Label          *Label            `json:"label,omitempty"`
	Flags          []string          `json:"flags,omitempty"`
	CreateReceipt  uint64            `json:"create_receipt_index"`
	RetryReceipts  []uint64          `json:"retry_receipt_indexes,omitempty"`
	Receipts       map[string]uint64 `json:"receipts"` // action → the latest receipt index of that step
	Steps          []Step            `json:"steps"`
	Created        time.Time         `json:"created"`
	Updated        time.Time         `json:"updated"`
}

func view(o *Order) View {
	v := View{OrderID: o.ID, Status: o.Status, Classification: o.Classification, Reason: o.Reason, Detail: o.Detail,
		Amount: o.Amount, Currency: o.Currency, ReservationID: o.ReservationID, ChargeID: o.ChargeID, Consumed: o.Consumed, RefundID: o.RefundID,
		Label: o.Label, Flags: o.Flags, CreateReceipt: o.CreateReceipt, RetryReceipts: o.RetryReceipts,
		Receipts: map[string]uint64{ActionCreate: o.CreateReceipt}, Steps: o.Steps, Created: o.Created, Updated: o.Updated}
	for _, st := range o.Steps {
		if st.Receipt != nil {
			v.Receipts[st.Action] = *st.Receipt
		}
	}
	return v
}

// httpStatus is the answer's status for an order's state.
func httpStatus(o *Order, created bool) int {
	switch o.Status {
	case StatusCompleted:
		if created {
			return http.StatusCreated
		}
		return http.StatusOK
	case StatusRefused:
		return http.StatusUnprocessableEntity
	case StatusReservationFailed:
		return http.StatusConflict
	case StatusPaymentFailed:
		return http.StatusPaymentRequired
	case StatusFulfillmentFailed:
		return http.StatusBadGateway
	}
	return http.StatusAccepted // processing, needs_attention
}

func respond(w http.ResponseWriter, o *Order, created bool) {
	v := view(o)
	if o.Status != StatusCompleted && o.Status != StatusProcessing {
		v.Error, v.Message = o.Reason, o.Detail
	}
	jsonapi.WriteJSON(w, httpStatus(o, created), v)
}

// CreateHandler serves order:create (POST /v1/orders).
func (s *Service) CreateHandler() guard.Handler {
	return func(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
		p, err := parseCreate(a.Body, s.cfg.Currency)
		if err != nil {
			jsonapi.Fail(w, jsonapi.Invalid(err))
			return
		}
		ref := Ref(a.Caller, p.OrderID)
		unlock := s.store.lock(ref)
		defer unlock()
		o, err := s.store.Get(ref)
		created := false
		switch {
		case err == nil:
			if o.Digest != p.digest() {
				jsonapi.Refuse(w, http.StatusConflict, ReasonConflict, "this order id was used for a different order")
				return
			}
			o.RetryReceipts = append(o.RetryReceipts, a.Receipt.Index)
			if n := len(o.RetryReceipts); n > maxRetryReceipts {
				o.RetryReceipts = o.RetryReceipts[n-maxRetryReceipts:]
			}
		case errors.Is(err, ErrNotFound):
			o, created = s.newOrder(a, ref, p), true
		default:
			jsonapi.Refuse(w, http.StatusServiceUnavailable, ReasonStoreDown, "the order store is unavailable")
			return
		}
		if err := s.save(&o); err != nil {
			jsonapi.Refuse(w, http.StatusServiceUnavailable, ReasonStoreDown, "the order store is unavailable")
			return
		}
		if !o.terminal() {
			// The downstream steps run to their end even if the client
			// goes away: a half-done order is worse than a late answer.
			if err := s.run(context.WithoutCancel(r.Context()), &o, p.Card); err != nil {
				s.log.Error().Err(err).Str("order", o.Ref).Msg("saving the order failed")
				jsonapi.Refuse(w, http.StatusServiceUnavailable, ReasonStoreDown, "the order store is unavailable; retry the order")
				return
			}
		}
		s.log.Info().Str("order", o.Ref).Str("creator", o.Creator).Str("status", o.Status).
			Str("class", o.Classification).Strs("flags", o.Flags).Bool("retry", !created).Msg("order")
		respond(w, &o, created)
	}
}

// newOrder classifies a new order and refuses it, before anything is
// reserved, if it cannot go ahead: a restricted destination, or no
// contract the agent holds that grants a step the order needs (the
// charge of its amount, the reservation and the label of its quantity).
func (s *Service) newOrder(a *guard.Approval, ref string, p parsed) Order {
	now := s.now().UTC()
	o := Order{ID: p.OrderID, Ref: ref, Creator: a.Caller, Digest: p.digest(), Status: StatusProcessing,
		Customer: p.Customer, Address: p.Address, Items: p.Items, Note: p.Note, Amount: p.Amount, Currency: p.Currency,
		CreateReceipt: a.Receipt.Index, Steps: []Step{}, Created: now}
	o.Classification, o.Digital = s.cfg.classify(p)
	var qty int64 // what inventory:reserve and fulfillment:label will ask for
	for _, it := range p.Items {
		qty += it.Qty
	}
	switch {
	case o.Classification == ClassRestricted:
		o.Status, o.Reason, o.Detail = StatusRefused, ReasonRestricted, "orders to "+o.Address.Country+" are not accepted"
	case !s.covers(s.cfg.PaymentDID, ActionCharge, o.Amount, o.Currency):
		// Checked for every order, and what makes a high_value one go
		// or not: no stock is held for a charge that cannot be made.
		o.Status, o.Reason, o.Detail = StatusRefused, ReasonNoPayment,
			"the order agent holds no payment:charge contract that covers this amount"
	case !s.coversQty(s.cfg.InventoryDID, ActionReserve, qty):
		o.Status, o.Reason, o.Detail = StatusRefused, ReasonNoInventory,
			"the order agent holds no inventory:reserve contract that covers this quantity"
	case !s.grants(s.cfg.InventoryDID, scope.Request{Action: ActionConsume}):
		// Stock reserved and charged but never consumed would return to
		// the shelf at expiry, though it was sold.
		o.Status, o.Reason, o.Detail = StatusRefused, ReasonNoConsume,
			"the order agent holds no inventory:consume contract"
	case !o.Digital && !s.coversQty(s.cfg.FulfillmentDID, ActionLabel, qty):
		// A label refused after the charge leaves the customer charged
		// with nothing shipped: known up front, so refused up front.
		o.Status, o.Reason, o.Detail = StatusRefused, ReasonNoFulfillment,
			"the order agent holds no fulfillment:label contract that covers this quantity"
	}
	return o
}

func (s *Service) save(o *Order) error {
	o.Updated = s.now().UTC()
	return s.store.Put(o)
}

// StatusHandler serves GET /v1/orders/{id}, mounted as order:create. Only
// the order's creator may read it; to anyone else it does not exist.
func (s *Service) StatusHandler() guard.Handler {
	return func(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
		id := r.PathValue("id")
		if !jsonapi.ValidID(id, maxIDLen) {
			jsonapi.Refuse(w, http.StatusNotFound, ReasonNotFound, "no such order")
			return
		}
		o, err := s.store.Get(Ref(a.Caller, id))
		if errors.Is(err, ErrNotFound) || (err == nil && o.Creator != a.Caller) {
			jsonapi.Refuse(w, http.StatusNotFound, ReasonNotFound, "no such order")
			return
		}
		if err != nil {
			jsonapi.Refuse(w, http.StatusServiceUnavailable, ReasonStoreDown, "the order store is unavailable")
			return
		}
		v := view(&o)
		jsonapi.WriteJSON(w, http.StatusOK, v)
	}
}
