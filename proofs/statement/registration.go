package statement

import (
	"fmt"
	"slices"
	"time"

	"github.com/agentledger/agentledger/proofs/scope"
)

// The risk levels of a registered agent.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// MaxServes is the most actions a registration's serves lists.
const MaxServes = 64

const kindRegistration = "registration"

// Registration records an agent: signed by the authority, it binds a name
// to a DID, a risk level and the actions the agent serves.
//
//   - name: [a-z][a-z0-9-]{0,62}, not ending in "-";
//   - did: the agent's did:key;
//   - risk: "low", "medium" or "high";
//   - serves (optional): 1 to MaxServes actions, resource:action
//     (scope.ParseAction), in ascending byte order with no duplicates
//     (SortServes writes a list so); absent, the agent serves nothing,
//     as a party that only calls others does;
//   - time: when the authority registered it.
//
// A contract can grant only actions its audience serves, so Serves is
// what any contract at this agent may ever grant.
type Registration struct {
	Name   string
	DID    string
	Risk   string
	Serves []string
	Time   time.Time
}

type registrationJSON struct {
	V      int      `json:"v"`
	Name   string   `json:"name"`
	DID    string   `json:"did"`
	Risk   string   `json:"risk"`
	Serves []string `json:"serves,omitempty"`
	Time   string   `json:"time"`
}

func registrationFields() []string   { return []string{"v", "name", "did", "risk", "time"} }
func registrationOptional() []string { return []string{"serves"} }

// ParseRegistration parses a registration statement. Errors wrap
// ErrInvalid.
func ParseRegistration(b []byte) (*Registration, error) {
	o, err := decodeStatement(kindRegistration, b, registrationFields(), registrationOptional())
	if err != nil {
		return nil, err
	}
	r := &Registration{
		Name: o.str("name"),
		DID:  o.str("did"),
		Risk: o.str("risk"),
	}
	if o.has("serves") {
		r.Serves = o.strs("serves")
		if o.err == nil && len(r.Serves) == 0 {
			// Marshal leaves an empty list out, so refuse it here.
			o.fail("serves", "empty; a party that serves nothing has no serves field")
		}
	}
	r.Time = o.time("time")
	if o.err != nil {
		return nil, o.err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// Marshal checks r and writes its canonical JSON. Errors wrap ErrInvalid.
func (r *Registration) Marshal() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return marshal(kindRegistration, registrationJSON{
		V: 1, Name: r.Name, DID: r.DID, Risk: r.Risk, Serves: r.Serves, Time: formatTime(r.Time),
	})
}

func (r *Registration) validate() error {
	if !validName(r.Name) {
		return invalid(kindRegistration, "name", "%s is not [a-z][a-z0-9-]{0,62} without a trailing '-'", quote(r.Name))
	}
	if err := checkDID(kindRegistration, "did", r.DID); err != nil {
		return err
	}
	switch r.Risk {
	case RiskLow, RiskMedium, RiskHigh:
	default:
		return invalid(kindRegistration, "risk", "%s is not low, medium or high", quote(r.Risk))
	}
	if err := checkServes(r.Serves); err != nil {
		return err
	}
	return checkTime(kindRegistration, "time", r.Time)
}

// checkServes checks a registration's list of served actions: at most
// MaxServes actions, each resource:action, strictly ascending. An empty
// list is none.
func checkServes(serves []string) error {
	if len(serves) > MaxServes {
		return invalid(kindRegistration, "serves", "%d actions, limit %d", len(serves), MaxServes)
	}
	for i, a := range serves {
		field := fmt.Sprintf("serves[%d]", i)
		if _, _, err := scope.ParseAction(a); err != nil {
			return invalid(kindRegistration, field, "%w", err)
		}
		if i > 0 && a <= serves[i-1] {
			if a == serves[i-1] {
				return invalid(kindRegistration, field, "duplicate of serves[%d]", i-1)
			}
			return invalid(kindRegistration, field, "%s sorts before serves[%d]; the list is in ascending order", quote(a), i-1)
		}
	}
	return nil
}

// SortServes returns actions in the one order a registration's serves
// field takes: sorted, without duplicates, nil when empty. It does not
// check the actions; Marshal does.
func SortServes(actions []string) []string {
	if len(actions) == 0 {
		return nil
	}
	out := slices.Clone(actions)
	slices.Sort(out)
	return slices.Compact(out)
}

// validName checks an agent name against [a-z][a-z0-9-]{0,62} with no
// trailing '-'.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
