package httpsig

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strings"
)

// This file is Verify's fast path: a strict byte-level reader of exactly
// the canonical serialization (RFC 9651 §4) of the Signature-Input and
// Signature values that pass every structural check of the profile. It
// never refuses anything itself. It either returns the same values the
// general path (parseSignatureFields, checkParams and checkComponents,
// over httpsfv) would return, or reports that the value is outside what it
// reads, and Verify then runs the general path, which gives the refusal
// and its reason. So it cannot change what Verify accepts or refuses, only
// how fast Verify gets there.
//
// It reads a value only if it is one field line; the members, parameters
// and items are exactly the profile's, each once, in any order; every
// String is printable ASCII without escapes; and every Integer and Byte
// Sequence is spelled as the canonical serializer spells it. Everything
// else goes to the general path: a value the general path accepts but
// this reader does not either spans several field lines or has a String
// with an escape, and no such value passes the later checks (a nonce or
// did:key holds neither ", " nor a backslash).

// profileInput is one signature read by the fast path.
type profileInput struct {
	sigParams
	// sig is the Ed25519 signature.
	sig [ed25519.SignatureSize]byte
	// order lists the covered components as indexes into
	// coveredComponents, in the order Signature-Input lists them.
	order [len(coveredComponents)]uint8
	// params is the signature's inner list as sent, which is its
	// canonical serialization: the value of "@signature-params".
	params string
}

const (
	inputPrefix = Label + "=("
	sigPrefix   = Label + "=:"
	// sigB64Len is the length of a 64-byte signature in padded base64.
	sigB64Len = (ed25519.SignatureSize + 2) / 3 * 4
)

// Parameter bits, for the set of parameters seen.
const (
	paramCreated = 1 << iota
	paramExpires
	paramNonce
	paramKeyID
	paramAlg
	paramTag
	allParams = 1<<iota - 1
)

// parse reads the one Signature-Input and one Signature field line, and
// reports whether they are in the form the fast path reads.
func (p *profileInput) parse(inputs, sigs []string) bool {
	if len(inputs) != 1 || len(sigs) != 1 {
		return false
	}
	return p.parseInput(inputs[0]) && p.parseSignature(sigs[0])
}

// parseInput reads sig1=(<the six components>)<the six parameters>.
func (p *profileInput) parseInput(s string) bool {
	if !strings.HasPrefix(s, inputPrefix) {
		return false
	}
	p.params = s[len(Label)+1:]
	i := len(inputPrefix)
	var seen uint
	for n := 0; ; n++ {
		if i >= len(s) || s[i] != '"' {
			return false
		}
		j := strings.IndexByte(s[i+1:], '"')
		if j < 0 {
			return false
		}
		c := componentIndex(s[i+1 : i+1+j])
		if c < 0 || seen&(1<<c) != 0 {
			return false
		}
		seen |= 1 << c
		p.order[n] = uint8(c)
		i += j + 2
		if i >= len(s) {
			return false
		}
		if s[i] == ')' {
			i++
			break
		}
		if s[i] != ' ' {
			return false
		}
		i++
	}
	if seen != 1<<len(coveredComponents)-1 {
		return false
	}

	seen = 0
	for i < len(s) {
		if s[i] != ';' {
			return false
		}
		i++
		name, bit := paramName(s[i:])
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		i += len(name) + 1
		var ok bool
		switch bit {
		case paramCreated:
			p.created, i, ok = canonicalInteger(s, i)
		case paramExpires:
			p.expires, i, ok = canonicalInteger(s, i)
		case paramNonce:
			p.nonce, i, ok = plainString(s, i)
		case paramKeyID:
			p.keyID, i, ok = plainString(s, i)
		case paramAlg:
			var v string
			v, i, ok = plainString(s, i)
			ok = ok && v == Alg
		case paramTag:
			var v string
			v, i, ok = plainString(s, i)
			ok = ok && v == Tag
		}
		if !ok {
			return false
		}
	}
	return seen == allParams
}

// componentIndex returns the index of name in coveredComponents, or -1.
func componentIndex(name string) int {
	for i, c := range coveredComponents {
		if name == c {
			return i
		}
	}
	return -1
}

// paramName returns the profile parameter that s starts with, followed by
// "=", and its bit; or bit 0.
func paramName(s string) (name string, bit uint) {
	for _, p := range [...]struct {
		name string
		bit  uint
	}{
		{"created", paramCreated}, {"expires", paramExpires}, {"nonce", paramNonce},
		{"keyid", paramKeyID}, {"alg", paramAlg}, {"tag", paramTag},
	} {
		if len(s) > len(p.name) && s[len(p.name)] == '=' && s[:len(p.name)] == p.name {
			return p.name, p.bit
		}
	}
	return "", 0
}

// canonicalInteger reads the Integer that starts at s[i] and ends a
// parameter, spelled as the canonical serializer spells it: "0", or at
// most 15 digits without leading zeros, after a "-" if negative. It
// returns the integer and the index after it.
func canonicalInteger(s string, i int) (int64, int, bool) {
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	start := i
	var v int64
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		v = v*10 + int64(s[i]-'0')
		if i-start == 15 {
			return 0, 0, false
		}
	}
	switch n := i - start; {
	case n == 0,
		n > 1 && s[start] == '0',
		s[start] == '0' && neg,
		i < len(s) && s[i] != ';':
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// plainString reads the String that starts at s[i] and ends a parameter,
// if it holds only printable ASCII other than backslash (so that it is
// canonical without escapes). It returns the string's content and the
// index after it.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	i++
	j := strings.IndexByte(s[i:], '"')
	if j < 0 {
		return "", 0, false
	}
	v := s[i : i+j]
	for k := 0; k < len(v); k++ {
		if c := v[k]; c < 0x20 || c > 0x7e || c == '\\' {
			return "", 0, false
		}
	}
	i += j + 1
	if i < len(s) && s[i] != ';' {
		return "", 0, false
	}
	return v, i, true
}

// parseSignature reads sig1=:<canonical base64 of 64 bytes>:.
func (p *profileInput) parseSignature(s string) bool {
	if len(s) != len(sigPrefix)+sigB64Len+1 || s[:len(sigPrefix)] != sigPrefix || s[len(s)-1] != ':' {
		return false
	}
	return decodeCanonical(p.sig[:], s[len(sigPrefix):len(s)-1])
}

// decodeCanonical decodes s, the padded standard base64 of exactly
// len(dst) bytes, into dst, and reports whether s is what the encoder
// writes for them. len(dst) is at most 64.
func decodeCanonical(dst []byte, s string) bool {
	var src, buf, again [sigB64Len]byte
	if len(s) != base64.StdEncoding.EncodedLen(len(dst)) || len(s) > len(src) {
		return false
	}
	copy(src[:], s)
	n, err := base64.StdEncoding.Decode(buf[:], src[:len(s)])
	if err != nil || n != len(dst) {
		return false
	}
	base64.StdEncoding.Encode(again[:], buf[:n])
	if string(again[:len(s)]) != s {
		return false
	}
	copy(dst, buf[:n])
	return true
}

// base returns the signature base of req for the signature p read:
// what signatureBase returns for the same components and parameters, with
// the same errors, built in one buffer. It returns the signature too, in
// the same allocation (so that p itself need not escape). digests and
// contract are the request's Content-Digest and Ledger-Contract field
// lines.
func (p *profileInput) base(req *http.Request, digests, contract []string) (base, sig []byte, err error) {
	const paramsLabel = `"@signature-params": `
	var vals [len(coveredComponents)]struct{ prefix, v string }
	n := len(paramsLabel) + len(p.params)
	for _, c := range p.order {
		name := coveredComponents[c]
		var lines []string
		switch name {
		case "content-digest":
			lines = digests
		case "ledger-contract":
			lines = contract
		}
		prefix, v, err := componentParts(req, name, lines)
		if err != nil {
			return nil, nil, err
		}
		vals[c].prefix, vals[c].v = prefix, v
		n += len(name) + len(`"": `) + len(prefix) + len(v) + 1
	}
	b := make([]byte, 0, n+len(p.sig))
	for _, c := range p.order {
		b = append(b, '"')
		b = append(b, coveredComponents[c]...)
		b = append(b, `": `...)
		b = append(b, vals[c].prefix...)
		b = append(b, vals[c].v...)
		b = append(b, '\n')
	}
	b = append(b, paramsLabel...)
	b = append(b, p.params...)
	return b[:len(b):len(b)], append(b[len(b):], p.sig[:]...), nil
}
