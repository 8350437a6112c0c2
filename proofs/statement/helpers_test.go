package statement

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// DIDs from the did:key test vectors.
const (
	didA = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
	didB = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"
	didC = "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th"
)

// hashB64 is the base64 of a non-zero 32-byte hash.
const hashB64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

// Canonical statements of each kind, as Marshal writes them.
const (
	goodRegistration = `{"v":1,"name":"order-agent","did":"` + didA + `","risk":"low","serves":["order:create"],"time":"2026-11-26T20:00:00Z"}`

	goodContract = `{"v":1,"id":"0123456789abcdef0123456789abcdef","issuer":"` + didA + `","subject":"` + didB +
		`","audience":"` + didC + `","scopes":["payment:charge:max_10000usd","payment:refund"],` +
		`"not_before":"2026-11-26T20:00:00Z","expires":"2026-11-27T20:00:00Z","time":"2026-11-26T19:59:59.5Z"}`

	goodRevocation = `{"v":1,"contract":"` + hashB64 + `","reason":"caller key compromised <&> \"quoted\" ünïcode 😀","time":"2026-11-26T21:00:00Z"}`

	goodAction = `{"v":1,"agent":"` + didC + `","caller":"` + didB + `","contract":{"index":7,"leaf_hash":"` + hashB64 +
		`"},"action":"payment:charge","args_digest":"sha256:` + "abababababababababababababababababababababababababababababababab" +
		`","amount":1000000,"currency":"USD","quantity":2,"target":{"index":5,"leaf_hash":"` + hashB64 +
		`"},"nonce":"n0nce_ABCDEFGH-1234","time":"2026-11-26T20:30:00.123456789Z"}`

	// goodActionBare has none of the optional fields.
	goodActionBare = `{"v":1,"agent":"` + didC + `","caller":"` + didB + `","contract":{"index":0,"leaf_hash":"` + hashB64 +
		`"},"action":"inventory:reserve","args_digest":"sha256:` + "0000000000000000000000000000000000000000000000000000000000000000" +
		`","nonce":"0123456789abcdef","time":"2026-11-26T20:30:00Z"}`
)

// kindParser is one kind's parse and re-marshal, for tests run over all kinds.
type kindParser struct {
	kind  string
	good  string
	parse func([]byte) (any, error)
	// remarshal parses b and writes it again.
	remarshal func([]byte) ([]byte, error)
}

func parsers() []kindParser {
	return []kindParser{
		{kindRegistration, goodRegistration, func(b []byte) (any, error) { return ParseRegistration(b) },
			func(b []byte) ([]byte, error) { return remarshal(ParseRegistration, b) }},
		{kindContract, goodContract, func(b []byte) (any, error) { return ParseContract(b) },
			func(b []byte) ([]byte, error) { return remarshal(ParseContract, b) }},
		{kindRevocation, goodRevocation, func(b []byte) (any, error) { return ParseRevocation(b) },
			func(b []byte) ([]byte, error) { return remarshal(ParseRevocation, b) }},
		{kindAction, goodAction, func(b []byte) (any, error) { return ParseAction(b) },
			func(b []byte) ([]byte, error) { return remarshal(ParseAction, b) }},
	}
}

func remarshal[T interface{ Marshal() ([]byte, error) }](parse func([]byte) (T, error), b []byte) ([]byte, error) {
	v, err := parse(b)
	if err != nil {
		return nil, err
	}
	return v.Marshal()
}

// edit decodes the JSON object s, applies f to it and encodes it again
// (with keys sorted).
func edit(t testing.TB, s string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("edit: %v", err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	return b
}

// set returns s with key set to v.
func set(t testing.TB, s, key string, v any) []byte {
	t.Helper()
	return edit(t, s, func(m map[string]any) { m[key] = v })
}

// wantInvalid checks that err wraps ErrInvalid and mentions each of msgs.
func wantInvalid(t testing.TB, what string, v any, err error, msgs ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, got %+v", what, v)
		return
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%s: error %v does not wrap ErrInvalid", what, err)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%s: error %q does not mention %q", what, err, m)
		}
	}
}
