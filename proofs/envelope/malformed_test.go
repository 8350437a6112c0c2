package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/agentledger/agentledger/proofs/did"
)

// TestParseRefuses lists envelopes Parse must refuse with ErrMalformed,
// each a small change to a valid one.
func TestParseRefuses(t *testing.T) {
	key := testKey(4)
	good := mustSign(t, KindAction, testPayload, key)
	e, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	typ := KindAction.PayloadType()
	pay := b64s(e.Payload)
	kid := e.KeyID
	sig := b64s(e.Sig)
	sig2 := b64s(ed25519.Sign(testKey(5), []byte("x")))
	sigEntry := `{"keyid":"` + kid + `","sig":"` + sig + `"}`
	prefix := `{"payloadType":"` + typ + `","payload":"` + pay + `",`

	// dirtyTail returns canonical base64 s with a trailing bit that the
	// padding implies is zero set to one: the same bytes, non-canonical.
	dirtyTail := func(s string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		i := len(strings.TrimRight(s, "=")) - 1
		v := strings.IndexByte(alphabet, s[i])
		return s[:i] + string(alphabet[v|1]) + s[i+1:]
	}

	cases := []struct {
		name, in string
	}{
		// Not JSON, or not an object.
		{"empty", ""},
		{"whitespace", " "},
		{"null", "null"},
		{"array", "[" + g + "]"},
		{"string", `"` + g + `"`},
		{"truncated", g[:len(g)-1]},
		{"truncated in sig", g[:len(g)-20]},
		{"open brace", "{"},
		{"empty object", "{}"},
		{"trailing garbage", g + "x"},
		{"two envelopes", g + g},
		{"NUL suffix", g + "\x00"},

		// Valid JSON, not canonical.
		{"leading space", " " + g},
		{"trailing newline", g + "\n"},
		{"byte order mark", "\ufeff" + g},
		{"space after colon", strings.Replace(g, `"payloadType":"`, `"payloadType": "`, 1)},
		{"pretty", strings.ReplaceAll(g, `,"`, ",\n  \"")},
		{"fields reordered", `{"payload":"` + pay + `","payloadType":"` + typ + `","signatures":[` + sigEntry + `]}`},
		{"sig fields reordered", prefix + `"signatures":[{"sig":"` + sig + `","keyid":"` + kid + `"}]}`},
		{"escaped slash in type", strings.Replace(g, "application/", `application\/`, 1)},
		{"unicode escape in type", strings.Replace(g, "application", `\u0061pplication`, 1)},
		{"escaped keyid", strings.Replace(g, "did:key:", `did\u003akey:`, 1)},
		{"escaped field name", strings.Replace(g, `"payload"`, `"p\u0061yload"`, 1)},
		{"field name case", strings.Replace(g, `"payloadType"`, `"PayloadType"`, 1)},
		{"keyid case", strings.Replace(g, `"keyid"`, `"keyId"`, 1)},

		// Fields missing, extra or repeated.
		{"unknown field", strings.Replace(g, `{"payloadType"`, `{"x":1,"payloadType"`, 1)},
		{"unknown field last", strings.TrimSuffix(g, "}") + `,"x":1}`},
		{"unknown signature field", strings.Replace(g, `"}]}`, `","x":"y"}]}`, 1)},
		{"duplicate payloadType", `{"payloadType":"` + typ + `",` + g[1:]},
		{"duplicate payloadType last", strings.TrimSuffix(g, "}") + `,"payloadType":"` + typ + `"}`},
		{"duplicate sig", strings.Replace(g, `"}]}`, `","sig":"`+sig2+`"}]}`, 1)},
		{"missing payloadType", `{"payload":"` + pay + `","signatures":[` + sigEntry + `]}`},
		{"missing payload", `{"payloadType":"` + typ + `","signatures":[` + sigEntry + `]}`},
		{"missing signatures", `{"payloadType":"` + typ + `","payload":"` + pay + `"}`},
		{"missing keyid", prefix + `"signatures":[{"sig":"` + sig + `"}]}`},
		{"missing sig", prefix + `"signatures":[{"keyid":"` + kid + `"}]}`},
		{"null signatures", prefix + `"signatures":null}`},
		{"zero signatures", prefix + `"signatures":[]}`},
		{"two signatures", prefix + `"signatures":[` + sigEntry + `,` + sigEntry + `]}`},
		{"two signatures different keys", prefix + `"signatures":[` + sigEntry + `,{"keyid":"` + did.FromPublicKey(testKey(5).Public().(ed25519.PublicKey)) + `","sig":"` + sig2 + `"}]}`},
		{"signature not object", prefix + `"signatures":["` + sig + `"]}`},
		{"payload not string", `{"payloadType":"` + typ + `","payload":123,"signatures":[` + sigEntry + `]}`},

		// Unknown payload types.
		{"unknown kind", string(build("application/vnd.agentledger.payment.v1+json", pay, kid, sig))},
		{"version 2", string(build("application/vnd.agentledger.action.v2+json", pay, kid, sig))},
		{"in-toto type", string(build("application/vnd.in-toto+json", pay, kid, sig))},
		{"upper case type", string(build(strings.ToUpper(typ), pay, kid, sig))},
		{"empty type", string(build("", pay, kid, sig))},
		{"type with suffix", string(build(typ+";charset=utf-8", pay, kid, sig))},

		// Payload encoding.
		{"empty payload", string(build(typ, "", kid, sig))},
		{"payload unpadded", string(build(typ, strings.TrimRight(b64s([]byte("{}")), "="), kid, sig))},
		{"payload trailing bits", string(build(typ, dirtyTail("e30="), kid, sig))},
		{"payload url alphabet", string(build(typ, base64.URLEncoding.EncodeToString([]byte("\xfb\xff\xfe")), kid, sig))},
		{"payload raw newline", strings.Replace(g, pay, pay[:8]+"\n"+pay[8:], 1)},
		{"payload CR escaped", strings.Replace(g, pay, pay[:8]+`\r`+pay[8:], 1)},
		{"payload newline escaped", strings.Replace(g, pay, pay[:8]+`\n`+pay[8:], 1)},
		{"payload space", strings.Replace(g, pay, pay[:8]+" "+pay[8:], 1)},
		{"payload extra padding", string(build(typ, "e30==", kid, sig))},
		{"payload padding only", string(build(typ, "====", kid, sig))},
		{"payload not base64", string(build(typ, "{}", kid, sig))},

		// Signature encoding and size.
		{"sig trailing bits", string(build(typ, pay, kid, dirtyTail(sig)))},
		{"sig unpadded", string(build(typ, pay, kid, strings.TrimRight(sig, "=")))},
		{"sig url alphabet", string(build(typ, pay, kid, "-_"+sig[2:]))},
		{"sig 63 bytes", string(build(typ, pay, kid, b64s(e.Sig[:63])))},
		{"sig 65 bytes", string(build(typ, pay, kid, b64s(append(bytes.Clone(e.Sig), 0))))},
		{"sig 0 bytes", string(build(typ, pay, kid, ""))},
		{"sig newline", strings.Replace(g, sig, sig[:8]+"\n"+sig[8:len(sig)-1], 1)},

		// Key IDs.
		{"keyid empty", string(build(typ, pay, "", sig))},
		{"keyid not did", string(build(typ, pay, "alice", sig))},
		{"keyid uppercase", string(build(typ, pay, "DID:KEY:"+kid[len(did.Prefix):], sig))},
		{"keyid did url", string(build(typ, pay, kid+"#"+kid[len(did.Prefix):], sig))},
		{"keyid trailing space", string(build(typ, pay, kid+" ", sig))},
		{"keyid x25519", string(build(typ, pay, "did:key:z6LSnHCakA8zvH61bCXv7goaT2MyVf8PjfW7XjeKTEGCgG9N", sig))},
		{"keyid web", string(build(typ, pay, "did:web:example.com", sig))},
		{"keyid huge", string(build(typ, pay, did.Prefix+"z"+strings.Repeat("6", 40000), sig))},
	}
	seen := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if prev, dup := seen[c.in]; dup {
				t.Fatalf("same input as case %q", prev)
			}
			seen[c.in] = c.name
			env, err := Parse([]byte(c.in))
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want error", c.in, env)
			}
			t.Log(err)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse error %v does not wrap ErrMalformed", err)
			}
			if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrBadSignature) {
				t.Errorf("Parse error %v wraps the wrong sentinel", err)
			}
			if env != nil {
				t.Error("Parse returned an envelope with an error")
			}
			if msg := err.Error(); len(msg) > 300 {
				t.Errorf("error is %d bytes long: %.300s", len(msg), msg)
			}
		})
	}
}

// TestParseErrorsSayWhy checks that the refusals a caller is likely to see
// name their cause.
func TestParseErrorsSayWhy(t *testing.T) {
	good := string(mustSign(t, KindAction, testPayload, testKey(4)))
	e, _ := Parse([]byte(good))
	entry := `{"keyid":"` + e.KeyID + `","sig":"` + b64s(e.Sig) + `"}`
	two := strings.Replace(good, entry, entry+","+entry, 1)
	zero := strings.Replace(good, entry, "", 1)
	cases := map[string]string{
		"{":  "invalid json",
		two:  "2 signatures, want exactly 1",
		zero: "0 signatures, want exactly 1",
		strings.Replace(good, "action", "payment", 1): `unknown payloadType "application/vnd.agentledger.payment.v1+json"`,
		" " + good: "not in canonical form",
	}
	for in, want := range cases {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.40s...) error %v, want it to contain %q", in, err, want)
		}
	}
}
