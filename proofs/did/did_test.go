package did

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
)

// seedVectors are the published Ed25519 vectors of the W3C CCG did:key
// method (test-vectors/ed25519-x25519.json): the key derived from seed
// gives did.
var seedVectors = []struct {
	seed string // hex
	did  string
}{
	{
		seed: "0000000000000000000000000000000000000000000000000000000000000000",
		did:  "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
	},
	{
		seed: "0000000000000000000000000000000000000000000000000000000000000001",
		did:  "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
	},
}

// pubVectors pair a published did:key with its raw public key, base58btc
// encoded (as publicKeyBase58 in the DID documents that use it).
var pubVectors = []struct {
	did, pub58 string
}{
	{
		did:   "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",
		pub58: "8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K",
	},
	{
		did:   "did:key:z6MkwJSaEMnE4u6LiqrZV1BJHSkc9x8S4mTm3ArNL1m19BZR",
		pub58: "HrBXe7XnjMbscM1roSDTSMCcLNraetDQM9wSVjnzDxn3",
	},
}

// specExamples are Ed25519 did:keys that appear in the did:key
// specification and its test suite; they must parse and round trip.
var specExamples = []string{
	"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	"did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b",
}

func TestSeedVectors(t *testing.T) {
	for _, v := range seedVectors {
		seed, err := hex.DecodeString(v.seed)
		if err != nil {
			t.Fatal(err)
		}
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if got := FromPublicKey(pub); got != v.did {
			t.Errorf("FromPublicKey(seed %s) = %s, want %s", v.seed, got, v.did)
		}
		got, err := Parse(v.did)
		if err != nil {
			t.Fatalf("Parse(%s): %v", v.did, err)
		}
		if !got.Equal(pub) {
			t.Errorf("Parse(%s) = %x, want %x", v.did, got, pub)
		}
	}
}

func TestPublicKeyVectors(t *testing.T) {
	for _, v := range pubVectors {
		want, err := base58.Decode(v.pub58)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(v.did)
		if err != nil {
			t.Fatalf("Parse(%s): %v", v.did, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Parse(%s) = %x, want %x", v.did, got, want)
		}
		if s := FromPublicKey(want); s != v.did {
			t.Errorf("FromPublicKey(%s) = %s, want %s", v.pub58, s, v.did)
		}
	}
}

func TestSpecExamplesRoundTrip(t *testing.T) {
	for _, s := range specExamples {
		pub, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%s): %v", s, err)
		}
		if got := FromPublicKey(pub); got != s {
			t.Errorf("FromPublicKey(Parse(%s)) = %s", s, got)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	for range 200 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		s := FromPublicKey(pub)
		if len(s) > MaxLen {
			t.Fatalf("len(%s) = %d > MaxLen", s, len(s))
		}
		if !strings.HasPrefix(s, Prefix+"z6Mk") {
			t.Errorf("%s does not start with did:key:z6Mk", s)
		}
		got, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%s): %v", s, err)
		}
		if !got.Equal(pub) {
			t.Fatalf("Parse(FromPublicKey(%x)) = %x", pub, got)
		}
	}
}

func TestParseReturnsUnaliasedKey(t *testing.T) {
	pub, err := Parse(seedVectors[0].did)
	if err != nil {
		t.Fatal(err)
	}
	if cap(pub) != ed25519.PublicKeySize {
		t.Errorf("cap(pub) = %d, want %d", cap(pub), ed25519.PublicKeySize)
	}
}

func TestFromPublicKeyPanicsOnBadLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("FromPublicKey of a 31-byte key did not panic")
		}
	}()
	FromPublicKey(make([]byte, 31))
}

// encode builds "did:key:z" + base58btc(raw), for crafting refusals.
func encode(raw ...[]byte) string {
	return Prefix + "z" + base58.Encode(bytes.Join(raw, nil))
}

func TestParseRefuses(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	good := encode([]byte{0xed, 0x01}, key)
	if _, err := Parse(good); err != nil {
		t.Fatalf("control: Parse(%s): %v", good, err)
	}
	tail := strings.TrimPrefix(good, Prefix+"z")

	cases := []struct {
		name, in string
	}{
		{"empty", ""},
		{"prefix only", "did:key:"},
		{"multibase only", "did:key:z"},
		{"uppercase scheme", "DID:KEY:" + good[len(Prefix):]},
		{"uppercase method", "did:KEY:" + good[len(Prefix):]},
		{"other method", "did:web:" + good[len(Prefix):]},
		{"no scheme", good[len(Prefix):]},
		{"trailing space", good + " "},
		{"trailing newline", good + "\n"},
		{"leading space", " " + good},
		{"fragment", good + "#" + good[len(Prefix):]},
		{"path", good + "/path"},
		{"query", good + "?x=1"},
		{"NUL suffix", good + "\x00"},
		{"too long", Prefix + "z" + strings.Repeat("2", MaxLen)},

		{"multibase f (hex)", Prefix + "f" + hex.EncodeToString(append([]byte{0xed, 0x01}, key...))},
		{"multibase m (base64)", Prefix + "m" + tail},
		{"multibase u (base64url)", Prefix + "u" + tail},
		{"multibase Z uppercase", Prefix + "Z" + tail},

		{"base58 zero", Prefix + "z0" + tail[1:]},
		{"base58 O", Prefix + "zO" + tail[1:]},
		{"base58 I", Prefix + "zI" + tail[1:]},
		{"base58 l", Prefix + "zl" + tail[1:]},
		{"base58 non-ASCII", Prefix + "z\u00e9" + tail},
		{"base58 plus", Prefix + "z+" + tail},
		{"leading base58 zero digit", Prefix + "z1" + tail},

		{"x25519 multicodec", encode([]byte{0xec, 0x01}, key)},
		{"secp256k1 multicodec", encode([]byte{0xe7, 0x01}, append([]byte{0x02}, key...))},
		{"p256 multicodec", encode([]byte{0x80, 0x24}, append([]byte{0x02}, key...))},
		{"bls12-381 g2 multicodec", encode([]byte{0xeb, 0x01}, key)},
		{"ed25519-priv multicodec", encode([]byte{0x80, 0x26}, key)},
		{"non-minimal varint", encode([]byte{0xed, 0x81, 0x00}, key)},
		{"no multicodec", encode(key)},
		{"multicodec only", encode([]byte{0xed, 0x01})},
		{"one byte", encode([]byte{0xed})},
		{"key 31 bytes", encode([]byte{0xed, 0x01}, key[:31])},
		{"key 33 bytes", encode([]byte{0xed, 0x01}, key, []byte{0})},
		{"key 64 bytes", encode([]byte{0xed, 0x01}, key, key)},
		{"leading zero byte", encode([]byte{0x00, 0xed, 0x01}, key)},
		{"test suite short key", "did:key:zTjsVPtY"},
		// A published X25519 did:key (key agreement key), not Ed25519.
		{"published x25519", "did:key:z6LSnHCakA8zvH61bCXv7goaT2MyVf8PjfW7XjeKTEGCgG9N"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pub, err := Parse(c.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %x, want error", c.in, pub)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%q) error %v does not wrap ErrMalformed", c.in, err)
			}
			if pub != nil {
				t.Errorf("Parse(%q) returned a key with an error", c.in)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error %q does not start lowercase", msg)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	s := seedVectors[1].did
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromPublicKey(b *testing.B) {
	pub, _, _ := ed25519.GenerateKey(nil)
	b.ReportAllocs()
	for b.Loop() {
		_ = FromPublicKey(pub)
	}
}
