package fulfillment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
)

// The actions (scope names) the fulfillment agent serves.
const (
	ActionLabel  = "fulfillment:label"
	ActionNotify = "fulfillment:notify"
)

// Refusal reasons of the fulfillment agent's handlers, besides jsonapi's
// bad_request and request_too_large.
const (
	ReasonOrderConflict       = "order_conflict"
	ReasonNotifierUnavailable = "notifier_unavailable"
	ReasonStoreUnavailable    = "store_unavailable"
)

// Carrier is the simulated carrier that issues labels.
const Carrier = "SIMPOST"

// Config configures a Service. Zero values take the defaults.
type Config struct {
	// Notifier writes customer messages (default Template). Any notifier
	// other than Template or a *FallbackNotifier is wrapped in
	// Fallback(notifier, Template{}), so a failing model never fails a
	// notification.
	Notifier Notifier
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default: none).
	Logger *zerolog.Logger
}

// composer is a Notifier that says who wrote the text.
type composer interface {
	Compose(ctx context.Context, in MessageInput) (Composed, error)
}

// Service is the fulfillment agent's handlers, to mount behind
// guard.Guard. By construction it holds its store, its notifier and its
// configuration, and nothing that can call another agent.
type Service struct {
	store  *Store
	notify composer
	cfg    Config
}

// NewService returns the service over the agent's Badger store.
func NewService(db *badger.DB, cfg Config) (*Service, error) {
	if db == nil {
		return nil, errors.New("fulfillment: a Badger store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		l := zerolog.Nop()
		cfg.Logger = &l
	}
	var c composer
	switch n := cfg.Notifier.(type) {
	case nil:
		c = Template{}
	case Template:
		c = n
	case *FallbackNotifier:
		c = n
	default:
		c = Fallback(n, Template{})
	}
	return &Service{store: NewStore(db), notify: c, cfg: cfg}, nil
}

// Store is the service's store.
func (s *Service) Store() *Store { return s.store }

// Mount serves the two actions on mux through g:
// POST /v1/fulfillment/{label,notify}.
func (s *Service) Mount(mux *http.ServeMux, g *guard.Guard) {
	mux.Handle("POST /v1/fulfillment/label", g.Protect(ActionLabel, LabelValues, s.Label))
	mux.Handle("POST /v1/fulfillment/notify", g.Protect(ActionNotify, NotifyValues, s.Notify))
}

// LabelResponse answers label.
type LabelResponse struct {
	OrderID        string `json:"order_id"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	ReceiptIndex   uint64 `json:"receipt_index"`
}

// NotifyResponse answers notify.
type NotifyResponse struct {
	ID           string `json:"id"`
	OrderID      string `json:"order_id"`
	To           string `json:"to"`
	Text         string `json:"text"`
	Source       Source `json:"source"`
	ReceiptIndex uint64 `json:"receipt_index"`
}

// TrackingNumber is the simulated carrier's tracking number of an order:
// deterministic, so a retry gets the same one.
func TrackingNumber(orderID string) string {
	h := sha256.Sum256([]byte("agentledger/fulfillment/tracking\x00" + orderID))
	return "SP" + strings.ToUpper(hex.EncodeToString(h[:8]))
}

func digest(v any) string {
	b, _ := json.Marshal(v) // plain structs: cannot fail
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Label serves fulfillment:label: a label from the simulated carrier,
// once per order id.
func (s *Service) Label(w http.ResponseWriter, _ *http.Request, a *guard.Approval) {
	req, _, err := parseLabel(a.Body)
	if err != nil {
		s.fail(w, jsonapi.Invalid(err))
		return
	}
	id, err := newID()
	if err != nil {
		s.fail(w, err)
		return
	}
	l := Label{ID: id, OrderID: req.OrderID, Carrier: Carrier, TrackingNumber: TrackingNumber(req.OrderID),
		Name: req.Name, Address: req.Address, Items: req.Items, Created: s.cfg.Now().UTC(),
		ReceiptIndex: a.Receipt.Index, Digest: digest(req)}
	l, created, err := s.store.PutLabel(l)
	if err != nil {
		s.fail(w, err)
		return
	}
	if created {
		s.cfg.Logger.Info().Str("order", l.OrderID).Str("tracking", l.TrackingNumber).Uint64("receipt", l.ReceiptIndex).Msg("label created")
	}
	jsonapi.WriteJSON(w, http.StatusOK, LabelResponse{OrderID: l.OrderID, Carrier: l.Carrier, TrackingNumber: l.TrackingNumber, ReceiptIndex: l.ReceiptIndex})
}

// Notify serves fulfillment:notify: the customer's message, written by
// the notifier from the minimum input, into the outbox once per order id.
func (s *Service) Notify(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
	req, _, err := parseNotify(a.Body)
	if err != nil {
		s.fail(w, jsonapi.Invalid(err))
		return
	}
	d := digest(req)
	// A retry does not ask the model again.
	if m, err := s.store.Message(req.OrderID); err == nil {
		if m.Digest != d {
			s.fail(w, ErrOrderConflict)
			return
		}
		jsonapi.WriteJSON(w, http.StatusOK, notifyResponse(m))
		return
	} else if !errors.Is(err, ErrNotFound) {
		s.fail(w, err)
		return
	}
	in := MessageInput{FirstName: req.FirstName, Items: req.Items, Carrier: req.Carrier,
		TrackingNumber: req.TrackingNumber, Note: req.Note}
	c, err := s.notify.Compose(r.Context(), in)
	if err != nil {
		s.cfg.Logger.Error().Err(err).Str("order", req.OrderID).Msg("no customer message could be written")
		jsonapi.Refuse(w, http.StatusServiceUnavailable, ReasonNotifierUnavailable,
			"no customer message could be written; nothing was stored")
		return
	}
	if c.Cause != nil {
		s.cfg.Logger.Warn().Err(c.Cause).Str("order", req.OrderID).Msg("model failed; template used")
	}
	id, err := newID()
	if err != nil {
		s.fail(w, err)
		return
	}
	m := Message{ID: id, OrderID: req.OrderID, To: req.FirstName, Text: c.Text, Source: c.Source,
		Created: s.cfg.Now().UTC(), ReceiptIndex: a.Receipt.Index, Digest: d}
	m, _, err = s.store.PutMessage(m)
	if err != nil {
		s.fail(w, err)
		return
	}
	jsonapi.WriteJSON(w, http.StatusOK, notifyResponse(m))
}

func notifyResponse(m Message) NotifyResponse {
	return NotifyResponse{ID: m.ID, OrderID: m.OrderID, To: m.To, Text: m.Text, Source: m.Source, ReceiptIndex: m.ReceiptIndex}
}

// fail answers err as a JSON refusal {"error","message"}: a request
// error as jsonapi says, a conflict as such, anything else as the store
// failing.
func (s *Service) fail(w http.ResponseWriter, err error) {
	if jsonapi.Fail(w, err) {
		return
	}
	if errors.Is(err, ErrOrderConflict) {
		jsonapi.Refuse(w, http.StatusConflict, ReasonOrderConflict, err.Error())
		return
	}
	s.cfg.Logger.Error().Err(err).Msg("fulfillment store")
	jsonapi.Refuse(w, http.StatusServiceUnavailable, ReasonStoreUnavailable, "the fulfillment store failed; nothing was changed")
}
