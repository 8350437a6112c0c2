// Package statement defines the four agentledger statements that log
// entries carry, and parses and writes their JSON.
//
// Each log entry is a DSSE envelope (package envelope) whose payload is one
// statement, of the kind the envelope's payloadType names:
//
//	registration  signed by the authority: an agent's name, DID, risk and the actions it serves
//	{"v":1,"name":"order-agent","did":"did:key:z6Mk...","risk":"low","serves":["order:create"],"time":"2026-11-26T20:00:00Z"}
//
//	contract      signed by the authority: scopes granted to a caller (subject) at a callee (audience)
//	{"v":1,"id":"<32 hex>","issuer":"did:key:...","subject":"did:key:...","audience":"did:key:...",
//	 "scopes":["payment:charge:max_10000usd"],"not_before":"...","expires":"...","time":"..."}
//
//	revocation    signed by the authority or the contract's issuer
//	{"v":1,"contract":"<base64 leaf hash>","reason":"text","time":"..."}
//
//	action        signed by the agent that approved it
//	{"v":1,"agent":"did:key:...","caller":"did:key:...","contract":{"index":N,"leaf_hash":"<base64>"},
//	 "action":"payment:charge","args_digest":"sha256:<hex>","amount":1000000,"currency":"USD",
//	 "quantity":2,"nonce":"...","time":"..."}
//
// # Rules
//
// A statement is a JSON object (RFC 8259) in UTF-8 of at most
// MaxPayloadSize bytes. Parsing is strict, so that every reader of a
// signed statement sees the same values:
//
//   - "v" is required and must be 1; every other field shown is required
//     except serves in a registration and amount, currency and quantity
//     in an action;
//   - unknown fields, field names in another case, duplicate keys at any
//     depth (compared after unescaping), null values, trailing data and
//     \u escapes of unpaired UTF-16 surrogates are refused;
//   - integers are JSON numbers without fraction or exponent;
//   - times are RFC 3339 in UTC with "Z", YYYY-MM-DDTHH:MM:SS[.fraction]Z,
//     at most 35 bytes; the zero time.Time (0001-01-01T00:00:00Z) is
//     refused, as it stands for a missing time;
//   - DIDs are canonical Ed25519 did:keys (package did);
//   - base64 is standard and padded (RFC 4648 §4), as proofs.ParseHash
//     accepts it; an all-zero hash is refused, as no leaf has it.
//
// Field rules of each kind are on its type. Insignificant whitespace and
// fields in any order are accepted; the signature, not the byte form, is
// what makes a statement authentic, and the log stores the envelope as
// signed. Marshal writes one canonical form: compact JSON with the fields
// in the order shown, optional fields left out when absent, times in
// RFC 3339 with as few fraction digits as needed.
//
// The package is pure: no I/O, no global mutable state. It checks form
// only: whether a signer may write a statement, and whether a contract
// grants an action, are for the ledger and package scope.
package statement

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/scope"
)

// MaxPayloadSize is the largest statement, in bytes, that Parse accepts
// and Marshal writes.
const MaxPayloadSize = 16 << 10

// MaxTTL is the longest a contract may be valid: expires - not_before.
const MaxTTL = 366 * 24 * time.Hour

var (
	// ErrInvalid is returned (wrapped) for a statement that does not
	// parse or breaks a rule of its kind. The message names the kind and
	// the field, as in "invalid statement: contract: scopes[1]: ...".
	ErrInvalid = errors.New("invalid statement")
	// ErrNotYetValid is returned (wrapped) by Contract.ValidAt before the
	// contract's not_before.
	ErrNotYetValid = errors.New("contract not yet valid")
	// ErrExpired is returned (wrapped) by Contract.ValidAt at or after the
	// contract's expiry.
	ErrExpired = errors.New("contract expired")
)

// Parse parses payload as a statement of kind and returns a
// *Registration, *Contract, *Revocation or *Action. Errors wrap ErrInvalid.
func Parse(kind envelope.Kind, payload []byte) (any, error) {
	switch kind {
	case envelope.KindRegistration:
		return ParseRegistration(payload)
	case envelope.KindContract:
		return ParseContract(payload)
	case envelope.KindRevocation:
		return ParseRevocation(payload)
	case envelope.KindAction:
		return ParseAction(payload)
	}
	return nil, fmt.Errorf("%w: unknown kind %s", ErrInvalid, quote(string(kind)))
}

// NewContractID reads 128 bits from r, which should be a cryptographic
// random source such as crypto/rand.Reader, and returns them as 32
// lower-case hex digits.
func NewContractID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("contract id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidAt checks that the contract is in force at t, allowing skew for
// clock differences: NotBefore-skew <= t < Expires+skew. A negative skew
// counts as zero. Errors wrap ErrNotYetValid or ErrExpired.
func (c *Contract) ValidAt(t time.Time, skew time.Duration) error {
	skew = max(skew, 0)
	if t.Before(c.NotBefore.Add(-skew)) {
		return fmt.Errorf("%w: not before %s, now %s", ErrNotYetValid, formatTime(c.NotBefore), formatTime(t))
	}
	if !t.Before(c.Expires.Add(skew)) {
		return fmt.Errorf("%w: expired %s, now %s", ErrExpired, formatTime(c.Expires), formatTime(t))
	}
	return nil
}

// Request returns the scope request the action claims: its action name
// and, where present, its amount and currency and its quantity.
func (a *Action) Request() scope.Request {
	r := scope.Request{Action: a.Action, Currency: a.Currency}
	if a.Amount != nil {
		r.Amount, r.HasAmount = *a.Amount, true
	}
	if a.Quantity != nil {
		r.Quantity, r.HasQuantity = *a.Quantity, true
	}
	return r
}
