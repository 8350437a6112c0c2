package httpsig

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/agentledger/agentledger/proofs/did"
)

// Verified is what a verified request proves: the holder of PublicKey
// (named by KeyID) signed this method, authority, path, query, body and
// Ledger-Contract value, with this nonce, between Created and Expires.
type Verified struct {
	// KeyID is the signer's did:key, and PublicKey the key it names.
	KeyID     string
	PublicKey ed25519.PublicKey
	// Created and Expires are the signature's validity window.
	Created, Expires time.Time
	// Nonce is the signer's nonce. The caller checks it for replay.
	Nonce string
	// ReplayUntil is the last moment at which this signature could verify
	// again under the same Verifier settings: the caller MUST remember
	// (KeyID, Nonce) at least until then.
	ReplayUntil time.Time
	// Contract is the Ledger-Contract field value that was signed.
	Contract string
	// BodyDigest is the SHA-256 of the body, as checked against
	// Content-Digest.
	BodyDigest [sha256.Size]byte
}

// A Verifier checks signed requests against the profile. The zero value
// is ready to use.
type Verifier struct {
	// Now returns the verifier's time; nil means time.Now.
	Now func() time.Time
	// Skew is the clock-skew window; zero means DefaultSkew.
	Skew time.Duration
	// MaxBody is the largest body Verify accepts; zero means DefaultMaxBody.
	MaxBody int64
}

// ed25519Verify is the one Ed25519 verification; tests count calls to it.
var ed25519Verify = ed25519.Verify

// Verify checks that req, whose exact body is body, carries a valid profile
// signature, and returns what it proves. The checks run cheapest first and
// the Ed25519 verification last (see the package documentation). Errors
// wrap one of the Err* refusal reasons. Verify does not check the nonce for
// replay, and does not read req.Body.
func (v *Verifier) Verify(req *http.Request, body []byte) (*Verified, error) {
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

	// Sizes, before anything is parsed.
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

	// The fast path (canonical.go) reads the signature fields when they
	// are in the one form that passes the three checks below; the general
	// path parses any other form over httpsfv, and gives the refusal and
	// its reason, here or (for a value on several field lines or with a
	// String escape) at a later check.
	var (
		fast    profileInput
		general httpsfv.InnerList
		sig     []byte
		err     error
	)
	isFast := fast.parse(inputs, sigs)
	p := fast.sigParams
	if !isFast {
		if general, sig, err = parseSignatureFields(inputs, sigs); err != nil {
			return nil, err
		}
		if p, err = checkParams(general); err != nil {
			return nil, err
		}
		if err := checkComponents(general.Items); err != nil {
			return nil, err
		}
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
	want, err := ParseContentDigest(strings.Join(digests, ", "))
	if err != nil {
		return nil, err
	}
	out.BodyDigest = sha256.Sum256(body)
	if out.BodyDigest != want {
		return nil, fmt.Errorf("%w: body has sha-256 %x, %s says %x", ErrDigestMismatch, out.BodyDigest, HeaderContentDigest, want)
	}

	var base []byte
	if isFast {
		base, sig, err = fast.base(req, digests, contract)
	} else {
		base, err = signatureBase(req, general)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSignature, err)
	}
	if !ed25519Verify(pub, base, sig) {
		return nil, fmt.Errorf("%w: keyid %s", ErrBadSignature, p.keyID)
	}
	return out, nil
}

// joinedLen is the length of lines joined by ", ".
func joinedLen(lines []string) int {
	n := 0
	for i, l := range lines {
		if i > 0 {
			n += 2
		}
		n += len(l)
	}
	return n
}

// parseSignatureFields parses Signature-Input and Signature and returns the
// one signature's covered components and parameters, and its bytes.
func parseSignatureFields(inputs, sigs []string) (httpsfv.InnerList, []byte, error) {
	var none httpsfv.InnerList
	in, err := parseDict(HeaderSignatureInput, inputs)
	if err != nil {
		return none, nil, err
	}
	sd, err := parseDict(HeaderSignature, sigs)
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

// parseDict parses a dictionary field and insists on its canonical form.
func parseDict(name string, lines []string) (*httpsfv.Dictionary, error) {
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

// sigParams are the profile's signature parameters.
type sigParams struct {
	created, expires int64
	nonce, keyID     string
}

// checkParams checks the signature parameters: alg and tag first, then
// that no unknown parameter is present and every required one is, with
// its type.
func checkParams(il httpsfv.InnerList) (sigParams, error) {
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

// describe names a bare item's type for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case int64:
		return fmt.Sprintf("the integer %d", v)
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// checkComponents checks that the covered components are exactly the
// profile's, each once, as plain strings without parameters.
func checkComponents(items []httpsfv.Item) error {
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

// checkTimes checks created and expires against the clock and returns
// them as times, with the moment after which the signature can no longer
// verify.
func (v *Verifier) checkTimes(created, expires int64) (c, e, until time.Time, err error) {
	skew := v.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	if expires <= created {
		return c, e, until, fmt.Errorf("%w: expires %d is not after created %d", ErrMalformedSignature, expires, created)
	}
	if expires-created > int64(MaxTTL/time.Second) {
		return c, e, until, fmt.Errorf("%w: expires - created is %ds, limit %v", ErrStale, expires-created, MaxTTL)
	}
	c, e = time.Unix(created, 0), time.Unix(expires, 0)
	// This check is implied by the two below and expires > created; it
	// stays so that expiry never depends on that reasoning.
	if t.After(e.Add(skew)) {
		return c, e, until, fmt.Errorf("%w: expired at %d, now %d (skew %v)", ErrStale, expires, t.Unix(), skew)
	}
	if c.After(t.Add(skew)) {
		return c, e, until, fmt.Errorf("%w: created %d is in the future, now %d (skew %v)", ErrStale, created, t.Unix(), skew)
	}
	if c.Before(t.Add(-skew)) {
		return c, e, until, fmt.Errorf("%w: created %d is too old, now %d (skew %v)", ErrStale, created, t.Unix(), skew)
	}
	until = c.Add(skew)
	if x := e.Add(skew); x.Before(until) {
		until = x
	}
	return c, e, until, nil
}
