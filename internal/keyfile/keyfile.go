// Package keyfile stores Ed25519 keys as PEM files.
//
// Private keys are PKCS#8 (RFC 5208, RFC 5958) with the Ed25519 algorithm
// identifier of RFC 8410, in a single PEM block of type "PRIVATE KEY"
// (RFC 7468), in a file of mode 0600. Public keys, for registering a key
// made elsewhere, are PKIX SubjectPublicKeyInfo (RFC 5280, RFC 8410) in a
// single "PUBLIC KEY" PEM block. Both are what `openssl genpkey -algorithm
// ed25519` and `openssl pkey -pubout` read and write.
//
// Write never replaces an existing file, and Read refuses a key file that
// grants any permission to group or others (ErrInsecurePermissions), as
// ssh does. Error messages never contain key material. The package keeps
// no global mutable state.
package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// MaxSize is the largest key file, in bytes, that Read, Parse and
// ParsePublic accept. An Ed25519 key PEM is about 120 bytes.
const MaxSize = 16 << 10

const (
	privateType = "PRIVATE KEY"
	publicType  = "PUBLIC KEY"
)

var (
	// ErrInsecurePermissions is returned (wrapped) by Read for a key file
	// whose mode grants any permission to group or others.
	ErrInsecurePermissions = errors.New("key file is readable by others")
	// ErrMalformed is returned (wrapped) for input that is not a single PEM
	// block holding an Ed25519 key of the expected kind.
	ErrMalformed = errors.New("malformed key")
)

// Generate returns a new Ed25519 private key from crypto/rand.
func Generate() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating ed25519 key: %w", err)
	}
	return priv, nil
}

// Marshal returns key as a PKCS#8 "PRIVATE KEY" PEM block.
func Marshal(key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, errors.New("encoding pkcs#8 private key failed")
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: privateType, Bytes: der}), nil
}

// Parse returns the Ed25519 private key in pemBytes, which must hold
// exactly one PEM block of type "PRIVATE KEY" with no headers, whose
// contents are an unencrypted PKCS#8 Ed25519 key. Only whitespace may
// surround the block. Errors wrap ErrMalformed and never contain key
// material.
func Parse(pemBytes []byte) (ed25519.PrivateKey, error) {
	der, err := decodeOne(pemBytes, privateType)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// The parser's message is not repeated: it is not meant to be
		// free of key bytes.
		return nil, fmt.Errorf("%w: not a valid pkcs#8 private key", ErrMalformed)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: pkcs#8 key is %s, want ed25519", ErrMalformed, keyTypeName(key))
	}
	return priv, nil
}

// MarshalPublic returns pub as a PKIX "PUBLIC KEY" PEM block.
func MarshalPublic(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding pkix public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: publicType, Bytes: der}), nil
}

// ParsePublic returns the Ed25519 public key in pemBytes, which must hold
// exactly one PEM block of type "PUBLIC KEY" with no headers, whose
// contents are a PKIX Ed25519 SubjectPublicKeyInfo. Only whitespace may
// surround the block. Errors wrap ErrMalformed.
func ParsePublic(pemBytes []byte) (ed25519.PublicKey, error) {
	der, err := decodeOne(pemBytes, publicType)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid pkix public key", ErrMalformed)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: pkix key is %s, want ed25519", ErrMalformed, keyTypeName(key))
	}
	return pub, nil
}

// decodeOne returns the contents of the single PEM block of type typ that
// b must consist of.
func decodeOne(b []byte, typ string) ([]byte, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxSize)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("%w: not a pem %s block", ErrMalformed, typ)
	}
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%w: not a pem %s block", ErrMalformed, typ)
	}
	if block.Type != typ {
		clear(block.Bytes)
		return nil, typeError(block.Type, typ)
	}
	if len(block.Headers) != 0 {
		clear(block.Bytes)
		return nil, fmt.Errorf("%w: pem block has headers (encrypted keys are not supported)", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		clear(block.Bytes)
		return nil, fmt.Errorf("%w: data after the pem block", ErrMalformed)
	}
	// crypto/x509 ignores bytes after the outer DER SEQUENCE of a PKCS#8
	// key; refuse them here, for both kinds.
	var outer asn1.RawValue
	if rest, err := asn1.Unmarshal(block.Bytes, &outer); err != nil || len(rest) != 0 {
		clear(block.Bytes)
		return nil, fmt.Errorf("%w: pem block is not a single der value", ErrMalformed)
	}
	return block.Bytes, nil
}

// typeError explains a PEM block of type got where want was expected.
// Only types people are likely to try are named, each with a hint: an
// unknown type line is not repeated, in case it holds something it should
// not.
func typeError(got, want string) error {
	var hint string
	switch got {
	case "PRIVATE KEY", "PUBLIC KEY", "CERTIFICATE":
	case "ENCRYPTED PRIVATE KEY":
		hint = " (encrypted keys are not supported)"
	case "OPENSSH PRIVATE KEY":
		hint = " (openssh key format is not supported; make a pkcs#8 key with openssl genpkey -algorithm ed25519)"
	case "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "RSA PUBLIC KEY":
		hint = " (only ed25519 keys are supported)"
	default:
		return fmt.Errorf("%w: pem block is not of type %q", ErrMalformed, want)
	}
	return fmt.Errorf("%w: pem block is %q, want %q%s", ErrMalformed, got, want, hint)
}

// keyTypeName names the Go type of a parsed key (such as rsa.PrivateKey)
// without printing the key.
func keyTypeName(key any) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", key), "*")
}
