package proofs

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// This file holds an independent reference implementation of RFC 6962,
// written from the RFC's recursive definitions, and test keys.

// refLeaf is SHA-256(0x00 || d), written without LeafHash.
func refLeaf(d []byte) Hash {
	return sha256.Sum256(append([]byte{0}, d...))
}

// refNode is SHA-256(0x01 || l || r), written without NodeHash.
func refNode(l, r Hash) Hash {
	b := append([]byte{1}, l[:]...)
	return sha256.Sum256(append(b, r[:]...))
}

// refSplit returns the largest power of two smaller than n (n > 1).
func refSplit(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// refMTH is MTH(D[n]) from RFC 6962, section 2.1.
func refMTH(d [][]byte) Hash {
	switch len(d) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return refLeaf(d[0])
	}
	k := refSplit(len(d))
	return refNode(refMTH(d[:k]), refMTH(d[k:]))
}

// refPath is PATH(m, D[n]) from RFC 6962, section 2.1.1.
func refPath(m int, d [][]byte) []Hash {
	if len(d) <= 1 {
		return []Hash{}
	}
	k := refSplit(len(d))
	if m < k {
		return append(refPath(m, d[:k]), refMTH(d[k:]))
	}
	return append(refPath(m-k, d[k:]), refMTH(d[:k]))
}

// refProof is PROOF(m, D[n]) from RFC 6962, section 2.1.2.
func refProof(m int, d [][]byte) []Hash {
	if m == 0 || m == len(d) {
		return []Hash{}
	}
	return refSubproof(m, d, true)
}

func refSubproof(m int, d [][]byte, b bool) []Hash {
	n := len(d)
	if m == n {
		if b {
			return []Hash{}
		}
		return []Hash{refMTH(d)}
	}
	k := refSplit(n)
	if m <= k {
		return append(refSubproof(m, d[:k], b), refMTH(d[k:]))
	}
	return append(refSubproof(m-k, d[k:], false), refMTH(d[:k]))
}

// refTree serves complete-subtree hashes computed by refMTH, and counts the
// calls made to it.
type refTree struct {
	leaves [][]byte
	calls  int
}

func newRefTree(n int) *refTree {
	t := &refTree{}
	for i := 0; i < n; i++ {
		t.leaves = append(t.leaves, []byte(fmt.Sprintf("leaf %d", i)))
	}
	return t
}

func (t *refTree) ReadHashes(ids []NodeID) ([]Hash, error) {
	t.calls++
	out := make([]Hash, len(ids))
	for i, id := range ids {
		begin, end := id.Coverage()
		if id.Level >= 63 || end > uint64(len(t.leaves)) {
			return nil, fmt.Errorf("node %+v is not a complete subtree of %d leaves", id, len(t.leaves))
		}
		out[i] = refMTH(t.leaves[begin:end])
	}
	return out, nil
}

// reader returns a HashReader over the first n leaves of t, failing on any
// node beyond them.
func (t *refTree) reader(n uint64) HashReader {
	return HashReaderFunc(func(ids []NodeID) ([]Hash, error) {
		for _, id := range ids {
			if _, end := id.Coverage(); id.Level >= 63 || end > n {
				return nil, fmt.Errorf("node %+v beyond size %d", id, n)
			}
		}
		return t.ReadHashes(ids)
	})
}

// testKey returns a deterministic Ed25519 note signer and verifier for name,
// derived from seed.
func testKey(t testing.TB, name string, seed byte) (note.Signer, note.Verifier) {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	priv := ed25519.NewKeyFromSeed(s)
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	// vkey is <name>+<hash>+<base64>; names hold no '+', base64 may.
	hash := strings.SplitN(vkey, "+", 3)[1]
	skey := "PRIVATE+KEY+" + name + "+" + hash + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{1}, priv.Seed()...))
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return signer, verifier
}

const testOrigin = "example.com/agentledger"

// signedTestCheckpoint signs the checkpoint of the first size leaves of tree.
func signedTestCheckpoint(t testing.TB, tree *refTree, size int, s note.Signer) []byte {
	t.Helper()
	c := Checkpoint{Origin: s.Name(), Size: uint64(size), Root: refMTH(tree.leaves[:size])}
	b, err := SignCheckpoint(c, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
