// Package envelope signs, parses and verifies agentledger log entries.
//
// Every entry in the agentledger log is a DSSE envelope (the in-toto /
// Sigstore Dead Simple Signing Envelope, https://github.com/secure-systems-lab/dsse,
// envelope.md and protocol.md) with exactly one Ed25519 signature, stored as
// compact JSON of at most [proofs.MaxEntrySize] bytes (the C2SP tlog-tiles
// entry limit):
//
//	{"payloadType":"application/vnd.agentledger.<kind>.v1+json","payload":"<base64>","signatures":[{"keyid":"did:key:z6Mk...","sig":"<base64>"}]}
//
// The fields are:
//
//   - payloadType, which names the statement kind (see Kind);
//   - payload, the statement JSON in standard padded base64 (RFC 4648 §4);
//   - keyid, the signer's W3C did:key (package did), from which the public
//     key is taken;
//   - sig, the 64-byte Ed25519 signature in standard padded base64 over the
//     DSSE pre-authentication encoding
//     PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body,
//     with LEN the decimal byte length.
//
// The signature covers the payload type as well as the statement, and no
// JSON canonicalization of the statement is ever needed.
//
// # Canonical form
//
// The log stores envelope bytes as given, and a leaf is identified by the
// hash of those bytes. So that nobody but the signer can make a second,
// different-looking copy of a signed entry, Parse accepts only the one
// canonical encoding of an envelope, the one Sign produces: compact JSON
// with no insignificant whitespace, the fields in the order shown above, no
// escape sequences in strings, canonical base64 (padded, zero trailing
// bits, no line breaks) and a canonical did:key. This is exactly what
// encoding/json produces for a dsse.Envelope from
// github.com/secure-systems-lab/go-securesystemslib/dsse with one
// signature, so any Go DSSE producer interoperates. The canonical form also
// makes every field unique, so unknown and duplicate fields are refused.
//
// Parse checks the form only; Envelope.Verify checks the signature. The
// package is pure: no I/O, no global mutable state.
package envelope

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed is returned (wrapped) for an envelope that is not in
	// canonical form or whose fields do not decode, and for an unknown
	// kind.
	ErrMalformed = errors.New("malformed envelope")
	// ErrTooLarge is returned (wrapped) for an envelope over
	// proofs.MaxEntrySize bytes, the largest log entry: Sign never
	// produces one and Parse refuses it.
	ErrTooLarge = errors.New("envelope too large")
	// ErrBadSignature is returned (wrapped) by Verify when the signature
	// does not verify under the keyid's public key.
	ErrBadSignature = errors.New("bad signature")
)

// Kind is the kind of statement an envelope carries.
type Kind string

// The statement kinds of the agentledger protocol.
const (
	KindRegistration Kind = "registration"
	KindContract     Kind = "contract"
	KindRevocation   Kind = "revocation"
	KindAction       Kind = "action"
)

const (
	typeRegistration = "application/vnd.agentledger.registration.v1+json"
	typeContract     = "application/vnd.agentledger.contract.v1+json"
	typeRevocation   = "application/vnd.agentledger.revocation.v1+json"
	typeAction       = "application/vnd.agentledger.action.v1+json"
)

// ParseKind returns the Kind named s. It accepts exactly the four kind
// names, in lower case; anything else is an error wrapping ErrMalformed.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindRegistration, KindContract, KindRevocation, KindAction:
		return k, nil
	}
	return "", fmt.Errorf("%w: unknown kind %s", ErrMalformed, quote(s))
}

// PayloadType returns the DSSE payloadType of k,
// "application/vnd.agentledger.<kind>.v1+json". It does not check that k is
// one of the known kinds; use ParseKind for that.
func (k Kind) PayloadType() string {
	switch k {
	case KindRegistration:
		return typeRegistration
	case KindContract:
		return typeContract
	case KindRevocation:
		return typeRevocation
	case KindAction:
		return typeAction
	}
	return "application/vnd.agentledger." + string(k) + ".v1+json"
}

// kindOf returns the known Kind whose payload type is t. It does not
// allocate.
func kindOf(t []byte) (Kind, bool) {
	switch string(t) {
	case typeRegistration:
		return KindRegistration, true
	case typeContract:
		return KindContract, true
	case typeRevocation:
		return KindRevocation, true
	case typeAction:
		return KindAction, true
	}
	return "", false
}

// Envelope is a parsed, not yet verified, DSSE envelope with exactly one
// signature. Its fields are decoded: Payload is the statement bytes and Sig
// the raw 64-byte signature. An Envelope from Parse MUST NOT be trusted
// until Verify succeeds, and even then only as far as trusting KeyID.
type Envelope struct {
	Kind    Kind
	Payload []byte
	KeyID   string
	Sig     []byte
}

// quote returns s quoted for an error message, cut short if long, so that
// hostile input cannot make error strings huge.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
