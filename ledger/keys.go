package ledger

import (
	"encoding/binary"
	"fmt"

	"github.com/agentledger/agentledger/proofs"
)

// Badger key layout. Every key starts with a one-byte table tag so tables
// never share a prefix.
//
//	'e' idx(8)            -> entry bytes (the DSSE envelope as submitted)
//	'h' leafhash(32)      -> idx(8): dedup and lookup by leaf hash
//	't' level(1) idx(8)   -> storedTile encoding
//	's'                   -> tree state: size(8) root(32) compact range hashes
//	'c' size(8)           -> signed checkpoint note published at that size
//	'm' name              -> log metadata (origin, format version)
//	'x' key               -> secondary index records (see Indexer)
const (
	tagEntry      = 'e'
	tagLeafHash   = 'h'
	tagTile       = 't'
	tagState      = 's'
	tagCheckpoint = 'c'
	tagMeta       = 'm'
	tagIndex      = 'x'
)

func entryKey(idx uint64) []byte {
	k := make([]byte, 9)
	k[0] = tagEntry
	binary.BigEndian.PutUint64(k[1:], idx)
	return k
}

func leafHashKey(h proofs.Hash) []byte {
	k := make([]byte, 1+proofs.HashSize)
	k[0] = tagLeafHash
	copy(k[1:], h[:])
	return k
}

func tileKey(level uint8, idx uint64) []byte {
	k := make([]byte, 10)
	k[0] = tagTile
	k[1] = level
	binary.BigEndian.PutUint64(k[2:], idx)
	return k
}

func checkpointKey(size uint64) []byte {
	k := make([]byte, 9)
	k[0] = tagCheckpoint
	binary.BigEndian.PutUint64(k[1:], size)
	return k
}

var (
	stateKey  = []byte{tagState}
	originKey = []byte{tagMeta, 'o'}
)

// treeState is the integrated tree as of the last committed batch.
type treeState struct {
	size  uint64
	root  proofs.Hash
	edges []proofs.Hash // compact range [0, size): the right edge of the tree
}

func (s treeState) marshal() []byte {
	out := make([]byte, 8, 8+proofs.HashSize*(1+len(s.edges)))
	binary.BigEndian.PutUint64(out, s.size)
	out = append(out, s.root[:]...)
	for _, h := range s.edges {
		out = append(out, h[:]...)
	}
	return out
}

func unmarshalTreeState(b []byte) (treeState, error) {
	if len(b) < 8+proofs.HashSize || (len(b)-8)%proofs.HashSize != 0 {
		return treeState{}, fmt.Errorf("tree state record has %d bytes", len(b))
	}
	s := treeState{size: binary.BigEndian.Uint64(b)}
	copy(s.root[:], b[8:])
	for off := 8 + proofs.HashSize; off < len(b); off += proofs.HashSize {
		s.edges = append(s.edges, proofs.Hash(b[off:off+proofs.HashSize]))
	}
	return s, nil
}

func uint64Bytes(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// uint64FromKey decodes an 8-byte big-endian integer.
func uint64FromKey(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
