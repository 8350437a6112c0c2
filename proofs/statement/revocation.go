package statement

import (
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/agentledger/agentledger/proofs"
)

// MaxReasonLen is the longest revocation reason, in bytes.
const MaxReasonLen = 512

const kindRevocation = "revocation"

// Revocation withdraws a contract. The authority or the contract's issuer
// signs it.
//
//   - contract: the leaf hash of the contract's log entry, standard base64;
//   - reason: 1 to MaxReasonLen bytes of UTF-8 text with no control
//     characters (Unicode category Cc, which includes newlines and tabs);
//   - time: when it was revoked.
type Revocation struct {
	Contract proofs.Hash
	Reason   string
	Time     time.Time
}

type revocationJSON struct {
	V        int    `json:"v"`
	Contract string `json:"contract"`
	Reason   string `json:"reason"`
	Time     string `json:"time"`
}

func revocationFields() []string { return []string{"v", "contract", "reason", "time"} }

// ParseRevocation parses a revocation statement. Errors wrap ErrInvalid.
func ParseRevocation(b []byte) (*Revocation, error) {
	o, err := decodeStatement(kindRevocation, b, revocationFields(), nil)
	if err != nil {
		return nil, err
	}
	r := &Revocation{
		Contract: o.hash("contract"),
		Reason:   o.str("reason"),
		Time:     o.time("time"),
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
func (r *Revocation) Marshal() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return marshal(kindRevocation, revocationJSON{
		V: 1, Contract: r.Contract.String(), Reason: r.Reason, Time: formatTime(r.Time),
	})
}

func (r *Revocation) validate() error {
	if err := checkHash(kindRevocation, "contract", r.Contract); err != nil {
		return err
	}
	switch {
	case r.Reason == "":
		return invalid(kindRevocation, "reason", "empty")
	case len(r.Reason) > MaxReasonLen:
		return invalid(kindRevocation, "reason", "%d bytes, limit %d", len(r.Reason), MaxReasonLen)
	case !utf8.ValidString(r.Reason):
		return invalid(kindRevocation, "reason", "not valid UTF-8")
	}
	for _, c := range r.Reason {
		if unicode.IsControl(c) {
			return invalid(kindRevocation, "reason", "control character %U", c)
		}
	}
	return checkTime(kindRevocation, "time", r.Time)
}
