package httpsig

import (
	"errors"
	"time"
)

// Header field names used by the profile.
const (
	HeaderSignatureInput = "Signature-Input"
	HeaderSignature      = "Signature"
	HeaderContentDigest  = "Content-Digest"
	// HeaderContract carries the contract reference. Its value is opaque to
	// this package; the signature covers it.
	HeaderContract = "Ledger-Contract"
)

// Profile constants.
const (
	// Label is the one signature label the profile uses.
	Label = "sig1"
	// Alg is the RFC 9421 algorithm name of Ed25519 (§3.3.6).
	Alg = "ed25519"
	// Tag is the RFC 9421 tag parameter every profile signature carries.
	Tag = "agentledger"
)

// Limits.
const (
	// MaxHeaderLen bounds each of Signature-Input, Signature and
	// Content-Digest (all field lines together). Longer fields are refused
	// before they are parsed.
	MaxHeaderLen = 8 << 10
	// MaxContractLen bounds Ledger-Contract, which may carry a whole
	// tlog-proof with its entry (up to 64 KiB of entry, base64-encoded).
	MaxContractLen = 128 << 10
	// DefaultMaxBody is the body limit of a Verifier whose MaxBody is zero.
	DefaultMaxBody = 1 << 20
	// DefaultSkew is the clock-skew window of a Verifier whose Skew is zero.
	DefaultSkew = 30 * time.Second
	// DefaultTTL is expires - created for a Signer whose TTL is zero.
	DefaultTTL = 30 * time.Second
	// MaxTTL is the longest expires - created the profile accepts.
	MaxTTL = 5 * time.Minute
	// MinNonceLen and MaxNonceLen bound the nonce's length in characters.
	MinNonceLen = 16
	MaxNonceLen = 128
)

// Refusal reasons. Every error Verify returns wraps exactly one of them.
var (
	// ErrMissingSignature: the request has neither Signature-Input nor
	// Signature.
	ErrMissingSignature = errors.New("signature missing")
	// ErrMalformedSignature: a signature field, a parameter or a covered
	// field value does not parse or is not in the profile's form.
	ErrMalformedSignature = errors.New("malformed signature")
	// ErrUnsupported: well-formed, but outside the profile: another alg or
	// tag, another label or more than one signature, unknown parameters, or
	// a covered component set other than the profile's.
	ErrUnsupported = errors.New("unsupported signature")
	// ErrBadKeyID: keyid is not a did:key.
	ErrBadKeyID = errors.New("keyid is not a did:key")
	// ErrStale: created or expires is outside the accepted time window.
	ErrStale = errors.New("signature outside its time window")
	// ErrDigestMismatch: Content-Digest is missing, not a single sha-256
	// digest, or not the digest of the body.
	ErrDigestMismatch = errors.New("content-digest does not match the body")
	// ErrBadSignature: the Ed25519 signature does not verify over the
	// request's signature base under the keyid's key.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrTooLarge: a signature field, Ledger-Contract or the body is over
	// its limit. Nothing was parsed.
	ErrTooLarge = errors.New("request too large to verify")
)

// The reasons a guard refuses a request whose signature does not verify,
// one for each error class above. All are answered with 401, but
// ReasonRequestTooLarge with 413.
const (
	ReasonSignatureMissing     = "signature_missing"     // ErrMissingSignature
	ReasonSignatureMalformed   = "signature_malformed"   // ErrMalformedSignature
	ReasonSignatureUnsupported = "signature_unsupported" // ErrUnsupported
	ReasonKeyIDInvalid         = "keyid_invalid"         // ErrBadKeyID
	ReasonSignatureStale       = "signature_stale"       // ErrStale
	ReasonDigestMismatch       = "digest_mismatch"       // ErrDigestMismatch
	ReasonSignatureInvalid     = "signature_invalid"     // ErrBadSignature
	ReasonRequestTooLarge      = "request_too_large"     // ErrTooLarge
)

// Reason returns the machine-readable reason for a refusal, for the HTTP
// error a guard writes: one of the Reason constants. It returns "" for nil
// and ReasonSignatureInvalid for an error this package did not produce,
// so an unexpected error still reads as a refusal.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMissingSignature):
		return ReasonSignatureMissing
	case errors.Is(err, ErrMalformedSignature):
		return ReasonSignatureMalformed
	case errors.Is(err, ErrUnsupported):
		return ReasonSignatureUnsupported
	case errors.Is(err, ErrBadKeyID):
		return ReasonKeyIDInvalid
	case errors.Is(err, ErrStale):
		return ReasonSignatureStale
	case errors.Is(err, ErrDigestMismatch):
		return ReasonDigestMismatch
	case errors.Is(err, ErrTooLarge):
		return ReasonRequestTooLarge
	default:
		return ReasonSignatureInvalid
	}
}

// coveredComponents are the profile's covered components, in the order
// Sign writes them.
var coveredComponents = [...]string{
	"@method", "@authority", "@path", "@query", "content-digest", "ledger-contract",
}

// validNonce reports whether n is a profile nonce: MinNonceLen to
// MaxNonceLen characters of [A-Za-z0-9_-], the base64url alphabet (the
// same rule as an action statement's nonce, which records it).
func validNonce(n string) bool {
	if len(n) < MinNonceLen || len(n) > MaxNonceLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
