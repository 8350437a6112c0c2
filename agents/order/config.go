package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Defaults of Config.
const (
	DefaultHighValueThreshold = 50_000 // minor units: $500.00
	DefaultDigitalSKUPrefix   = "digital-"
	DefaultCurrency           = "USD"
	DefaultReservationTTL     = 15 * time.Minute
	DefaultCallTimeout        = 20 * time.Second
)

// DefaultBlockedCountries are the destinations refused by default (ISO
// 3166-1 alpha-2).
var DefaultBlockedCountries = []string{"KP", "IR", "SY", "CU"}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("15m"); a number is read as seconds.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "15m" or 900.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("duration: want a string such as \"15m\" or a number of seconds")
	}
	if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
		return fmt.Errorf("duration: %d seconds is out of range", n)
	}
	*d = Duration(time.Duration(n) * time.Second)
	return nil
}

// Config configures the order agent. Zero values take the defaults; the
// URLs and DIDs of the three downstream agents are required.
type Config struct {
	// HighValueThreshold: an order above this amount (minor units) is
	// high_value.
	HighValueThreshold int64 `json:"high_value_threshold"`
	// BlockedCountries are refused destinations (nil: the defaults; an
	// empty list blocks none).
	BlockedCountries []string `json:"blocked_countries"`
	// DigitalSKUPrefix marks digital SKUs; an order of digital SKUs only
	// ships no label.
	DigitalSKUPrefix string `json:"digital_sku_prefix"`
	// Currency is an order's currency when the request names none.
	Currency string `json:"currency"`
	// ReservationTTL is how long inventory holds an order's stock.
	ReservationTTL Duration `json:"reservation_ttl"`
	// CallTimeout bounds each downstream call.
	CallTimeout Duration `json:"call_timeout"`
	// ChargeRetry is how long a charge is retried, under the same
	// idempotency key, while the payment agent is unreachable or
	// unavailable (default 10s; 0 in JSON means the default).
	ChargeRetry Duration `json:"charge_retry"`
	// StepRetry is how long every other step (reserve, release, label,
	// notify, refund) is retried while its agent is unreachable or
	// unavailable (default 10s). Each is idempotent at its callee: by the
	// order's ref, the reservation's id, or an idempotency key.
	StepRetry Duration `json:"step_retry"`

	InventoryURL   string `json:"inventory_url"`
	InventoryDID   string `json:"inventory_did"`
	PaymentURL     string `json:"payment_url"`
	PaymentDID     string `json:"payment_did"`
	FulfillmentURL string `json:"fulfillment_url"`
	FulfillmentDID string `json:"fulfillment_did"`

	// Now is the clock (default time.Now); Logger the log (default none).
	Now    func() time.Time `json:"-"`
	Logger *zerolog.Logger  `json:"-"`
}

// ParseConfig reads a JSON configuration strictly (no unknown fields) and
// applies the defaults.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("order config: %w", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return Config{}, errors.New("order config: data after the JSON object")
	}
	c.Defaults()
	return c, c.Validate()
}

// LoadConfig reads a JSON configuration file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(data)
}

// Defaults fills in the zero values.
func (c *Config) Defaults() {
	if c.HighValueThreshold <= 0 {
		c.HighValueThreshold = DefaultHighValueThreshold
	}
	if c.BlockedCountries == nil {
		c.BlockedCountries = append([]string(nil), DefaultBlockedCountries...)
	}
	for i, cc := range c.BlockedCountries {
		c.BlockedCountries[i] = strings.ToUpper(strings.TrimSpace(cc))
	}
	if c.DigitalSKUPrefix == "" {
		c.DigitalSKUPrefix = DefaultDigitalSKUPrefix
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if c.ReservationTTL <= 0 {
		c.ReservationTTL = Duration(DefaultReservationTTL)
	}
	if c.ChargeRetry <= 0 {
		c.ChargeRetry = Duration(10 * time.Second)
	}
	if c.StepRetry <= 0 {
		c.StepRetry = Duration(10 * time.Second)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		l := zerolog.Nop()
		c.Logger = &l
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = Duration(DefaultCallTimeout)
	}
}

// Validate checks a configuration after Defaults.
func (c *Config) Validate() error {
	if _, ok := scope.Exponent(c.Currency); !ok {
		return fmt.Errorf("order config: currency %q is not a known ISO 4217 code", c.Currency)
	}
	if c.ReservationTTL < Duration(time.Second) || c.ReservationTTL > Duration(24*time.Hour) {
		return errors.New("order config: reservation_ttl must be 1s to 24h")
	}
	for _, cc := range c.BlockedCountries {
		if !customer.ValidCountry(cc) {
			return fmt.Errorf("order config: blocked country %q is not an ISO 3166-1 alpha-2 code", cc)
		}
	}
	for name, v := range map[string]string{"inventory_url": c.InventoryURL, "inventory_did": c.InventoryDID,
		"payment_url": c.PaymentURL, "payment_did": c.PaymentDID,
		"fulfillment_url": c.FulfillmentURL, "fulfillment_did": c.FulfillmentDID} {
		if v == "" {
			return fmt.Errorf("order config: %s is required", name)
		}
	}
	return nil
}

func (c *Config) blocked(country string) bool {
	for _, b := range c.BlockedCountries {
		if b == country {
			return true
		}
	}
	return false
}
