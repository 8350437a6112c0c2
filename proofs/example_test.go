package proofs_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/agentledger/agentledger/proofs"
	"golang.org/x/mod/sumdb/note"
)

// The example log's keys. Never use a published private key for a real log.
const (
	exampleSKey = "PRIVATE+KEY+example.com/ledger+fa6576e4+AWFnZW50bGVkZ2VyIGV4YW1wbGUga2V5LCBwdWJsaWMh"
	exampleVKey = "example.com/ledger+fa6576e4+AXX+eICwX6lFMbjLLAbPEw0rOuCDfxrAznE5u9q4RJRS"
	origin      = "example.com/ledger"
)

// memLog is a log in memory that keeps the hash of every complete subtree.
type memLog struct {
	nodes map[proofs.NodeID]proofs.Hash
	size  uint64
}

func (m *memLog) append(entry []byte) {
	if m.nodes == nil {
		m.nodes = make(map[proofs.NodeID]proofs.Hash)
	}
	id, h := proofs.NodeID{Level: 0, Index: m.size}, proofs.LeafHash(entry)
	m.nodes[id] = h
	for id.Index%2 == 1 { // a right child completes its parent
		h = proofs.NodeHash(m.nodes[proofs.NodeID{Level: id.Level, Index: id.Index - 1}], h)
		id = proofs.NodeID{Level: id.Level + 1, Index: id.Index / 2}
		m.nodes[id] = h
	}
	m.size++
}

func (m *memLog) ReadHashes(ids []proofs.NodeID) ([]proofs.Hash, error) {
	out := make([]proofs.Hash, len(ids))
	for i, id := range ids {
		h, ok := m.nodes[id]
		if !ok {
			return nil, fmt.Errorf("no node %+v", id)
		}
		out[i] = h
	}
	return out, nil
}

// checkpoint signs the log's current checkpoint.
func (m *memLog) checkpoint(s note.Signer) []byte {
	root, err := proofs.RootHash(m.size, m)
	if err != nil {
		log.Fatal(err)
	}
	signed, err := proofs.SignCheckpoint(proofs.Checkpoint{Origin: origin, Size: m.size, Root: root}, s)
	if err != nil {
		log.Fatal(err)
	}
	return signed
}

// exampleBundle builds a log of five entries and the tlog-proof bundle for
// entry 2.
func exampleBundle() []byte {
	signer, err := note.NewSigner(exampleSKey)
	if err != nil {
		log.Fatal(err)
	}
	var l memLog
	for _, e := range []string{"zero", "one", "two", "three", "four"} {
		l.append([]byte(e))
	}
	p, err := proofs.ProveInclusion(2, l.size, &l)
	if err != nil {
		log.Fatal(err)
	}
	b := proofs.Bundle{Index: 2, Proof: p, Extra: []byte("two"), Checkpoint: l.checkpoint(signer)}
	return b.Marshal()
}

// A log of five entries proves that entry 2 is in it with a tlog-proof
// bundle, which a relying party verifies offline with the log's public key.
func Example() {
	data := exampleBundle()
	os.Stdout.Write(data)

	// The relying party's side.
	verifier, err := note.NewVerifier(exampleVKey)
	if err != nil {
		log.Fatal(err)
	}
	b, err := proofs.ParseBundle(data)
	if err != nil {
		log.Fatal(err)
	}
	cp, err := proofs.VerifyBundle(b, origin, verifier)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("verified: %q is entry %d of %d in %s\n", b.Extra, b.Index, cp.Size, cp.Origin)
	// Output:
	// c2sp.org/tlog-proof@v1
	// extra dHdv
	// index 2
	// Zx8UbF5HHooag6PCFM5LqQe486WIjRTMjNPOdbsS75Q=
	// iiq+yu+Pz0GJ9OZMFdfUJhwUJRvf4oYcY90ek68bmUs=
	// 9xWrP6pdBx5uKsS7mU1b9zWUPcw3mdoNCF55gM+5M2o=
	//
	// example.com/ledger
	// 5
	// ii7ViYyVMrUss8/JH3IOusEasWyEafEphOEB4JSXozA=
	//
	// — example.com/ledger +mV25LMl5dYf0Dv6ythvIV4lsNJuohbSjZOQbX46d9JBgDMYPZ8g+82o7nfGD5IQRlF7mqUaVRdtP4ZJqUZ7RiVBZQk=
	// verified: "two" is entry 2 of 5 in example.com/ledger
}

// exampleEvidence signs checkpoints of a log at size 3 and of a rewritten
// history at size 4, and returns the evidence of their inconsistency.
func exampleEvidence() []byte {
	signer, err := note.NewSigner(exampleSKey)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := note.NewVerifier(exampleVKey)
	if err != nil {
		log.Fatal(err)
	}
	var honest, forked memLog
	for _, e := range []string{"zero", "one", "two"} {
		honest.append([]byte(e))
	}
	old, err := proofs.OpenCheckpoint(honest.checkpoint(signer), origin, verifier)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range []string{"zero", "ONE", "two", "three"} {
		forked.append([]byte(e))
	}
	new, err := proofs.OpenCheckpoint(forked.checkpoint(signer), origin, verifier)
	if err != nil {
		log.Fatal(err)
	}
	p, err := proofs.ProveConsistency(old.Size, new.Size, &forked)
	if err != nil {
		log.Fatal(err)
	}
	err = proofs.VerifyConsistency(old, new, p)
	var ie *proofs.InconsistencyError
	if !errors.As(err, &ie) {
		log.Fatalf("VerifyConsistency = %v, want an inconsistency", err)
	}
	return ie.MarshalEvidence()
}

// A log that rewrites history cannot prove its new checkpoint consistent
// with an old one. The error keeps both signed checkpoints and the proof,
// and writes them out as evidence.
func ExampleInconsistencyError_MarshalEvidence() {
	os.Stdout.Write(exampleEvidence())
	// Output:
	// agentledger/consistency-evidence@v1
	// old 3
	// new 4
	// qxq38Hx8j+Dv9LpvqlPH5EEukaWZFT6KpOAb7s5beCU=
	// Zx8UbF5HHooag6PCFM5LqQe486WIjRTMjNPOdbsS75Q=
	// ERAP2NxOY3YOayAe5KSqpwuv7OhieuOWFe6oQQKAqoo=
	//
	// old-note 183
	// example.com/ledger
	// 3
	// A9jN2rnQIZbqXtL42/AQnTXSHwcp5YXyeuKU7VUuwys=
	//
	// — example.com/ledger +mV25BFoaAbb98WBFBm+WzKWfDs5qjK40GruVDlM6+L17h8Y4QM0dL62615lAqzzIxwn1tCr0lKgZbtK68bCKpuU9Qg=
	// new-note 183
	// example.com/ledger
	// 4
	// a3VQIZgtAK2cMa9NKjHO2ApcJPsM1u/hu9dgOi1RaTo=
	//
	// — example.com/ledger +mV25Bvp2bAzw6H054nXPRSL+hzH3zv+6jQJxFUiZaUn4vW1xjdxrKuv1v/HR7bVzdd3mOnHLPM2DVLm1rnlfD805As=
}

func ExampleTile_Path() {
	fmt.Println(proofs.Tile{Level: 0, Index: 1234067, Width: proofs.TileWidth}.Path())
	fmt.Println(proofs.Tile{Level: 2, Index: 5, Width: 7}.Path())
	fmt.Println(proofs.Tile{Index: 0, Width: 3, Entries: true}.Path())
	// Output:
	// tile/0/x001/x234/067
	// tile/2/005.p/7
	// tile/entries/000.p/3
}

// TestDocWorkedExamples keeps the worked examples in the package
// documentation true: doc.go must quote the bundle and the evidence the
// examples produce, line for line.
func TestDocWorkedExamples(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"bundle": exampleBundle(), "evidence": exampleEvidence()} {
		var quoted strings.Builder
		for _, line := range strings.SplitAfter(strings.TrimSuffix(string(out), "\n"), "\n") {
			if line == "\n" {
				quoted.WriteString("//\n")
				continue
			}
			quoted.WriteString("//\t" + line)
		}
		if !strings.Contains(string(doc), quoted.String()+"\n") {
			t.Errorf("doc.go does not quote the %s example:\n%s", name, quoted.String())
		}
	}
}
