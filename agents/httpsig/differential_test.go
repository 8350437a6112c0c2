package httpsig

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
)

// The differential tests compare Verify, its fast path and
// ParseContentDigest with the original httpsfv-based code kept in
// reference_test.go, on the test requests and systematic mutations of
// their signature fields: same acceptance, same values, same error text,
// same number of Ed25519 verifications.

// checkVerifyAgainstReference verifies req with Verify and refVerify and
// fails t unless both give the same result, and checks the fast parser
// against the reference parser on req's signature fields. calls must
// count Ed25519 verifications (countVerifies).
func checkVerifyAgainstReference(t testing.TB, v *Verifier, req *http.Request, body []byte, calls *int) {
	t.Helper()
	n0 := *calls
	got, err := v.Verify(req, body)
	n1 := *calls
	want, wantErr := v.refVerify(req, body)
	n2 := *calls
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || Reason(err) != Reason(wantErr) {
		t.Fatalf("Verify error\n%v\nreference\n%v\nSignature-Input %q\nSignature %q\nContent-Digest %q",
			err, wantErr, req.Header.Values(HeaderSignatureInput), req.Header.Values(HeaderSignature),
			req.Header.Values(HeaderContentDigest))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Verify = %+v, reference %+v", got, want)
	}
	if n1-n0 != n2-n1 {
		t.Fatalf("%d Ed25519 verifications, reference %d", n1-n0, n2-n1)
	}
	checkParseAgainstReference(t, req, req.Header.Values(HeaderSignatureInput), req.Header.Values(HeaderSignature))
}

// checkParseAgainstReference checks the fast parser on one pair of
// Signature-Input and Signature field lines against the reference parser
// and checks: anything the fast path reads, the reference accepts with the
// same values and the same signature base of req; and the reference
// accepts nothing more than the fast path reads but values on several
// field lines or with a String escape.
func checkParseAgainstReference(t testing.TB, req *http.Request, inputs, sigs []string) {
	t.Helper()
	var fast profileInput
	ok := fast.parse(inputs, sigs)
	il, sig, err := refParseSignatureFields(inputs, sigs)
	var p sigParams
	if err == nil {
		p, err = refCheckParams(il)
	}
	if err == nil {
		err = refCheckComponents(il.Items)
	}
	if !ok {
		if err == nil && len(inputs) == 1 && len(sigs) == 1 && !strings.Contains(inputs[0], `\`) {
			t.Fatalf("fast path does not read %q / %q, which the reference accepts", inputs, sigs)
		}
		return
	}
	if err != nil {
		t.Fatalf("fast path reads %q / %q, which the reference refuses: %v", inputs, sigs, err)
	}
	if fast.sigParams != p || !bytes.Equal(fast.sig[:], sig) {
		t.Fatalf("fast path read %+v %x, reference %+v %x", fast.sigParams, fast.sig, p, sig)
	}
	var order []string
	for _, c := range fast.order {
		order = append(order, coveredComponents[c])
	}
	var refOrder []string
	for _, it := range il.Items {
		refOrder = append(refOrder, it.Value.(string))
	}
	if !slices.Equal(order, refOrder) {
		t.Fatalf("fast path read components %q, reference %q", order, refOrder)
	}
	if s, err := httpsfv.Marshal(il); err != nil || s != fast.params {
		t.Fatalf("fast path read parameters %q, reference serializes %q (%v)", fast.params, s, err)
	}
	if req == nil {
		return
	}
	base, bsig, err := fast.base(req, req.Header.Values(HeaderContentDigest), req.Header.Values(HeaderContract))
	wantBase, wantErr := refSignatureBase(req, il)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(base, wantBase) {
		t.Fatalf("signature base %q (%v), reference %q (%v)", base, err, wantBase, wantErr)
	}
	if err == nil && !bytes.Equal(bsig, sig) {
		t.Fatalf("base returned signature %x, want %x", bsig, sig)
	}
}

// interesting are the bytes the mutations insert and substitute.
var interesting = []byte(" \"\\;=(),:*.-_01aA9\t\n\x7f\x80")

// mutations returns s with one byte deleted, inserted or substituted, at
// every position, and s cut into two field lines at every position.
func mutations(s string) (single []string, split [][]string) {
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			single = append(single, s[:i]+s[i+1:])
		}
		for _, c := range interesting {
			single = append(single, s[:i]+string([]byte{c})+s[i:])
			if i < len(s) && s[i] != c {
				single = append(single, s[:i]+string([]byte{c})+s[i+1:])
			}
		}
		split = append(split, []string{s[:i], s[i:]})
	}
	return single, split
}

// editedInputs are hand-made variants of a profile Signature-Input in,
// signed as key 1 at testNow: each edit is on the edge of what the fast
// path reads.
func editedInputs(in string) []string {
	created := fmt.Sprint(testNow.Unix())
	var out []string
	for _, r := range [][2]string{
		{"created=" + created, "created=-" + created},
		{"created=" + created, "created=0" + created},
		{"created=" + created, "created=0"},
		{"created=" + created, "created=-0"},
		{"created=" + created, "created=" + created + ".5"},
		{"created=" + created, "created=" + created + "00000"},
		{"created=" + created, "created=" + created + "000000"},
		{"created=" + created, "created=-" + created + "00000"},
		{"created=" + created, `created="` + created + `"`},
		{"created=" + created, "created"},
		{"created=" + created, "created=?1"},
		{"created=" + created, "created=" + created + ";created=" + created},
		{`nonce="`, `nonce="\"`},
		{`nonce="`, `nonce="\\`},
		{`nonce="`, `nonce="a, b`},
		{`nonce="`, `nonce="` + "\x7f"},
		{`alg="ed25519"`, `alg=ed25519`},
		{`alg="ed25519"`, `alg="ed2551\9"`},
		{`alg="ed25519"`, `alg="ed25519";alg="ed25519"`},
		{`alg="ed25519"`, `alg=:AAAA:`},
		{`alg="ed25519"`, `alg=%"ed25519"`},
		{`alg="ed25519"`, `alg=@1700000000`},
		{`;tag="agentledger"`, ``},
		{`;tag="agentledger"`, `;tag="agentledger";x`},
		{`;tag="agentledger"`, `;tag="agentledger" `},
		{`;tag="agentledger"`, `;tag="agentledger", sig2=()`},
		{`"@query"`, `"@query";x`},
		{`"@query"`, `"@\query"`},
		{`"@query"`, `"@query"  `},
		{`"@query"`, `"@query" "@query"`},
		{`"@query"`, `"@query" "date"`},
		{`"@query"`, `"@QUERY"`},
		{`"@query"`, `query`},
		{`"@query"`, `:AAAA:`},
		{`"@query" `, ``},
		{"sig1=", "sig1 ="},
		{"sig1=", " sig1="},
		{"sig1=", "sig2="},
		{"sig1=", "sig1=sig1;sig1="},
	} {
		if strings.Contains(in, r[0]) {
			out = append(out, strings.Replace(in, r[0], r[1], 1))
		}
	}
	return append(out, in+" ", in+",", in+", "+in, "", "sig1=()", in[:len(in)-1])
}

// editedSignatures are hand-made variants of a profile Signature sig.
func editedSignatures(sig string) []string {
	b64 := strings.TrimSuffix(strings.TrimPrefix(sig, "sig1=:"), ":")
	raw, _ := base64.StdEncoding.DecodeString(b64)
	last := b64[len(b64)-3]
	return []string{
		sig + ";a=1", sig + " ", " " + sig, "sig1=(" + sig[5:] + ")",
		"sig1=:" + strings.TrimRight(b64, "=") + ":",
		"sig1=:" + base64.URLEncoding.EncodeToString(raw) + ":",
		"sig1=:" + b64[:len(b64)-3] + string(last^1) + "==:",
		"sig1=:" + b64[:40] + "\n" + b64[41:] + ":",
		"sig1=:" + base64.StdEncoding.EncodeToString(raw[:63]) + ":",
		"sig1=:" + base64.StdEncoding.EncodeToString(append(raw, 0)) + ":",
		"sig1=" + strings.Repeat("A", 90), "sig1", "sig1=?1", "",
	}
}

// referenceCorpus returns the requests the differential tests mutate,
// with their bodies: three signed under the profile (the third over a
// Ledger-Contract with a tlog-proof) and the RFC 9421 B.2.6 request.
func referenceCorpus(t testing.TB) (reqs []*http.Request, bodies [][]byte) {
	add := func(req *http.Request, body []byte) {
		reqs, bodies = append(reqs, req), append(bodies, body)
	}
	add(signedRequest(t, testSigner(1, 0)))

	req, body := signedRequest(t, testSigner(2, 0))
	resign(t, req, 2, Label, func(p *httpsfv.InnerList) {
		slices.Reverse(p.Items)
		np := httpsfv.NewParams()
		names := p.Params.Names()
		for i := len(names) - 1; i >= 0; i-- {
			v, _ := p.Params.Get(names[i])
			np.Add(names[i], v)
		}
		p.Params = np
	})
	add(req, body)

	req = newRequest(t, http.MethodGet, "http://INVENTORY.local/a%2fb;c")
	req.Header.Set(HeaderContract, proofContract)
	if err := testSigner(3, -10*time.Second).Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	add(req, nil)

	req, body = rfcRequest(t)
	req.Header.Set(HeaderSignatureInput, rfcB26Input)
	req.Header.Set(HeaderSignature, rfcB26Signature)
	add(req, body)
	return reqs, bodies
}

func TestVerifyMatchesReference(t *testing.T) {
	calls := countVerifies(t)
	v := testVerifier()
	reqs, bodies := referenceCorpus(t)
	for i, req := range reqs {
		body := bodies[i]
		checkVerifyAgainstReference(t, v, req, body, calls)
		in, sig := req.Header.Get(HeaderSignatureInput), req.Header.Get(HeaderSignature)
		dig := req.Header.Get(HeaderContentDigest)
		try := func(name string, lines []string) {
			r := req.Clone(req.Context())
			r.Header[name] = lines
			checkVerifyAgainstReference(t, v, r, body, calls)
		}
		for _, h := range []struct {
			name, value string
			edited      []string
		}{
			{HeaderSignatureInput, in, editedInputs(in)},
			{HeaderSignature, sig, editedSignatures(sig)},
			{HeaderContentDigest, dig, nil},
		} {
			single, split := mutations(h.value)
			if i == 0 || h.name != HeaderContentDigest {
				for _, m := range append(single, h.edited...) {
					try(h.name, []string{m})
				}
			}
			for _, lines := range split {
				try(h.name, lines)
			}
			try(h.name, nil)
			try(h.name, []string{h.value, h.value})
		}
		for _, c := range []string{"", " ", testContract + "\n", "\t" + testContract + " "} {
			try(HeaderContract, []string{c})
		}
		try(HeaderContract, []string{testContract, testContract})
	}
}

func TestParseContentDigestMatchesReference(t *testing.T) {
	single, split := mutations(ContentDigest([]byte(testBody)))
	for _, lines := range split {
		single = append(single, strings.Join(lines, ", "))
	}
	single = append(single, ContentDigest(nil), "sha-256=:"+strings.Repeat("A", 44)+":",
		"sha-256=:"+strings.Repeat("/", 43)+"=:", "sha-256=:"+strings.Repeat("A", 42)+"==:")
	for _, v := range single {
		checkDigestAgainstReference(t, v)
	}
}

func checkDigestAgainstReference(t testing.TB, v string) {
	t.Helper()
	got, err := ParseContentDigest(v)
	want, wantErr := refParseContentDigest(v)
	if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("ParseContentDigest(%q) = %x, %v; reference %x, %v", v, got, err, want, wantErr)
	}
}

// TestIndexControl compares indexControl with the rune-by-rune scan it
// replaced, for every byte at every position of strings up to 24 bytes
// long, around each kind of neighbour.
func TestIndexControl(t *testing.T) {
	ref := func(v string) int { return strings.IndexFunc(v, refIsControl) }
	for _, fill := range []string{"a", "\t", "\x80", "é", "\x1f", "\x7f", " ", "~"} {
		for n := range 25 {
			s := []byte(strings.Repeat(fill, n))[:n]
			if got, want := indexControl(string(s)), ref(string(s)); got != want {
				t.Fatalf("indexControl(%q) = %d, want %d", s, got, want)
			}
			for i := range s {
				for c := range 256 {
					m := slices.Clone(s)
					m[i] = byte(c)
					if got, want := indexControl(string(m)), ref(string(m)); got != want {
						t.Fatalf("indexControl(%q) = %d, want %d", m, got, want)
					}
				}
			}
		}
	}
	if got := indexControl(proofContract); got != -1 {
		t.Fatalf("indexControl(proofContract) = %d", got)
	}
}

// FuzzSignatureFields checks the fast parser against the reference on
// arbitrary Signature-Input and Signature values, the first cut into two
// field lines at cut when cut is within it.
func FuzzSignatureFields(f *testing.F) {
	reqs, _ := referenceCorpus(f)
	for _, req := range reqs {
		in, sig := req.Header.Get(HeaderSignatureInput), req.Header.Get(HeaderSignature)
		f.Add(in, sig, -1)
		f.Add(in, sig, len(in)/2)
		for _, e := range editedInputs(in) {
			f.Add(e, sig, -1)
		}
		for _, e := range editedSignatures(sig) {
			f.Add(in, e, -1)
		}
	}
	f.Fuzz(func(t *testing.T, in, sig string, cut int) {
		inputs := []string{in}
		if 0 <= cut && cut <= len(in) {
			inputs = []string{in[:cut], in[cut:]}
		}
		req := newRequest(t, http.MethodPost, testURL)
		req.Header.Set(HeaderContentDigest, ContentDigest(nil))
		checkParseAgainstReference(t, req, inputs, []string{sig})
	})
}
