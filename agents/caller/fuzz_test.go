package caller

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

// FuzzParseContract feeds ParseContract arbitrary tlog-proofs, seeded with
// one carrying a real contract. What it accepts names the entry the proof
// carries (its index, and the leaf hash of its bytes), holds a contract
// statement that marshals and parses back unchanged, and keeps the proof
// as given.
func FuzzParseContract(f *testing.F) {
	authority := fixture.Fixed("authority", 1)
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	env, _, err := fixture.Contract(authority.Key, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
		"did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf", []string{"payment:charge:max_100usd"}, t0, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	reg, err := fixture.Registration(authority.Key, authority, "low", t0)
	if err != nil {
		f.Fatal(err)
	}
	skey, _, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{2}, 64)), "example.com/log")
	if err != nil {
		f.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	cp, err := note.Sign(&note.Note{Text: "example.com/log\n3\n" + proofs.LeafHash(nil).String() + "\n"}, signer)
	if err != nil {
		f.Fatal(err)
	}
	for _, extra := range [][]byte{env, reg, nil, []byte("x")} {
		b := proofs.Bundle{Index: 2, Proof: proofs.InclusionProof{proofs.LeafHash(nil), proofs.LeafHash([]byte("a"))}, Extra: extra, Checkpoint: cp}
		f.Add(b.Marshal())
	}
	f.Fuzz(func(t *testing.T, bundle []byte) {
		c, err := ParseContract(bundle)
		if err != nil {
			return
		}
		b, err := proofs.ParseBundle(bundle)
		if err != nil {
			t.Fatalf("accepted a contract whose proof does not parse: %v", err)
		}
		if c.Ref.Index != b.Index || c.Ref.LeafHash != proofs.LeafHash(b.Extra) || !bytes.Equal(c.Bundle, bundle) {
			t.Fatalf("contract %+v does not name the entry its proof carries", c.Ref)
		}
		raw, err := c.Statement.Marshal()
		if err != nil {
			t.Fatalf("accepted contract does not marshal: %v", err)
		}
		again, err := statement.ParseContract(raw)
		if err != nil || !reflect.DeepEqual(again, c.Statement) {
			t.Fatalf("contract %+v marshals to %s, which parses as %+v (%v)", c.Statement, raw, again, err)
		}
	})
}
