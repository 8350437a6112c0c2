package proofs

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// HashSize is the size of a Hash in bytes.
const HashSize = sha256.Size

// A Hash is a SHA-256 hash: a leaf hash, an interior node hash or a tree root.
type Hash [HashSize]byte

// String returns the standard (padded) base64 encoding of h, the form used in
// checkpoints and tlog-proof bundles.
func (h Hash) String() string {
	return base64.StdEncoding.EncodeToString(h[:])
}

// ParseHash parses the standard base64 encoding of a hash.
// It is strict: the input must be exactly the 44-character encoding that
// [Hash.String] produces, with padding, no line breaks and no stray bits.
func ParseHash(b64 string) (Hash, error) {
	var h Hash
	if len(b64) != base64.StdEncoding.EncodedLen(HashSize) {
		return h, fmt.Errorf("malformed hash: %d base64 characters, want %d", len(b64), base64.StdEncoding.EncodedLen(HashSize))
	}
	b, err := decodeBase64(b64)
	if err != nil {
		return h, fmt.Errorf("malformed hash: %w", err)
	}
	if len(b) != HashSize {
		return h, fmt.Errorf("malformed hash: %d bytes, want %d", len(b), HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// decodeBase64 decodes standard base64 strictly: padding is required, the
// unused low bits of the last character must be zero, and line breaks (which
// encoding/base64 otherwise skips) are refused. So each byte string has
// exactly one accepted encoding.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break inside base64")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}

// LeafHash returns the RFC 6962 hash of a log entry: SHA-256(0x00 || entry).
func LeafHash(entry []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(entry)
	var out Hash
	h.Sum(out[:0])
	return out
}

// NodeHash returns the RFC 6962 hash of an interior node with the given
// children: SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 0x01
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot returns the root hash of the empty tree, SHA-256 of no bytes.
func EmptyRoot() Hash {
	return sha256.Sum256(nil)
}

// A NodeID names a complete subtree of the log's Merkle tree.
// Level 0 holds the leaves; node (L, I) is the root of the perfect subtree
// over leaves [I<<L, (I+1)<<L). Its hash is the RFC 6962 Merkle tree hash of
// those 1<<L entries.
type NodeID struct {
	Level uint
	Index uint64
}

// Coverage returns the range [begin, end) of leaves under the node.
func (id NodeID) Coverage() (begin, end uint64) {
	return id.Index << id.Level, (id.Index + 1) << id.Level
}

// A HashReader returns the hashes of complete subtrees of a log.
//
// ReadHashes MUST return exactly one hash per requested node, in the order of
// ids, or an error. The provers in this package call it at most once per
// proof, so a storage-backed reader can fetch all the nodes in one batch.
// A reader is only ever asked for nodes that are complete in the tree being
// proved.
type HashReader interface {
	ReadHashes(ids []NodeID) ([]Hash, error)
}

// A HashReaderFunc is a function that serves as a [HashReader].
type HashReaderFunc func(ids []NodeID) ([]Hash, error)

// ReadHashes returns f(ids).
func (f HashReaderFunc) ReadHashes(ids []NodeID) ([]Hash, error) {
	return f(ids)
}
