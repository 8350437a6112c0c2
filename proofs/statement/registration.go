package statement

import (
	"time"
)

// The risk levels of a registered agent.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

const kindRegistration = "registration"

// Registration records an agent: signed by the authority, it binds a name
// to a DID and a risk level.
//
//   - name: [a-z][a-z0-9-]{0,62}, not ending in "-";
//   - did: the agent's did:key;
//   - risk: "low", "medium" or "high";
//   - time: when the authority registered it.
type Registration struct {
	Name string
	DID  string
	Risk string
	Time time.Time
}

type registrationJSON struct {
	V    int    `json:"v"`
	Name string `json:"name"`
	DID  string `json:"did"`
	Risk string `json:"risk"`
	Time string `json:"time"`
}

func registrationFields() []string { return []string{"v", "name", "did", "risk", "time"} }

// ParseRegistration parses a registration statement. Errors wrap
// ErrInvalid.
func ParseRegistration(b []byte) (*Registration, error) {
	o, err := decodeStatement(kindRegistration, b, registrationFields(), nil)
	if err != nil {
		return nil, err
	}
	r := &Registration{
		Name: o.str("name"),
		DID:  o.str("did"),
		Risk: o.str("risk"),
		Time: o.time("time"),
	}
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
		V: 1, Name: r.Name, DID: r.DID, Risk: r.Risk, Time: formatTime(r.Time),
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
	return checkTime(kindRegistration, "time", r.Time)
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
