package httpsig

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/dunglas/httpsfv"
)

// digestAlg is the RFC 9530 hash algorithm key the profile uses.
const digestAlg = "sha-256"

// ContentDigest returns the profile's Content-Digest field value for body
// (RFC 9530 §2): "sha-256=:<base64 of SHA-256(body)>:".
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return formatContentDigest(sum)
}

func formatContentDigest(sum [sha256.Size]byte) string {
	return digestAlg + "=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// ParseContentDigest returns the SHA-256 digest carried by a Content-Digest
// field value. The profile accepts exactly one member, sha-256, with a
// 32-byte Byte Sequence and no parameters, in canonical form, so the only
// value accepted for a digest d is the one ContentDigest writes. Errors wrap
// ErrDigestMismatch, or ErrTooLarge for a value over MaxHeaderLen.
func ParseContentDigest(value string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	// The one spelling accepted, read directly; anything else goes through
	// the general parser below, which refuses it with its reason.
	if b64, ok := strings.CutPrefix(value, digestAlg+"=:"); ok && strings.HasSuffix(b64, ":") &&
		decodeCanonical(sum[:], b64[:len(b64)-1]) {
		return sum, nil
	}
	if len(value) > MaxHeaderLen {
		return sum, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, HeaderContentDigest, len(value), MaxHeaderLen)
	}
	d, err := httpsfv.UnmarshalDictionary([]string{value})
	if err != nil {
		return sum, fmt.Errorf("%w: %s does not parse: %w", ErrDigestMismatch, HeaderContentDigest, err)
	}
	names := d.Names()
	if len(names) != 1 || names[0] != digestAlg {
		return sum, fmt.Errorf("%w: %s must hold exactly one %s digest", ErrDigestMismatch, HeaderContentDigest, digestAlg)
	}
	m, _ := d.Get(digestAlg)
	it, ok := m.(httpsfv.Item)
	if !ok {
		return sum, fmt.Errorf("%w: %s %s is not a byte sequence", ErrDigestMismatch, HeaderContentDigest, digestAlg)
	}
	raw, ok := it.Value.([]byte)
	if !ok || len(raw) != sha256.Size || len(it.Params.Names()) != 0 {
		return sum, fmt.Errorf("%w: %s %s is not a 32-byte byte sequence", ErrDigestMismatch, HeaderContentDigest, digestAlg)
	}
	copy(sum[:], raw)
	if formatContentDigest(sum) != value {
		return [sha256.Size]byte{}, fmt.Errorf("%w: %s is not in canonical form", ErrDigestMismatch, HeaderContentDigest)
	}
	return sum, nil
}
