package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
)

// testKey returns the Ed25519 key whose seed is 32 bytes of b.
func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

const testPayload = `{"v":1,"agent":"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp","action":"payment:charge","amount":1250,"currency":"usd","nonce":"q5Zr3","time":"2026-01-02T03:04:05Z"}`

func mustSign(t testing.TB, kind Kind, payload string, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := Sign(kind, []byte(payload), key)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return b
}

// build assembles an envelope in canonical layout from already-encoded
// field values, for crafting envelopes Sign would not make.
func build(typ, payloadB64, keyID, sigB64 string) []byte {
	return fmt.Appendf(nil, `{"payloadType":%q,"payload":%q,"signatures":[{"keyid":%q,"sig":%q}]}`,
		typ, payloadB64, keyID, sigB64)
}

func b64s(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestKinds(t *testing.T) {
	want := map[Kind]string{
		KindRegistration: "application/vnd.agentledger.registration.v1+json",
		KindContract:     "application/vnd.agentledger.contract.v1+json",
		KindRevocation:   "application/vnd.agentledger.revocation.v1+json",
		KindAction:       "application/vnd.agentledger.action.v1+json",
	}
	for k, typ := range want {
		if got := k.PayloadType(); got != typ {
			t.Errorf("%s.PayloadType() = %s, want %s", k, got, typ)
		}
		if got, ok := kindOf([]byte(typ)); !ok || got != k {
			t.Errorf("kindOf(%s) = %s, %v", typ, got, ok)
		}
		got, err := ParseKind(string(k))
		if err != nil || got != k {
			t.Errorf("ParseKind(%s) = %s, %v", k, got, err)
		}
	}
	for _, s := range []string{"", "Action", "ACTION", "payment", "action ", "registrations"} {
		if k, err := ParseKind(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseKind(%q) = %q, %v; want ErrMalformed", s, k, err)
		}
	}
}

// TestPAE pins the DSSE pre-authentication encoding to the example in the
// DSSE protocol specification.
func TestPAE(t *testing.T) {
	got := dsse.PAE("http://example.com/HelloWorld", []byte("hello world"))
	want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
	if string(got) != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	key := testKey(7)
	pub := key.Public().(ed25519.PublicKey)
	for _, kind := range []Kind{KindRegistration, KindContract, KindRevocation, KindAction} {
		b := mustSign(t, kind, testPayload, key)
		if len(b) > proofs.MaxEntrySize {
			t.Fatalf("len = %d", len(b))
		}
		e, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(%s): %v", b, err)
		}
		if e.Kind != kind || string(e.Payload) != testPayload || e.KeyID != did.FromPublicKey(pub) || len(e.Sig) != ed25519.SignatureSize {
			t.Errorf("Parse = %+v", e)
		}
		got, err := e.Verify()
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !got.Equal(pub) {
			t.Errorf("Verify returned %x, want %x", got, pub)
		}
	}
}

// TestWireFormat pins the exact bytes Sign writes: the design's layout,
// built here from its parts, with Ed25519's deterministic signature.
func TestWireFormat(t *testing.T) {
	key := testKey(0)
	payload := []byte(`{"v":1}`)
	typ := "application/vnd.agentledger.contract.v1+json"
	sig := ed25519.Sign(key, []byte("DSSEv1 44 "+typ+" 7 "+string(payload)))
	want := `{"payloadType":"` + typ + `","payload":"eyJ2IjoxfQ==","signatures":[{"keyid":"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp","sig":"` + b64s(sig) + `"}]}`
	got := mustSign(t, KindContract, string(payload), key)
	if string(got) != want {
		t.Errorf("Sign =\n%s\nwant\n%s", got, want)
	}
}

// TestDSSEInterop checks that the canonical form is what encoding/json makes
// of a go-securesystemslib dsse.Envelope, and that such an envelope decodes
// back to the same fields.
func TestDSSEInterop(t *testing.T) {
	b := mustSign(t, KindAction, testPayload, testKey(3))
	var de dsse.Envelope
	if err := json.Unmarshal(b, &de); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(de)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Errorf("json.Marshal(dsse.Envelope) =\n%s\nwant\n%s", again, b)
	}
	body, err := de.DecodeB64Payload()
	if err != nil || string(body) != testPayload {
		t.Errorf("DecodeB64Payload = %q, %v", body, err)
	}
	if de.PayloadType != KindAction.PayloadType() || len(de.Signatures) != 1 || de.Signatures[0].KeyID != did.FromPublicKey(testKey(3).Public().(ed25519.PublicKey)) {
		t.Errorf("dsse.Envelope = %+v", de)
	}
}

func TestParseDoesNotAlias(t *testing.T) {
	b := mustSign(t, KindAction, testPayload, testKey(1))
	e, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'A'
	}
	if _, err := e.Verify(); err != nil {
		t.Errorf("Verify after overwriting the input: %v", err)
	}
}

func TestVerifyRefusesOtherKeySameKeyID(t *testing.T) {
	alice, mallory := testKey(1), testKey(2)
	aliceID := did.FromPublicKey(alice.Public().(ed25519.PublicKey))
	// Mallory signs, but names Alice as the signer.
	sig := ed25519.Sign(mallory, dsse.PAE(KindContract.PayloadType(), []byte(testPayload)))
	b := build(KindContract.PayloadType(), b64s([]byte(testPayload)), aliceID, b64s(sig))
	e, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if pub, err := e.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify = %x, %v; want ErrBadSignature", pub, err)
	}
}

func TestVerifyRefusesChangedPayload(t *testing.T) {
	key := testKey(1)
	b := mustSign(t, KindAction, testPayload, key)
	for _, changed := range []string{
		strings.Replace(testPayload, "1250", "9250", 1), // same length
		strings.Replace(testPayload, "1250", "125000", 1),
		testPayload + " ",
		testPayload[:len(testPayload)-1],
	} {
		e, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		e.Payload = []byte(changed)
		if _, err := e.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify of changed payload %q: %v, want ErrBadSignature", changed, err)
		}
		// The same change made on the wire.
		wire := bytes.Replace(b, []byte(b64s([]byte(testPayload))), []byte(b64s([]byte(changed))), 1)
		e, err = Parse(wire)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if _, err := e.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify of changed wire payload: %v, want ErrBadSignature", err)
		}
	}
}

func TestVerifyRefusesChangedPayloadType(t *testing.T) {
	b := mustSign(t, KindAction, testPayload, testKey(1))
	for _, k := range []Kind{KindRegistration, KindContract, KindRevocation} {
		wire := bytes.Replace(b, []byte(KindAction.PayloadType()), []byte(k.PayloadType()), 1)
		e, err := Parse(wire)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if e.Kind != k {
			t.Fatalf("Kind = %s, want %s", e.Kind, k)
		}
		if _, err := e.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify with payloadType changed to %s: %v, want ErrBadSignature", k, err)
		}
	}
}

func TestVerifyRefusesChangedFields(t *testing.T) {
	b := mustSign(t, KindAction, testPayload, testKey(1))
	cases := map[string]struct {
		mutate func(*Envelope)
		want   error
	}{
		"unknown kind":   {func(e *Envelope) { e.Kind = "payment" }, ErrMalformed},
		"empty kind":     {func(e *Envelope) { e.Kind = "" }, ErrMalformed},
		"bad keyid":      {func(e *Envelope) { e.KeyID = "did:key:zzz" }, ErrMalformed},
		"other keyid":    {func(e *Envelope) { e.KeyID = did.FromPublicKey(testKey(2).Public().(ed25519.PublicKey)) }, ErrBadSignature},
		"short sig":      {func(e *Envelope) { e.Sig = e.Sig[:63] }, ErrMalformed},
		"nil sig":        {func(e *Envelope) { e.Sig = nil }, ErrMalformed},
		"flipped sig":    {func(e *Envelope) { e.Sig[0] ^= 1 }, ErrBadSignature},
		"flipped S high": {func(e *Envelope) { e.Sig[63] ^= 0x80 }, ErrBadSignature},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			c.mutate(e)
			if pub, err := e.Verify(); !errors.Is(err, c.want) || pub != nil {
				t.Errorf("Verify = %x, %v; want %v", pub, err, c.want)
			}
		})
	}
}

// TestEveryBitFlipRefused flips each bit of a signed envelope in turn: each
// result must fail Parse or Verify.
func TestEveryBitFlipRefused(t *testing.T) {
	b := mustSign(t, KindRevocation, `{"v":1,"contract":"x","reason":"test"}`, testKey(9))
	bits := []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80}
	if testing.Short() {
		bits = bits[:1]
	}
	for i := range b {
		for _, bit := range bits {
			m := bytes.Clone(b)
			m[i] ^= bit
			e, err := Parse(m)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("byte %d bit %#x: Parse error %v is not ErrMalformed", i, bit, err)
				}
				continue
			}
			if _, err := e.Verify(); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("byte %d bit %#x: %s verified (err %v)", i, bit, m, err)
			}
		}
	}
}

func TestSignRefuses(t *testing.T) {
	key := testKey(1)
	if _, err := Sign("payment", []byte(testPayload), key); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign unknown kind: %v, want ErrMalformed", err)
	}
	if _, err := Sign(KindAction, nil, key); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign empty payload: %v, want ErrMalformed", err)
	}
	if _, err := Sign(KindAction, []byte(testPayload), key[:32]); err == nil {
		t.Error("Sign with a 32-byte key succeeded")
	}
	if _, err := Sign(KindAction, make([]byte, proofs.MaxEntrySize), key); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Sign of proofs.MaxEntrySize payload: %v, want ErrTooLarge", err)
	}
}

// TestSizeLimit finds the largest payload Sign accepts and checks the
// boundary from both sides.
func TestSizeLimit(t *testing.T) {
	key := testKey(1)
	var n int
	var b []byte
	for n = proofs.MaxEntrySize * 3 / 4; n > 0; n-- {
		var err error
		b, err = Sign(KindAction, bytes.Repeat([]byte{'x'}, n), key)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Sign(%d bytes): %v, want ErrTooLarge", n, err)
		}
	}
	if len(b) > proofs.MaxEntrySize || len(b) < proofs.MaxEntrySize-4 {
		t.Fatalf("largest envelope is %d bytes (payload %d)", len(b), n)
	}
	e, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse of %d-byte envelope: %v", len(b), err)
	}
	if _, err := e.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := Sign(KindAction, bytes.Repeat([]byte{'x'}, n+1), key); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Sign(%d bytes): %v, want ErrTooLarge", n+1, err)
	}

	big := make([]byte, proofs.MaxEntrySize+1)
	copy(big, b)
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(proofs.MaxEntrySize+1 bytes): %v, want ErrTooLarge", err)
	}
	if _, err := Parse(make([]byte, 10*proofs.MaxEntrySize)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(10*proofs.MaxEntrySize bytes): %v, want ErrTooLarge", err)
	}
}
