package order

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Bounds on a create request. The customer's data (name, e-mail,
// address, note, card and the items' SKUs and quantities) follows
// agents/customer: the rules the inventory, payment and fulfillment
// agents apply to the same fields, checked here before anything is
// reserved, so no later step refuses an order for them.
const (
	MaxRequestBytes = jsonapi.MaxRequestBytes
	MaxItems        = customer.MaxItems
	MaxQty          = customer.MaxQty
	MaxUnitPrice    = 1_000_000_000_00 // minor units
	maxIDLen        = 64
)

// Customer is who ordered.
type Customer struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Email string `json:"email"`
}

// Address is where the order goes.
type Address = customer.Address

// Item is one line of an order.
type Item struct {
	SKU       string `json:"sku"`
	Qty       int64  `json:"qty"`
	UnitPrice int64  `json:"unit_price"` // minor units
}

// CreateRequest is the body of POST /v1/orders.
type CreateRequest struct {
	OrderID  string   `json:"order_id"`
	Customer Customer `json:"customer"`
	Address  Address  `json:"address"`
	Items    []Item   `json:"items"`
	Currency string   `json:"currency"`
	Card     string   `json:"card"`
	Note     string   `json:"note"`
}

// parsed is a checked create request with its total.
type parsed struct {
	CreateRequest
	Amount int64
}

// parseCreate reads a create request strictly and checks it. An empty
// currency becomes defCurrency.
func parseCreate(body []byte, defCurrency string) (parsed, error) {
	var r CreateRequest
	if err := jsonapi.Decode(body, MaxRequestBytes, &r); err != nil {
		return parsed{}, err
	}
	if !jsonapi.ValidID(r.OrderID, maxIDLen) {
		return parsed{}, errors.New("order_id: 1 to 64 characters of [A-Za-z0-9._-]")
	}
	if err := (customer.Name{First: r.Customer.First, Last: r.Customer.Last}).Check(); err != nil {
		return parsed{}, fmt.Errorf("customer.%w", err)
	}
	if err := customer.CheckEmail(r.Customer.Email); err != nil {
		return parsed{}, fmt.Errorf("customer.email: %w", err)
	}
	r.Address.Country = strings.ToUpper(r.Address.Country)
	if err := r.Address.Check(); err != nil {
		return parsed{}, fmt.Errorf("address.%w", err)
	}
	if r.Currency == "" {
		r.Currency = defCurrency
	}
	if _, ok := scope.Exponent(r.Currency); !ok {
		return parsed{}, fmt.Errorf("currency: %q is not a known upper-case ISO 4217 code", r.Currency)
	}
	if err := customer.CheckCard(r.Card); err != nil {
		return parsed{}, fmt.Errorf("card: %w", err)
	}
	if err := customer.CheckNote(r.Note); err != nil {
		return parsed{}, fmt.Errorf("note: %w", err)
	}
	if _, err := customer.CheckLines(r.Items, MaxQty, func(it Item) (string, int64) { return it.SKU, it.Qty }); err != nil {
		return parsed{}, fmt.Errorf("items: %w", err)
	}
	var total int64
	for _, it := range r.Items {
		if it.UnitPrice < 0 || it.UnitPrice > MaxUnitPrice {
			return parsed{}, fmt.Errorf("items: unit_price of %s not in 0..%d", it.SKU, int64(MaxUnitPrice))
		}
		// qty*price <= 1e6*1e11 = 1e17, and 100 of those fit in int64
		// only while the sum stays checked.
		line := it.Qty * it.UnitPrice
		if total > math.MaxInt64-line {
			return parsed{}, errors.New("items: total overflows")
		}
		total += line
	}
	if total <= 0 {
		return parsed{}, errors.New("items: the total must be positive")
	}
	return parsed{CreateRequest: r, Amount: total}, nil
}

// digest identifies what an order asks for, the card excepted (it is
// never stored, not even hashed): a retry under the same order id must
// ask for the same thing.
func (p parsed) digest() string {
	c := p.CreateRequest
	c.Card = ""
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CreateValues is the guard.Values of order:create: the order's total and
// currency, so an order:create:max_<amount><currency> scope bounds what a
// caller may order. A body that does not parse is refused (400) before
// any approval.
func (s *Service) CreateValues(_ *http.Request, body []byte) (scope.Request, error) {
	p, err := parseCreate(body, s.cfg.Currency)
	if err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Amount: p.Amount, Currency: p.Currency, HasAmount: true}, nil
}

// Classifications.
const (
	ClassRestricted = "restricted"
	ClassHighValue  = "high_value"
	ClassDigital    = "digital"
	ClassStandard   = "standard"
)

// classify returns the order's class and whether it ships nothing. The
// first that applies wins: restricted, high_value, digital, standard; a
// high-value order of digital SKUs only is still digital in its routing.
func (c *Config) classify(p parsed) (class string, digital bool) {
	digital = true
	for _, it := range p.Items {
		if !strings.HasPrefix(it.SKU, c.DigitalSKUPrefix) {
			digital = false
		}
	}
	switch {
	case c.blocked(p.Address.Country):
		return ClassRestricted, digital
	case p.Amount > c.HighValueThreshold:
		return ClassHighValue, digital
	case digital:
		return ClassDigital, digital
	}
	return ClassStandard, digital
}
