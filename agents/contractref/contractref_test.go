package contractref

import (
	"errors"
	"strings"
	"testing"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

func TestRoundTrip(t *testing.T) {
	ref := statement.ContractRef{Index: 42, LeafHash: proofs.LeafHash([]byte("c"))}
	for _, bundle := range [][]byte{nil, []byte("c2sp.org/tlog-proof@v1\nindex 42\n\nsigned note\n")} {
		v, err := Format(ref, bundle)
		if err != nil {
			t.Fatal(err)
		}
		got, gotBundle, err := Parse(v)
		if err != nil || got != ref || string(gotBundle) != string(bundle) {
			t.Fatalf("Parse(%q) = %+v, %q, %v", v, got, gotBundle, err)
		}
	}
	v, _ := FormatReceipt(9, ref.LeafHash)
	if i, h, err := ParseReceipt(v); err != nil || i != 9 || h != ref.LeafHash {
		t.Fatalf("receipt: %d %v %v", i, h, err)
	}
}

func TestParseRefuses(t *testing.T) {
	leaf := ":" + strings.Repeat("A", 43) + "=:"
	for _, v := range []string{
		"", "index=1", "leaf=" + leaf, "index=-1, leaf=" + leaf, "index=1.5, leaf=" + leaf,
		"index=1, leaf=:AAAA:", "index=1, leaf=" + leaf + ", extra=1", "index=1;x=1, leaf=" + leaf,
		"index=1, leaf=" + leaf + ", proof=\"text\"", "index=(1 2), leaf=" + leaf, "garbage ((",
	} {
		if _, _, err := Parse(v); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", v, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	v, _ := Format(statement.ContractRef{Index: 3, LeafHash: proofs.LeafHash(nil)}, []byte("proof"))
	f.Add(v)
	f.Add("index=1, leaf=:AAAA:")
	f.Fuzz(func(t *testing.T, v string) {
		ref, bundle, err := Parse(v)
		if err != nil {
			return
		}
		again, err := Format(ref, bundle)
		if err != nil {
			t.Fatalf("parsed %q but cannot format it: %v", v, err)
		}
		ref2, bundle2, err := Parse(again)
		if err != nil || ref2 != ref || string(bundle2) != string(bundle) {
			t.Fatalf("round trip of %q changed it", v)
		}
	})
}

// FuzzParseReceipt: a Ledger-Receipt value is accepted only without a
// proof, and what is accepted formats back to a value that parses to the
// same receipt; anything else is ErrMalformed.
func FuzzParseReceipt(f *testing.F) {
	v, _ := FormatReceipt(7, proofs.LeafHash([]byte("receipt")))
	f.Add(v)
	withProof, _ := Format(statement.ContractRef{Index: 7, LeafHash: proofs.LeafHash(nil)}, []byte("proof"))
	f.Add(withProof)
	f.Add("index=-1, leaf=:AAAA:")
	f.Add("index=1000000000000000, leaf=" + strings.Split(v, "leaf=")[1])
	f.Fuzz(func(t *testing.T, v string) {
		index, leaf, err := ParseReceipt(v)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseReceipt(%q) = %v, not ErrMalformed", v, err)
			}
			return
		}
		again, err := FormatReceipt(index, leaf)
		if err != nil {
			t.Fatalf("accepted %q but cannot format it: %v", v, err)
		}
		i2, l2, err := ParseReceipt(again)
		if err != nil || i2 != index || l2 != leaf {
			t.Fatalf("%q parsed as %d %v, formatted as %q, parsed again as %d %v (%v)", v, index, leaf, again, i2, l2, err)
		}
	})
}
