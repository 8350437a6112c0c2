package statement

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
)

// checkDID checks that s is a canonical Ed25519 did:key.
func checkDID(kind, field, s string) error {
	if _, err := did.Parse(s); err != nil {
		return invalid(kind, field, "%w", err)
	}
	return nil
}

// checkTime checks that t is set and can be written as RFC 3339.
func checkTime(kind, field string, t time.Time) error {
	if t.IsZero() {
		return invalid(kind, field, "missing (zero time)")
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return invalid(kind, field, "year %d outside 0000-9999", y)
	}
	return nil
}

// checkHash checks that h is set: no leaf hash is all zeros.
func checkHash(kind, field string, h proofs.Hash) error {
	if h == (proofs.Hash{}) {
		return invalid(kind, field, "missing (zero hash)")
	}
	return nil
}

// isLowerHex reports whether s is n lower-case hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// marshal writes v, a wire struct whose fields are in canonical order, as
// compact JSON without HTML escaping.
func marshal(kind string, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, kind, err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxPayloadSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrInvalid, kind, len(out), MaxPayloadSize)
	}
	return out, nil
}
