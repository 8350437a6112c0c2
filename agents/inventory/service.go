package inventory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// The actions (scope names) the inventory agent serves.
const (
	ActionCheck   = "inventory:check"
	ActionReserve = "inventory:reserve"
	ActionRelease = "inventory:release"
	ActionRestock = "inventory:restock"
	ActionConsume = "inventory:consume"
)

// Refusal reasons of the inventory agent's handlers, besides jsonapi's
// bad_request and request_too_large.
const (
	ReasonInsufficientStock  = "insufficient_stock"
	ReasonOrderConflict      = "order_conflict"
	ReasonQuantityOverflow   = "quantity_overflow"
	ReasonUnknownSKU         = "unknown_sku"
	ReasonReservationUnknown = "reservation_unknown"
	// ReasonReservationNotActive: a consume of a reservation that expired
	// or was released; its stock may be another's by then.
	ReasonReservationNotActive = "reservation_not_active"
	ReasonStoreUnavailable     = "store_unavailable"
)

// Config configures a Service. Zero values take the defaults.
type Config struct {
	// Seed is the initial on-hand stock of SKUs the store does not hold
	// yet (a reopened store keeps its state).
	Seed map[string]int64
	// LowStockThreshold: a consumption that leaves a SKU with fewer on
	// hand than this triggers a restock (default 5). Stock that is only
	// reserved never does.
	LowStockThreshold int64
	// RestockAmount is what a low-stock restock adds (default 50).
	RestockAmount int64
	// DisableRestock turns the low-stock restock off.
	DisableRestock bool
	// Grants finds the standing grant (a contract whose subject and
	// audience are this agent) that covers a low-stock restock; without
	// one, no low-stock restock is made. It is the agent's own
	// caller.Client.
	Grants Picker
	// DefaultTTL is a reservation's lifetime when the request gives none
	// (default 15 minutes); MaxTTL bounds ttl_seconds (default 24 hours).
	DefaultTTL time.Duration
	MaxTTL     time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default: none).
	Logger *zerolog.Logger
}

func (c *Config) defaults() {
	if c.LowStockThreshold <= 0 {
		c.LowStockThreshold = 5
	}
	if c.RestockAmount <= 0 {
		c.RestockAmount = 50
	}
	if c.DefaultTTL <= 0 {
		c.DefaultTTL = 15 * time.Minute
	}
	if c.MaxTTL <= 0 {
		c.MaxTTL = 24 * time.Hour
	}
	if c.DefaultTTL > c.MaxTTL {
		c.DefaultTTL = c.MaxTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		l := zerolog.Nop()
		c.Logger = &l
	}
}

// A Picker picks the contract an agent holds for an action at a callee,
// and knows the agent's own did:key.
type Picker interface {
	Pick(callee, action string) (caller.Contract, error)
	DID() string
}

// Service is the inventory agent's handlers, to mount behind guard.Guard.
type Service struct {
	store *Store
	rec   guard.Recorder
	cfg   Config

	mu       sync.Mutex
	inflight map[string]bool // SKUs with a low-stock restock under way
}

// NewService returns the service over the agent's Badger store, seeding
// it. rec records the agent's low-stock restocks (the agent's
// receipt.Writer); it may be nil only with DisableRestock.
func NewService(db *badger.DB, rec guard.Recorder, cfg Config) (*Service, error) {
	cfg.defaults()
	if rec == nil && !cfg.DisableRestock {
		return nil, errors.New("inventory: a Recorder is required for low-stock restocks")
	}
	s := &Service{store: NewStore(db), rec: rec, cfg: cfg, inflight: map[string]bool{}}
	if err := s.store.Seed(cfg.Seed); err != nil {
		return nil, err
	}
	return s, nil
}

// Store is the service's store.
func (s *Service) Store() *Store { return s.store }

// Mount serves the five actions on mux through g:
// POST /v1/inventory/{check,reserve,consume,release,restock}.
func (s *Service) Mount(mux *http.ServeMux, g *guard.Guard) {
	mux.Handle("POST /v1/inventory/consume", g.Protect(ActionConsume, ReleaseValues, s.Consume))
	mux.Handle("POST /v1/inventory/check", g.Protect(ActionCheck, CheckValues, s.Check))
	mux.Handle("POST /v1/inventory/reserve", g.Protect(ActionReserve, ReserveValues, s.Reserve))
	mux.Handle("POST /v1/inventory/release", g.Protect(ActionRelease, ReleaseValues, s.Release))
	mux.Handle("POST /v1/inventory/restock", g.Protect(ActionRestock, RestockValues, s.Restock))
}

// StockResponse answers check and restock.
type StockResponse struct {
	SKU       string `json:"sku"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

func stockResponse(st Stock) StockResponse {
	return StockResponse{SKU: st.SKU, OnHand: st.OnHand, Reserved: st.Reserved, Available: st.Available()}
}

// ReserveResponse answers reserve.
type ReserveResponse struct {
	ReservationID string    `json:"reservation_id"`
	OrderID       string    `json:"order_id"`
	Lines         []Line    `json:"lines"`
	Expires       time.Time `json:"expires"`
	Status        Status    `json:"status"`
}

// ConsumeResponse answers consume.
type ConsumeResponse struct {
	ReservationID string           `json:"reservation_id"`
	Status        Status           `json:"status"`
	Restocks      []RestockOutcome `json:"restocks,omitempty"`
}

// RestockOutcome reports a low-stock restock a reservation triggered.
type RestockOutcome struct {
	SKU          string `json:"sku"`
	Qty          int64  `json:"qty"`
	ReceiptIndex uint64 `json:"receipt_index,omitempty"`
	Done         bool   `json:"done"`
	Error        string `json:"error,omitempty"`
}

// ReleaseResponse answers release.
type ReleaseResponse struct {
	ReservationID string `json:"reservation_id"`
	Status        Status `json:"status"`
}

// Check serves inventory:check.
func (s *Service) Check(w http.ResponseWriter, _ *http.Request, a *guard.Approval) {
	req, err := parseCheck(a.Body)
	if err != nil {
		s.fail(w, jsonapi.Invalid(err))
		return
	}
	st, err := s.store.Stock(req.SKU)
	if err != nil {
		s.fail(w, err)
		return
	}
	jsonapi.WriteJSON(w, http.StatusOK, stockResponse(st))
}

// Reserve serves inventory:reserve, then restocks SKUs it left low.
func (s *Service) Reserve(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
	req, _, err := parseReserve(a.Body, int64(s.cfg.MaxTTL/time.Second))
	if err != nil {
		s.fail(w, jsonapi.Invalid(err))
		return
	}
	ttl := s.cfg.DefaultTTL
	if req.TTLSeconds > 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	now := s.cfg.Now()
	res, _, err := s.store.Reserve(a.Caller, req.OrderID, req.Lines, now, now.Add(ttl))
	if err != nil {
		s.fail(w, err)
		return
	}
	jsonapi.WriteJSON(w, http.StatusOK, ReserveResponse{ReservationID: res.ID, OrderID: res.OrderID, Lines: res.Lines, Expires: res.Expires, Status: res.Status})
}

// Consume serves inventory:consume: the caller's order was paid for and
// its reserved goods leave, then SKUs left low on hand are restocked. A
// caller consumes only its own reservations; an expired or released one
// is refused (reservation_not_active). Consumed goods never come back by
// a release.
func (s *Service) Consume(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
	req, err := parseRelease(a.Body)
	if err != nil {
		s.fail(w, jsonapi.Invalid(err))
		return
	}
	res, consumed, err := s.store.Consume(a.Caller, req.ReservationID, s.cfg.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	out := ConsumeResponse{ReservationID: res.ID, Status: res.Status}
	if consumed && !s.cfg.DisableRestock {
		// The goods are gone; a restock that fails does not undo that.
		ctx := context.WithoutCancel(r.Context())
		for _, l := range res.Lines {
			if o, ok := s.lowStock(ctx, a, l.SKU); ok {
				out.Restocks = append(out.Restocks, o)
			}
		}
	}
	jsonapi.WriteJSON(w, http.StatusOK, out)
}

// Release serves inventory:release. A caller releases only its own
// reservations; another's is unknown to it.
func (s *Service) Release(w http.ResponseWriter, _ *http.Request, a *guard.Approval) {
	req, err := parseRelease(a.Body)
	if err != nil {
		s.fail(w, jsonapi.Invalid(err))
		return
	}
	res, err := s.store.Release(a.Caller, req.ReservationID)
	if err != nil {
		s.fail(w, err)
		return
	}
	jsonapi.WriteJSON(w, http.StatusOK, ReleaseResponse{ReservationID: res.ID, Status: res.Status})
}

// Restock serves inventory:restock, asked for by a caller whose contract
// grants it (the guard has recorded that approval).
func (s *Service) Restock(w http.ResponseWriter, _ *http.Request, a *guard.Approval) {
	req, err := parseRestock(a.Body)
	if err != nil {
		s.fail(w, jsonapi.Invalid(err))
		return
	}
	st, err := s.store.Restock(req.SKU, req.Qty)
	if err != nil {
		s.fail(w, err)
		return
	}
	jsonapi.WriteJSON(w, http.StatusOK, stockResponse(st))
}

// RestockArgs is the body a low-stock restock's args_digest is the
// SHA-256 of (compact JSON in this field order): the SKU, the amount, and
// the receipt of the consumption that triggered it, so an auditor can tie
// the restock entry to the consume entry it followed.
type RestockArgs struct {
	SKU     string             `json:"sku"`
	Qty     int64              `json:"qty"`
	Trigger RestockTriggerJSON `json:"trigger"`
}

// RestockTriggerJSON names the triggering consume's action entry.
type RestockTriggerJSON struct {
	Index    uint64 `json:"index"`
	LeafHash string `json:"leaf_hash"`
}

// lowStock restocks sku if its on-hand stock is under the threshold.
// It reports false when nothing was attempted.
//
// Design: the restock is the agent's own action, taken under a standing
// grant (a contract whose subject and audience are this agent, granting
// inventory:restock with a max_qty at least the restock amount), and
// written ahead to the ledger like any approval: an action entry
// "inventory:restock" whose caller is the agent itself, with quantity =
// the restock amount and an args_digest that binds it to the consume's
// receipt (RestockArgs). Without such a grant no restock is made. The
// stock changes only after Record returns; if Record fails nothing
// changes and the next consumption that finds the SKU low tries again.
// At most one restock per SKU is under way at once, so concurrent
// consumptions do not restock twice.
func (s *Service) lowStock(ctx context.Context, a *guard.Approval, sku string) (RestockOutcome, bool) {
	s.mu.Lock()
	if s.inflight[sku] {
		s.mu.Unlock()
		return RestockOutcome{}, false
	}
	s.inflight[sku] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, sku)
		s.mu.Unlock()
	}()
	st, err := s.store.Stock(sku)
	if err != nil || st.OnHand >= s.cfg.LowStockThreshold {
		return RestockOutcome{}, false
	}
	out := RestockOutcome{SKU: sku, Qty: s.cfg.RestockAmount}
	act, err := s.restockAction(a, sku)
	if err != nil {
		out.Error = ReasonRestockUnrecordable
		s.cfg.Logger.Warn().Err(err).Str("sku", sku).Msg("low-stock restock not made")
		return out, true
	}
	rec, err := s.rec.Record(ctx, act)
	if err != nil {
		out.Error = "ledger_unavailable"
		s.cfg.Logger.Warn().Err(err).Str("sku", sku).Msg("low-stock restock not recorded; not restocked")
		return out, true
	}
	out.ReceiptIndex = rec.Index
	if _, err := s.store.Restock(sku, s.cfg.RestockAmount); err != nil {
		// Recorded but not done: the ledger shows an approval, not a deed.
		out.Error = "store_unavailable"
		s.cfg.Logger.Error().Err(err).Str("sku", sku).Uint64("receipt", rec.Index).Msg("low-stock restock recorded but failed")
		return out, true
	}
	out.Done = true
	s.cfg.Logger.Info().Str("sku", sku).Int64("qty", s.cfg.RestockAmount).Uint64("receipt", rec.Index).Msg("low-stock restock")
	return out, true
}

// restockAction is the action entry of a low-stock restock of sku, under
// the agent's standing grant, triggered by the approval a.
func (s *Service) restockAction(a *guard.Approval, sku string) (statement.Action, error) {
	qty := s.cfg.RestockAmount
	if s.cfg.Grants == nil {
		return statement.Action{}, errors.New("no standing grant is configured")
	}
	self := s.cfg.Grants.DID()
	k, err := s.cfg.Grants.Pick(self, ActionRestock)
	if err != nil {
		return statement.Action{}, fmt.Errorf("no standing grant: %w", err)
	}
	if d := scope.Grants(k.Statement.Scopes, scope.Request{Action: ActionRestock, Quantity: qty, HasQuantity: true}); !d.Allowed {
		return statement.Action{}, fmt.Errorf("the standing grant %s does not cover a restock of %d: %s", k.Statement.ID, qty, d.Detail)
	}
	args, err := json.Marshal(RestockArgs{SKU: sku, Qty: qty,
		Trigger: RestockTriggerJSON{Index: a.Receipt.Index, LeafHash: a.Receipt.LeafHash.String()}})
	if err != nil {
		return statement.Action{}, err
	}
	digest := sha256.Sum256(args)
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return statement.Action{}, err
	}
	return statement.Action{
		Caller:     self,
		Contract:   k.Ref,
		Action:     ActionRestock,
		ArgsDigest: statement.ArgsDigestPrefix + hex.EncodeToString(digest[:]),
		Quantity:   &qty,
		Nonce:      base64.RawURLEncoding.EncodeToString(n[:]),
		Time:       s.cfg.Now().UTC(),
	}, nil
}

// ExpireDue expires the reservations due at now.
func (s *Service) ExpireDue(now time.Time) (int, error) { return s.store.ExpireDue(now) }

// Run expires due reservations every interval until ctx ends, and
// returns ctx's error.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			n, err := s.ExpireDue(s.cfg.Now())
			if err != nil {
				s.cfg.Logger.Warn().Err(err).Msg("expiring reservations failed")
			} else if n > 0 {
				s.cfg.Logger.Info().Int("expired", n).Msg("reservations expired")
			}
		}
	}
}

// fail answers err as a JSON refusal {"error","message"}: a request
// error as jsonapi says, a stock or reservation error with its reason,
// anything else as the store failing.
func (s *Service) fail(w http.ResponseWriter, err error) {
	if jsonapi.Fail(w, err) {
		return
	}
	var status int
	var reason string
	switch {
	case errors.Is(err, ErrInsufficientStock):
		status, reason = http.StatusConflict, ReasonInsufficientStock
	case errors.Is(err, ErrOrderConflict):
		status, reason = http.StatusConflict, ReasonOrderConflict
	case errors.Is(err, ErrOverflow):
		status, reason = http.StatusConflict, ReasonQuantityOverflow
	case errors.Is(err, ErrUnknownSKU):
		status, reason = http.StatusNotFound, ReasonUnknownSKU
	case errors.Is(err, ErrUnknownReserve):
		status, reason = http.StatusNotFound, ReasonReservationUnknown
	case errors.Is(err, ErrNotActive):
		status, reason = http.StatusConflict, ReasonReservationNotActive
	default:
		status, reason = http.StatusServiceUnavailable, ReasonStoreUnavailable
		s.cfg.Logger.Error().Err(err).Msg("inventory store")
		err = errors.New("the inventory store failed; nothing was changed")
	}
	jsonapi.Refuse(w, status, reason, err.Error())
}

// ReasonRestockUnrecordable: a restock was needed but could not be
// recorded in the ledger, so it was not made.
const ReasonRestockUnrecordable = "restock_unrecordable"
