package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(rfc8410Private))
	f.Add([]byte(rfc8410PrivateV2))
	f.Add([]byte(rfc8410Public))
	for _, name := range []string{"openssl-ed25519.pem", "openssl-ed25519.pub.pem", "openssl-x25519.pem", "openssl-p256.pem", "openssl-ed25519-encrypted.pem", "openssh-ed25519.key"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := Parse(b)
		if err != nil {
			if key != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, %v", key != nil, err)
			}
		} else {
			if len(key) != ed25519.PrivateKeySize || !key.Equal(ed25519.NewKeyFromSeed(key.Seed())) {
				t.Fatal("Parse returned an inconsistent key")
			}
			again, err := Marshal(key)
			if err != nil {
				t.Fatal(err)
			}
			if k2, err := Parse(again); err != nil || !k2.Equal(key) {
				t.Fatalf("Marshal/Parse round trip: %v", err)
			}
		}

		pub, err := ParsePublic(b)
		if err != nil {
			if pub != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParsePublic = %x, %v", pub, err)
			}
			return
		}
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("ParsePublic returned %d bytes", len(pub))
		}
		again, err := MarshalPublic(pub)
		if err != nil {
			t.Fatal(err)
		}
		if p2, err := ParsePublic(again); err != nil || !bytes.Equal(p2, pub) {
			t.Fatalf("MarshalPublic/ParsePublic round trip: %v", err)
		}
	})
}
