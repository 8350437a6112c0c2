package httpsig

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
)

func TestRoundTrip(t *testing.T) {
	calls := countVerifies(t)
	s := testSigner(1, 0)
	s.Nonce = func() (string, error) { return testNonce, nil }
	req, body := signedRequest(t, s)

	want := `sig1=("@method" "@authority" "@path" "@query" "content-digest" "ledger-contract")` +
		fmt.Sprintf(`;created=%d;expires=%d;nonce="%s";keyid="%s";alg="ed25519";tag="agentledger"`,
			testNow.Unix(), testNow.Unix()+30, testNonce, testDID(1))
	if got := req.Header.Get(HeaderSignatureInput); got != want {
		t.Errorf("Signature-Input:\n%s\nwant\n%s", got, want)
	}
	if got := req.Header.Get(HeaderContentDigest); got != ContentDigest(body) {
		t.Errorf("Content-Digest = %s", got)
	}

	got, err := testVerifier().Verify(req, body)
	if err != nil {
		t.Fatal(err)
	}
	wantV := &Verified{
		KeyID:       testDID(1),
		PublicKey:   testKey(1).Public().(ed25519.PublicKey),
		Created:     testNow,
		Expires:     testNow.Add(30 * time.Second),
		Nonce:       testNonce,
		ReplayUntil: testNow.Add(DefaultSkew),
		Contract:    testContract,
		BodyDigest:  sha256.Sum256(body),
	}
	if fmt.Sprint(got) != fmt.Sprint(wantV) {
		t.Errorf("Verify =\n%+v\nwant\n%+v", got, wantV)
	}
	if *calls != 1 {
		t.Errorf("%d Ed25519 verifications, want 1", *calls)
	}
}

// TestVerifyAccepts covers variations a verifier must accept.
func TestVerifyAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(t *testing.T) (*http.Request, []byte)
	}{
		{"empty GET without query", func(t *testing.T) (*http.Request, []byte) {
			req := newRequest(t, http.MethodGet, "http://inventory.local/")
			return req, nil
		}},
		{"no path", func(t *testing.T) (*http.Request, []byte) {
			return newRequest(t, http.MethodPost, "http://inventory.local?x=1"), []byte("x")
		}},
		{"TTL at the limit", func(t *testing.T) (*http.Request, []byte) {
			return newRequest(t, http.MethodPost, testURL), []byte(testBody)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, body := c.make(t)
			s := testSigner(2, -25*time.Second)
			s.TTL = MaxTTL
			if err := s.Sign(req, body); err != nil {
				t.Fatal(err)
			}
			if _, err := testVerifier().Verify(req, body); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("host in upper case", func(t *testing.T) {
		req, body := signedRequest(t, testSigner(1, 0))
		req.Host = "PAYMENT.Local:8443"
		if _, err := testVerifier().Verify(req, body); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("components and parameters in another order", func(t *testing.T) {
		req, body := signedRequest(t, testSigner(1, 0))
		resign(t, req, 1, Label, func(p *httpsfv.InnerList) {
			slices.Reverse(p.Items)
			np := httpsfv.NewParams()
			names := p.Params.Names()
			for i := len(names) - 1; i >= 0; i-- {
				v, _ := p.Params.Get(names[i])
				np.Add(names[i], v)
			}
			p.Params = np
		})
		if _, err := testVerifier().Verify(req, body); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifyRefuses(t *testing.T) {
	replaceInput := func(old, new string) func(*testing.T, *http.Request, *[]byte) {
		return func(t *testing.T, req *http.Request, _ *[]byte) {
			in := req.Header.Get(HeaderSignatureInput)
			if !strings.Contains(in, old) {
				t.Fatalf("%q not in %s", old, in)
			}
			req.Header.Set(HeaderSignatureInput, strings.Replace(in, old, new, 1))
		}
	}
	resignWith := func(edit func(*httpsfv.InnerList)) func(*testing.T, *http.Request, *[]byte) {
		return func(t *testing.T, req *http.Request, _ *[]byte) { resign(t, req, 1, Label, edit) }
	}
	setParam := func(name string, v any) func(*testing.T, *http.Request, *[]byte) {
		return resignWith(func(p *httpsfv.InnerList) { p.Params.Add(name, v) })
	}
	delParam := func(name string) func(*testing.T, *http.Request, *[]byte) {
		return resignWith(func(p *httpsfv.InnerList) { p.Params.Del(name) })
	}
	resignAt := func(offset, ttl time.Duration) func(*testing.T, *http.Request, *[]byte) {
		return func(t *testing.T, req *http.Request, body *[]byte) {
			s := testSigner(1, offset)
			s.TTL = ttl
			if err := s.Sign(req, *body); err != nil {
				t.Fatal(err)
			}
		}
	}
	long := strings.Repeat("a", MaxHeaderLen)

	for _, c := range []struct {
		name   string
		mutate func(t *testing.T, req *http.Request, body *[]byte)
		want   error
		msg    string // in the error, when set
	}{
		{"no signature", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Del(HeaderSignatureInput)
			req.Header.Del(HeaderSignature)
		}, ErrMissingSignature, ""},
		{"no Signature", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Del(HeaderSignature)
		}, ErrMalformedSignature, ""},
		{"no Signature-Input", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Del(HeaderSignatureInput)
		}, ErrMalformedSignature, ""},

		// Tampering after signing.
		{"body changed", func(t *testing.T, req *http.Request, body *[]byte) {
			*body = []byte(strings.Replace(testBody, "1250", "9250", 1))
		}, ErrDigestMismatch, ""},
		{"body and digest changed", func(t *testing.T, req *http.Request, body *[]byte) {
			*body = []byte(strings.Replace(testBody, "1250", "9250", 1))
			req.Header.Set(HeaderContentDigest, ContentDigest(*body))
		}, ErrBadSignature, ""},
		{"body emptied", func(t *testing.T, req *http.Request, body *[]byte) { *body = nil }, ErrDigestMismatch, ""},
		{"method changed", func(t *testing.T, req *http.Request, _ *[]byte) { req.Method = http.MethodPut }, ErrBadSignature, ""},
		{"path changed", func(t *testing.T, req *http.Request, _ *[]byte) { req.URL.Path = "/v1/refund" }, ErrBadSignature, ""},
		{"path escaping changed", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.URL.Path, req.URL.RawPath = "/v1/ch%61rge", "/v1/ch%2561rge"
		}, ErrBadSignature, ""},
		{"query changed", func(t *testing.T, req *http.Request, _ *[]byte) { req.URL.RawQuery = "dry=0&memo=a%2Fb" }, ErrBadSignature, ""},
		{"query removed", func(t *testing.T, req *http.Request, _ *[]byte) { req.URL.RawQuery = "" }, ErrBadSignature, ""},
		{"authority changed", func(t *testing.T, req *http.Request, _ *[]byte) { req.Host = "inventory.local:8443" }, ErrBadSignature, ""},
		{"authority port changed", func(t *testing.T, req *http.Request, _ *[]byte) { req.Host = "payment.local" }, ErrBadSignature, ""},
		{"contract changed", func(t *testing.T, req *http.Request, _ *[]byte) { req.Header.Set(HeaderContract, "43:abc") }, ErrBadSignature, ""},
		{"contract removed", func(t *testing.T, req *http.Request, _ *[]byte) { req.Header.Del(HeaderContract) }, ErrMalformedSignature, ""},
		{"second contract line", func(t *testing.T, req *http.Request, _ *[]byte) { req.Header.Add(HeaderContract, "43:abc") }, ErrMalformedSignature, ""},
		{"contract with a line feed", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderContract, testContract+"\n\"@method\": GET")
		}, ErrMalformedSignature, "control character"},
		{"signature bit flipped", func(t *testing.T, req *http.Request, _ *[]byte) {
			v := req.Header.Get(HeaderSignature)
			sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(v, "sig1=:"), ":"))
			if err != nil {
				t.Fatal(err)
			}
			sig[10] ^= 1
			req.Header.Set(HeaderSignature, "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
		}, ErrBadSignature, ""},
		{"signed by another key", func(t *testing.T, req *http.Request, _ *[]byte) {
			resign(t, req, 2, Label, func(p *httpsfv.InnerList) { p.Params.Add("keyid", testDID(1)) })
		}, ErrBadSignature, ""},
		{"keyid swapped to another did", replaceInput(testDID(1), testDID(2)), ErrBadSignature, ""},
		{"keyid not a did:key", replaceInput(testDID(1), "test-key-ed25519"), ErrBadKeyID, ""},
		{"keyid a broken did:key", replaceInput(testDID(1), testDID(1)[:40]), ErrBadKeyID, ""},

		// Time window.
		{"created too old", resignAt(-31*time.Second, MaxTTL), ErrStale, "too old"},
		{"created in the future", resignAt(31*time.Second, DefaultTTL), ErrStale, "future"},
		{"expired", resignAt(-45*time.Second, 10*time.Second), ErrStale, "expired"},
		{"lifetime over 5 min", setParam("expires", testNow.Unix()+301), ErrStale, ""},
		{"expires before created", setParam("expires", testNow.Unix()-1), ErrMalformedSignature, ""},
		{"expires equals created", setParam("expires", testNow.Unix()), ErrMalformedSignature, ""},

		// Parameters.
		{"alg rsa-pss-sha512", setParam("alg", "rsa-pss-sha512"), ErrUnsupported, "alg"},
		{"alg ED25519", setParam("alg", "ED25519"), ErrUnsupported, "alg"},
		{"alg as a token", setParam("alg", httpsfv.Token("ed25519")), ErrUnsupported, "alg"},
		{"alg missing", delParam("alg"), ErrUnsupported, "alg"},
		{"tag missing", delParam("tag"), ErrUnsupported, "tag"},
		{"tag wrong", setParam("tag", "web-bot-auth"), ErrUnsupported, "tag"},
		{"unknown parameter", setParam("extra", "x"), ErrUnsupported, "extra"},
		{"created missing", delParam("created"), ErrMalformedSignature, "created"},
		{"expires missing", delParam("expires"), ErrMalformedSignature, "expires"},
		{"nonce missing", delParam("nonce"), ErrMalformedSignature, "nonce"},
		{"keyid missing", delParam("keyid"), ErrMalformedSignature, "keyid"},
		{"created a string", setParam("created", "1700000000"), ErrMalformedSignature, "created"},
		{"created a decimal", setParam("created", 1700000000.5), ErrMalformedSignature, "created"},
		{"nonce too short", setParam("nonce", strings.Repeat("n", MinNonceLen-1)), ErrMalformedSignature, "nonce"},
		{"nonce too long", setParam("nonce", strings.Repeat("n", MaxNonceLen+1)), ErrMalformedSignature, "nonce"},
		{"nonce with a slash", setParam("nonce", "nnnnnnnnnnnnnnnnnnn/"), ErrMalformedSignature, "nonce"},

		// Covered components.
		{"@query not covered", resignWith(func(p *httpsfv.InnerList) {
			p.Items = slices.DeleteFunc(p.Items, func(it httpsfv.Item) bool { return it.Value == "@query" })
		}), ErrUnsupported, "@query"},
		{"content-digest not covered", resignWith(func(p *httpsfv.InnerList) {
			p.Items = slices.DeleteFunc(p.Items, func(it httpsfv.Item) bool { return it.Value == "content-digest" })
		}), ErrUnsupported, "content-digest"},
		{"ledger-contract not covered", resignWith(func(p *httpsfv.InnerList) {
			p.Items = slices.DeleteFunc(p.Items, func(it httpsfv.Item) bool { return it.Value == "ledger-contract" })
		}), ErrUnsupported, "ledger-contract"},
		{"extra component", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set("Content-Type", "application/json")
			resign(t, req, 1, Label, func(p *httpsfv.InnerList) {
				p.Items = append(p.Items, httpsfv.NewItem("content-type"))
			})
		}, ErrUnsupported, "beyond"},
		{"component with a parameter", replaceInput(`"content-digest"`, `"content-digest";sf`), ErrUnsupported, "parameters"},
		{"component twice", replaceInput(`"@query"`, `"@query" "@query"`), ErrMalformedSignature, "twice"},
		{"component a token", replaceInput(`"@query"`, `query`), ErrMalformedSignature, ""},

		// Labels and counts.
		{"two signatures", func(t *testing.T, req *http.Request, _ *[]byte) {
			in, sig := req.Header.Get(HeaderSignatureInput), req.Header.Get(HeaderSignature)
			resign(t, req, 2, "sig2", nil)
			req.Header.Set(HeaderSignatureInput, in+", "+req.Header.Get(HeaderSignatureInput))
			req.Header.Set(HeaderSignature, sig+", "+req.Header.Get(HeaderSignature))
		}, ErrUnsupported, "exactly one"},
		{"two signature field lines", func(t *testing.T, req *http.Request, _ *[]byte) {
			in, sig := req.Header.Get(HeaderSignatureInput), req.Header.Get(HeaderSignature)
			resign(t, req, 2, "sig2", nil)
			req.Header.Add(HeaderSignatureInput, in)
			req.Header.Add(HeaderSignature, sig)
		}, ErrUnsupported, "exactly one"},
		{"label sig1 twice", func(t *testing.T, req *http.Request, _ *[]byte) {
			in := req.Header.Get(HeaderSignatureInput)
			req.Header.Set(HeaderSignatureInput, in+", "+in)
		}, ErrMalformedSignature, "canonical"},
		{"another label", func(t *testing.T, req *http.Request, _ *[]byte) { resign(t, req, 1, "sig-a", nil) }, ErrUnsupported, "label"},
		{"labels differ", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderSignature, "sig2"+strings.TrimPrefix(req.Header.Get(HeaderSignature), "sig1"))
		}, ErrUnsupported, "label"},

		// Form.
		{"not canonical", replaceInput(`("@method"`, `( "@method"`), ErrMalformedSignature, "canonical"},
		{"does not parse", replaceInput(`("@method"`, `(@method`), ErrMalformedSignature, "parse"},
		{"signature an inner list", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderSignature, "sig1=(:AAAA:)")
		}, ErrMalformedSignature, ""},
		{"signature 63 bytes", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderSignature, "sig1=:"+strings.Repeat("A", 84)+":")
		}, ErrMalformedSignature, ""},
		{"signature a string", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderSignature, `sig1="x"`)
		}, ErrMalformedSignature, ""},
		{"Signature-Input an item", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderSignatureInput, `sig1="@method"`)
		}, ErrMalformedSignature, ""},

		// Content-Digest.
		{"digest missing", func(t *testing.T, req *http.Request, _ *[]byte) { req.Header.Del(HeaderContentDigest) }, ErrDigestMismatch, ""},
		{"digest sha-512", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderContentDigest, "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
		}, ErrDigestMismatch, ""},
		{"digest of another body", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderContentDigest, ContentDigest([]byte("{}")))
		}, ErrDigestMismatch, ""},

		// Sizes: refused before parsing.
		{"Signature-Input oversized", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderSignatureInput, req.Header.Get(HeaderSignatureInput)+`;x="`+long+`"`)
		}, ErrTooLarge, HeaderSignatureInput},
		{"Signature oversized", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Add(HeaderSignature, long)
		}, ErrTooLarge, HeaderSignature},
		{"Content-Digest oversized", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderContentDigest, long+"a")
		}, ErrTooLarge, HeaderContentDigest},
		{"Ledger-Contract oversized", func(t *testing.T, req *http.Request, _ *[]byte) {
			req.Header.Set(HeaderContract, strings.Repeat("c", MaxContractLen+1))
		}, ErrTooLarge, HeaderContract},
		{"body oversized", func(t *testing.T, req *http.Request, body *[]byte) {
			*body = make([]byte, DefaultMaxBody+1)
		}, ErrTooLarge, "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, body := signedRequest(t, testSigner(1, 0))
			c.mutate(t, req, &body)
			calls := countVerifies(t)
			got, err := testVerifier().Verify(req, body)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, c.want)
			}
			if got != nil {
				t.Errorf("Verify returned %+v with its error", got)
			}
			checkOneReason(t, err)
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not mention %q", err, c.msg)
			}
			// Cheap checks first: only a request that passed every other
			// check reaches Ed25519.
			wantCalls := 0
			if c.want == ErrBadSignature {
				wantCalls = 1
			}
			if *calls != wantCalls {
				t.Errorf("%d Ed25519 verifications, want %d", *calls, wantCalls)
			}
		})
	}
}

func TestVerifierSettings(t *testing.T) {
	req, body := signedRequest(t, testSigner(1, -50*time.Second))
	if _, err := testVerifier().Verify(req, body); !errors.Is(err, ErrStale) {
		t.Errorf("default skew: %v, want ErrStale", err)
	}
	v := &Verifier{Now: testVerifier().Now, Skew: time.Minute}
	got, err := v.Verify(req, body)
	if err != nil {
		t.Fatalf("skew 1m: %v", err)
	}
	// Created at -50s: the signature stops verifying when created + skew
	// passes, at +10s.
	if want := testNow.Add(10 * time.Second); !got.ReplayUntil.Equal(want) {
		t.Errorf("ReplayUntil = %v, want %v", got.ReplayUntil, want)
	}
	v.MaxBody = int64(len(body)) - 1
	if _, err := v.Verify(req, body); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBody below the body: %v, want ErrTooLarge", err)
	}
}

func TestReason(t *testing.T) {
	if r := Reason(nil); r != "" {
		t.Errorf("Reason(nil) = %q", r)
	}
	if r := Reason(errors.New("other")); r != "signature_invalid" {
		t.Errorf("Reason(other) = %q", r)
	}
	seen := map[string]bool{}
	for _, s := range sentinels {
		if r := Reason(fmt.Errorf("x: %w: y", s.err)); r != s.reason {
			t.Errorf("Reason(%v) = %q, want %q", s.err, r, s.reason)
		}
		if seen[s.reason] {
			t.Errorf("reason %q used twice", s.reason)
		}
		seen[s.reason] = true
	}
}
