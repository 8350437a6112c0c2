// Package did encodes and parses Ed25519 identities as did:key strings.
//
// It follows the W3C CCG did:key method specification
// (https://w3c-ccg.github.io/did-method-key/) for Ed25519 keys only:
//
//	did:key:z<base58btc(0xed 0x01 || 32-byte Ed25519 public key)>
//
// The "z" is the multibase prefix for base58btc (Bitcoin alphabet), and
// 0xed 0x01 is the unsigned-varint encoding of the multicodec code 0xed
// (ed25519-pub). Every agentledger identity is such a string, for example
// the key whose seed is 32 zero bytes is
//
//	did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp
//
// Parse is strict: it accepts exactly the strings FromPublicKey produces,
// so a did:key has one spelling and can be compared as a string. DID URLs
// (fragments, paths, queries) and every other key type are refused.
//
// The package is pure: no I/O, no global mutable state.
package did

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/mr-tron/base58"
)

// Prefix is the scheme and method part of every did:key.
const Prefix = "did:key:"

// MaxLen bounds the length of a string Parse will look at. A canonical
// Ed25519 did:key is 56 bytes long; anything longer than MaxLen is refused
// before any decoding work is done.
const MaxLen = 128

// ErrMalformed is returned (wrapped) by Parse for any string that is not a
// canonical Ed25519 did:key.
var ErrMalformed = errors.New("malformed did:key")

const (
	// multibaseBase58BTC is the multibase prefix character for base58btc.
	multibaseBase58BTC = 'z'
	// multicodecEd25519Pub0 and multicodecEd25519Pub1 are the unsigned
	// varint encoding of multicodec 0xed (ed25519-pub).
	multicodecEd25519Pub0 = 0xed
	multicodecEd25519Pub1 = 0x01

	codecLen   = 2
	decodedLen = codecLen + ed25519.PublicKeySize
)

// FromPublicKey returns the did:key of pub. It panics if pub is not
// ed25519.PublicKeySize bytes long, as that is a programming error (every
// ed25519.PublicKey produced by crypto/ed25519 has the right size).
func FromPublicKey(pub ed25519.PublicKey) string {
	if len(pub) != ed25519.PublicKeySize {
		panic(fmt.Sprintf("did: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize))
	}
	var buf [decodedLen]byte
	buf[0] = multicodecEd25519Pub0
	buf[1] = multicodecEd25519Pub1
	copy(buf[codecLen:], pub)
	return Prefix + string(multibaseBase58BTC) + base58.Encode(buf[:])
}

// Parse returns the Ed25519 public key named by s.
//
// s must be exactly "did:key:z" followed by the base58btc encoding of the
// multicodec prefix 0xed 0x01 and 32 key bytes, in its one canonical
// spelling: FromPublicKey(Parse(s)) == s for every s Parse accepts. The
// prefix is case sensitive, and no surrounding whitespace, DID URL parts or
// other multibase encodings are accepted. Parse does not check that the key
// is a valid curve point; ed25519.Verify refuses signatures under keys that
// are not.
//
// Errors wrap ErrMalformed.
func Parse(s string) (ed25519.PublicKey, error) {
	if len(s) > MaxLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLen)
	}
	if len(s) < len(Prefix) || s[:len(Prefix)] != Prefix {
		return nil, fmt.Errorf("%w: missing %q prefix", ErrMalformed, Prefix)
	}
	mb := s[len(Prefix):]
	if mb == "" {
		return nil, fmt.Errorf("%w: empty method-specific identifier", ErrMalformed)
	}
	if mb[0] != multibaseBase58BTC {
		return nil, fmt.Errorf("%w: multibase prefix %q is not base58btc 'z'", ErrMalformed, mb[0])
	}
	raw, err := base58.Decode(mb[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: invalid base58btc: %w", ErrMalformed, err)
	}
	if len(raw) < codecLen || raw[0] != multicodecEd25519Pub0 || raw[1] != multicodecEd25519Pub1 {
		return nil, fmt.Errorf("%w: multicodec is not ed25519-pub (0xed 0x01)", ErrMalformed)
	}
	if len(raw) != decodedLen {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d", ErrMalformed, len(raw)-codecLen, ed25519.PublicKeySize)
	}
	pub := ed25519.PublicKey(raw[codecLen:decodedLen:decodedLen])
	// base58 decoding is injective for strings without leading zero digits,
	// and the 0xed prefix rules those out, but check the one spelling
	// directly rather than rely on the argument.
	if FromPublicKey(pub) != s {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return pub, nil
}
