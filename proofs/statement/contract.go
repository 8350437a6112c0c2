package statement

import (
	"fmt"
	"time"

	"github.com/agentledger/agentledger/proofs/scope"
)

const kindContract = "contract"

// Contract grants a caller (Subject) scopes at a callee (Audience) for a
// limited time. The authority signs it.
//
//   - id: 128 random bits as 32 lower-case hex digits (see NewContractID);
//   - issuer, subject, audience: did:keys; a subject equal to the audience
//     is a standing grant (see Standing), whose scopes may name only
//     OwnInitiative actions;
//   - scopes: 1 to scope.MaxScopes distinct scopes, each of which parses
//     (scope.ValidateAll);
//   - not_before, expires: expires after not_before, by at most MaxTTL;
//   - time: when it was issued.
type Contract struct {
	ID        string
	Issuer    string
	Subject   string
	Audience  string
	Scopes    []string
	NotBefore time.Time
	Expires   time.Time
	Time      time.Time
}

// Standing reports whether c is a standing grant: its subject is its
// audience, so it grants that agent actions it takes on its own
// initiative (such as the inventory agent's low-stock restock), each
// recorded as an action whose caller is the agent itself.
func (c *Contract) Standing() bool { return c.Subject == c.Audience }

// OwnInitiative reports whether a standing grant may grant action: only
// actions an agent may take on its own initiative, today the inventory
// agent's low-stock restock. A standing grant of anything else would let
// one agent approve, and record, calls nobody made (a payment agent
// charging for itself), so it is not a valid contract.
func OwnInitiative(action string) bool { return action == "inventory:restock" }

type contractJSON struct {
	V         int      `json:"v"`
	ID        string   `json:"id"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audience  string   `json:"audience"`
	Scopes    []string `json:"scopes"`
	NotBefore string   `json:"not_before"`
	Expires   string   `json:"expires"`
	Time      string   `json:"time"`
}

func contractFields() []string {
	return []string{"v", "id", "issuer", "subject", "audience", "scopes", "not_before", "expires", "time"}
}

// ParseContract parses a contract statement. Errors wrap ErrInvalid.
func ParseContract(b []byte) (*Contract, error) {
	o, err := decodeStatement(kindContract, b, contractFields(), nil)
	if err != nil {
		return nil, err
	}
	c := &Contract{
		ID:        o.str("id"),
		Issuer:    o.str("issuer"),
		Subject:   o.str("subject"),
		Audience:  o.str("audience"),
		Scopes:    o.strs("scopes"),
		NotBefore: o.time("not_before"),
		Expires:   o.time("expires"),
		Time:      o.time("time"),
	}
	if o.err != nil {
		return nil, o.err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Marshal checks c and writes its canonical JSON. Errors wrap ErrInvalid.
func (c *Contract) Marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return marshal(kindContract, contractJSON{
		V: 1, ID: c.ID, Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
		Scopes:    c.Scopes,
		NotBefore: formatTime(c.NotBefore), Expires: formatTime(c.Expires), Time: formatTime(c.Time),
	})
}

func (c *Contract) validate() error {
	if !isLowerHex(c.ID, 32) {
		return invalid(kindContract, "id", "%s is not 32 lower-case hex digits", quote(c.ID))
	}
	for _, f := range []struct{ name, did string }{
		{"issuer", c.Issuer}, {"subject", c.Subject}, {"audience", c.Audience},
	} {
		if err := checkDID(kindContract, f.name, f.did); err != nil {
			return err
		}
	}
	if err := scope.ValidateAll(c.Scopes); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, kindContract, err)
	}
	if c.Standing() {
		for i, sc := range c.Scopes {
			if p, err := scope.Parse(sc); err == nil && !OwnInitiative(p.Name()) {
				return invalid(kindContract, fmt.Sprintf("scopes[%d]", i), "a standing grant (subject is audience) may grant only actions an agent takes on its own initiative (inventory:restock), not %s", p.Name())
			}
		}
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{
		{"not_before", c.NotBefore}, {"expires", c.Expires}, {"time", c.Time},
	} {
		if err := checkTime(kindContract, f.name, f.t); err != nil {
			return err
		}
	}
	if !c.Expires.After(c.NotBefore) {
		return invalid(kindContract, "expires", "not after not_before")
	}
	if ttl := c.Expires.Sub(c.NotBefore); ttl > MaxTTL {
		return invalid(kindContract, "expires", "%s after not_before, limit %s", ttl, MaxTTL)
	}
	return nil
}
