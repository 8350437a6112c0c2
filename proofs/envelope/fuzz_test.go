package envelope

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for i, kind := range []Kind{KindRegistration, KindContract, KindRevocation, KindAction} {
		f.Add(mustSign(f, kind, testPayload, testKey(byte(i))))
	}
	f.Add(mustSign(f, KindAction, "x", testKey(9)))
	f.Add(mustSign(f, KindContract, `{"v":1}`, testKey(0)))
	good := mustSign(f, KindAction, `{"v":1}`, testKey(1))
	f.Add(append([]byte(" "), good...))
	f.Add(bytes.Replace(good, []byte(`"}]}`), []byte(`"},{"keyid":"x","sig":"y"}]}`), 1))
	f.Add([]byte(`{"payloadType":"","payload":"","signatures":[]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			if e != nil {
				t.Fatal("envelope returned with an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Parse error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		// Canonical: what Parse accepts re-encodes to the same bytes.
		again, err := marshal(e.Kind.PayloadType(), e.Payload, e.KeyID, e.Sig)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("Parse accepted a non-canonical envelope\n got %q\nwant %q", b, again)
		}
		if _, err := e.Verify(); err != nil && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify of a parsed envelope: %v", err)
		}
	})
}
