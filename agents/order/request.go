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
	"unicode/utf8"

	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Bounds on a create request.
const (
	MaxRequestBytes = jsonapi.MaxRequestBytes
	MaxItems        = 100
	MaxQty          = 1_000_000
	MaxUnitPrice    = 1_000_000_000_00 // minor units
	maxIDLen        = 64
	maxSKULen       = 64
	maxNameLen      = 100
	maxEmailLen     = 254
	maxLineLen      = 200
	maxAddressLines = 4
	maxNoteLen      = 1000
)

// Customer is who ordered.
type Customer struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Email string `json:"email"`
}

// Address is where the order goes.
type Address struct {
	Lines      []string `json:"lines"`
	City       string   `json:"city"`
	PostalCode string   `json:"postal_code"`
	Country    string   `json:"country"`
}

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
	if !validText(r.Customer.First, maxNameLen, true) || !validText(r.Customer.Last, maxNameLen, false) {
		return parsed{}, errors.New("customer: first (required) and last of at most 100 characters, no control characters")
	}
	if r.Customer.Email != "" && (!validText(r.Customer.Email, maxEmailLen, true) || !strings.Contains(r.Customer.Email, "@")) {
		return parsed{}, errors.New("customer.email: not an e-mail address")
	}
	r.Address.Country = strings.ToUpper(r.Address.Country)
	if !validCountry(r.Address.Country) {
		return parsed{}, errors.New("address.country: an ISO 3166-1 alpha-2 code")
	}
	if len(r.Address.Lines) > maxAddressLines {
		return parsed{}, fmt.Errorf("address.lines: at most %d", maxAddressLines)
	}
	for _, l := range r.Address.Lines {
		if !validText(l, maxLineLen, true) {
			return parsed{}, errors.New("address.lines: 1 to 200 characters each, no control characters")
		}
	}
	if !validText(r.Address.City, maxLineLen, false) || !validText(r.Address.PostalCode, 32, false) {
		return parsed{}, errors.New("address: city or postal_code too long or has control characters")
	}
	if r.Currency == "" {
		r.Currency = defCurrency
	}
	if _, ok := scope.Exponent(r.Currency); !ok {
		return parsed{}, fmt.Errorf("currency: %q is not a known upper-case ISO 4217 code", r.Currency)
	}
	if len(r.Card) < 12 || len(r.Card) > 19 || !digits(r.Card) {
		return parsed{}, errors.New("card: 12 to 19 digits")
	}
	if !validText(r.Note, maxNoteLen, false) {
		return parsed{}, errors.New("note: at most 1000 characters, no control characters")
	}
	if len(r.Items) == 0 || len(r.Items) > MaxItems {
		return parsed{}, fmt.Errorf("items: 1 to %d", MaxItems)
	}
	seen := make(map[string]bool, len(r.Items))
	var total int64
	for _, it := range r.Items {
		if !jsonapi.ValidID(it.SKU, maxSKULen) {
			return parsed{}, errors.New("items: sku of 1 to 64 characters of [A-Za-z0-9._-]")
		}
		if seen[it.SKU] {
			return parsed{}, fmt.Errorf("items: sku %s named twice", it.SKU)
		}
		seen[it.SKU] = true
		if it.Qty <= 0 || it.Qty > MaxQty {
			return parsed{}, fmt.Errorf("items: qty of %s not in 1..%d", it.SKU, MaxQty)
		}
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

// validText reports whether s is valid UTF-8 of at most n runes with no
// control characters, and not empty if required.
func validText(s string, n int, required bool) bool {
	if s == "" {
		return !required
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > n {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
