package did

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, v := range seedVectors {
		f.Add(v.did)
	}
	for _, v := range pubVectors {
		f.Add(v.did)
	}
	for _, s := range specExamples {
		f.Add(s)
	}
	f.Add("")
	f.Add("did:key:")
	f.Add("did:key:z")
	f.Add("did:key:zTjsVPtY")
	f.Add("did:key:z6LSnHCakA8zvH61bCXv7goaT2MyVf8PjfW7XjeKTEGCgG9N")
	f.Add("DID:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp")
	f.Add("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp ")
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrMalformed", s, err)
			}
			if pub != nil {
				t.Fatalf("Parse(%q): key returned with error", s)
			}
			return
		}
		if got := FromPublicKey(pub); got != s {
			t.Fatalf("FromPublicKey(Parse(%q)) = %q", s, got)
		}
	})
}
