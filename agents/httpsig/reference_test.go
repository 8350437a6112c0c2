package httpsig

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"

	"github.com/dunglas/httpsfv"

	"github.com/agentledger/agentledger/proofs/did"
)

// This file keeps the original httpsfv-based verification path, before
// the strict canonical-form parser (canonical.go) replaced it on the hot
// path, as the reference the differential tests compare Verify and
// ParseContentDigest against: same acceptance, same values, same error
// text. It is a verbatim copy of that code, renamed; the helpers Verify
// still shares unchanged (joinedLen, fieldValue, validNonce, describe,
// checkTimes) are not copied, and neither is the @authority rule
// (requestAuthority), which changed after the copy.

func (v *Verifier) refVerify(req *http.Request, body []byte) (*Verified, error) {
	if req == nil || req.URL == nil || req.Header == nil {
		return nil, fmt.Errorf("%w: request has no URL or header", ErrMalformedSignature)
	}
	maxBody := v.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	inputs := req.Header.Values(HeaderSignatureInput)
	sigs := req.Header.Values(HeaderSignature)
	if len(inputs) == 0 && len(sigs) == 0 {
		return nil, ErrMissingSignature
	}
	if len(inputs) == 0 || len(sigs) == 0 {
		return nil, fmt.Errorf("%w: %s and %s must both be present", ErrMalformedSignature, HeaderSignatureInput, HeaderSignature)
	}

	digests := req.Header.Values(HeaderContentDigest)
	contract := req.Header.Values(HeaderContract)
	for _, f := range []struct {
		name  string
		lines []string
		max   int
	}{
		{HeaderSignatureInput, inputs, MaxHeaderLen},
		{HeaderSignature, sigs, MaxHeaderLen},
		{HeaderContentDigest, digests, MaxHeaderLen},
		{HeaderContract, contract, MaxContractLen},
	} {
		if n := joinedLen(f.lines); n > f.max {
			return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, f.name, n, f.max)
		}
	}
	if int64(len(body)) > maxBody {
		return nil, fmt.Errorf("%w: body is %d bytes, limit %d", ErrTooLarge, len(body), maxBody)
	}

	params, sig, err := refParseSignatureFields(inputs, sigs)
	if err != nil {
		return nil, err
	}
	p, err := refCheckParams(params)
	if err != nil {
		return nil, err
	}
	if err := refCheckComponents(params.Items); err != nil {
		return nil, err
	}
	pub, err := did.Parse(p.keyID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKeyID, err)
	}
	out := &Verified{KeyID: p.keyID, PublicKey: pub, Nonce: p.nonce}
	if out.Created, out.Expires, out.ReplayUntil, err = v.checkTimes(p.created, p.expires); err != nil {
		return nil, err
	}
	if !validNonce(p.nonce) {
		return nil, fmt.Errorf("%w: nonce is not %d-%d characters of [A-Za-z0-9_-]", ErrMalformedSignature, MinNonceLen, MaxNonceLen)
	}
	if len(contract) != 1 || fieldValue(contract) == "" {
		return nil, fmt.Errorf("%w: want exactly one non-empty %s field line, have %d", ErrMalformedSignature, HeaderContract, len(contract))
	}
	out.Contract = fieldValue(contract)

	if len(digests) == 0 {
		return nil, fmt.Errorf("%w: no %s", ErrDigestMismatch, HeaderContentDigest)
	}
	want, err := refParseContentDigest(strings.Join(digests, ", "))
	if err != nil {
		return nil, err
	}
	out.BodyDigest = sha256.Sum256(body)
	if out.BodyDigest != want {
		return nil, fmt.Errorf("%w: body has sha-256 %x, %s says %x", ErrDigestMismatch, out.BodyDigest, HeaderContentDigest, want)
	}

	base, err := refSignatureBase(req, params)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSignature, err)
	}
	if !ed25519Verify(pub, base, sig) {
		return nil, fmt.Errorf("%w: keyid %s", ErrBadSignature, p.keyID)
	}
	return out, nil
}

func refParseSignatureFields(inputs, sigs []string) (httpsfv.InnerList, []byte, error) {
	var none httpsfv.InnerList
	in, err := refParseDict(HeaderSignatureInput, inputs)
	if err != nil {
		return none, nil, err
	}
	sd, err := refParseDict(HeaderSignature, sigs)
	if err != nil {
		return none, nil, err
	}
	for _, d := range []struct {
		name string
		dict *httpsfv.Dictionary
	}{{HeaderSignatureInput, in}, {HeaderSignature, sd}} {
		names := d.dict.Names()
		if len(names) != 1 {
			return none, nil, fmt.Errorf("%w: %s has %d signatures, the profile takes exactly one", ErrUnsupported, d.name, len(names))
		}
		if names[0] != Label {
			return none, nil, fmt.Errorf("%w: %s label is %q, want %q", ErrUnsupported, d.name, names[0], Label)
		}
	}
	m, _ := in.Get(Label)
	params, ok := m.(httpsfv.InnerList)
	if !ok {
		return none, nil, fmt.Errorf("%w: %s %s is not an inner list", ErrMalformedSignature, HeaderSignatureInput, Label)
	}
	m, _ = sd.Get(Label)
	it, ok := m.(httpsfv.Item)
	if !ok {
		return none, nil, fmt.Errorf("%w: %s %s is not an item", ErrMalformedSignature, HeaderSignature, Label)
	}
	sig, ok := it.Value.([]byte)
	if !ok || len(sig) != ed25519.SignatureSize || len(it.Params.Names()) != 0 {
		return none, nil, fmt.Errorf("%w: %s %s is not a %d-byte byte sequence", ErrMalformedSignature, HeaderSignature, Label, ed25519.SignatureSize)
	}
	return params, sig, nil
}

func refParseDict(name string, lines []string) (*httpsfv.Dictionary, error) {
	d, err := httpsfv.UnmarshalDictionary(lines)
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not parse: %w", ErrMalformedSignature, name, err)
	}
	again, err := httpsfv.Marshal(d)
	if err != nil || again != strings.Join(lines, ", ") {
		return nil, fmt.Errorf("%w: %s is not in canonical form", ErrMalformedSignature, name)
	}
	return d, nil
}

func refCheckParams(il httpsfv.InnerList) (sigParams, error) {
	var p sigParams
	ps := il.Params
	for _, want := range [...]struct{ name, value string }{{"alg", Alg}, {"tag", Tag}} {
		v, ok := ps.Get(want.name)
		if !ok {
			return p, fmt.Errorf("%w: no %s parameter, want %q", ErrUnsupported, want.name, want.value)
		}
		if s, _ := v.(string); s != want.value {
			return p, fmt.Errorf("%w: %s is %s, want %q", ErrUnsupported, want.name, describe(v), want.value)
		}
	}
	for _, name := range ps.Names() {
		v, _ := ps.Get(name)
		ok := true
		switch name {
		case "alg", "tag":
		case "created":
			p.created, ok = v.(int64)
		case "expires":
			p.expires, ok = v.(int64)
		case "nonce":
			p.nonce, ok = v.(string)
		case "keyid":
			p.keyID, ok = v.(string)
		default:
			return p, fmt.Errorf("%w: unknown signature parameter %q", ErrUnsupported, name)
		}
		if !ok {
			return p, fmt.Errorf("%w: parameter %s is %s", ErrMalformedSignature, name, describe(v))
		}
	}
	for _, name := range [...]string{"created", "expires", "nonce", "keyid"} {
		if _, ok := ps.Get(name); !ok {
			return p, fmt.Errorf("%w: no %s parameter", ErrMalformedSignature, name)
		}
	}
	return p, nil
}

func refCheckComponents(items []httpsfv.Item) error {
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		name, ok := it.Value.(string)
		if !ok {
			return fmt.Errorf("%w: covered component %s is not a string", ErrMalformedSignature, describe(it.Value))
		}
		if len(it.Params.Names()) != 0 {
			return fmt.Errorf("%w: covered component %q has parameters", ErrUnsupported, name)
		}
		if seen[name] {
			return fmt.Errorf("%w: covered component %q appears twice", ErrMalformedSignature, name)
		}
		seen[name] = true
	}
	for _, want := range coveredComponents {
		if !seen[want] {
			return fmt.Errorf("%w: %q is not covered", ErrUnsupported, want)
		}
	}
	if len(seen) != len(coveredComponents) {
		return fmt.Errorf("%w: covered components beyond the profile's %d", ErrUnsupported, len(coveredComponents))
	}
	return nil
}

func refSignatureBase(req *http.Request, params httpsfv.InnerList) ([]byte, error) {
	var b strings.Builder
	seen := make(map[string]bool, len(params.Items))
	for _, it := range params.Items {
		name, ok := it.Value.(string)
		if !ok {
			return nil, fmt.Errorf("%w: component identifier is not a string", errBase)
		}
		if it.Params == nil || len(it.Params.Names()) != 0 {
			return nil, fmt.Errorf("%w: component %q has parameters", errBase, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: component %q covered twice", errBase, name)
		}
		seen[name] = true
		value, err := refComponentValue(req, name)
		if err != nil {
			return nil, err
		}
		id, err := httpsfv.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("%w: component %q: %w", errBase, name, err)
		}
		b.WriteString(id)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteByte('\n')
	}
	sp, err := httpsfv.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%w: signature parameters: %w", errBase, err)
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(sp)
	return []byte(b.String()), nil
}

func refComponentValue(req *http.Request, name string) (string, error) {
	var v string
	switch name {
	case "@method":
		v = req.Method
		if v == "" {
			v = http.MethodGet
		}
	case "@authority":
		// The one rule not copied: both paths normalize as RFC 9421
		// §2.2.3 says, with requestAuthority.
		var err error
		if v, err = requestAuthority(req); err != nil {
			return "", err
		}
	case "@path":
		if req.URL == nil || req.URL.Opaque != "" {
			return "", fmt.Errorf("%w: request URL has no path", errBase)
		}
		v = req.URL.EscapedPath()
		if v == "" {
			v = "/"
		}
	case "@query":
		if req.URL == nil {
			return "", fmt.Errorf("%w: request has no URL", errBase)
		}
		v = "?" + req.URL.RawQuery
	default:
		if name == "" || name[0] == '@' || name != strings.ToLower(name) {
			return "", fmt.Errorf("%w: unsupported component %q", errBase, name)
		}
		lines := req.Header.Values(name)
		if len(lines) == 0 {
			return "", fmt.Errorf("%w: covered field %q is absent", errBase, name)
		}
		v = fieldValue(lines)
	}
	if i := strings.IndexFunc(v, refIsControl); i >= 0 {
		return "", fmt.Errorf("%w: component %q holds control character %#x", errBase, name, v[i])
	}
	return v, nil
}

func refIsControl(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
}

func refParseContentDigest(value string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if len(value) > MaxHeaderLen {
		return sum, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, HeaderContentDigest, len(value), MaxHeaderLen)
	}
	d, err := httpsfv.UnmarshalDictionary([]string{value})
	if err != nil {
		return sum, fmt.Errorf("%w: %s does not parse: %w", ErrDigestMismatch, HeaderContentDigest, err)
	}
	names := d.Names()
	if len(names) != 1 || names[0] != digestAlg {
		return sum, fmt.Errorf("%w: %s must hold exactly one %s digest", ErrDigestMismatch, HeaderContentDigest, digestAlg)
	}
	m, _ := d.Get(digestAlg)
	it, ok := m.(httpsfv.Item)
	if !ok {
		return sum, fmt.Errorf("%w: %s %s is not a byte sequence", ErrDigestMismatch, HeaderContentDigest, digestAlg)
	}
	raw, ok := it.Value.([]byte)
	if !ok || len(raw) != sha256.Size || len(it.Params.Names()) != 0 {
		return sum, fmt.Errorf("%w: %s %s is not a 32-byte byte sequence", ErrDigestMismatch, HeaderContentDigest, digestAlg)
	}
	copy(sum[:], raw)
	if formatContentDigest(sum) != value {
		return [sha256.Size]byte{}, fmt.Errorf("%w: %s is not in canonical form", ErrDigestMismatch, HeaderContentDigest)
	}
	return sum, nil
}
