package keyfile

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RFC 8410 section 10.3 (private key), section 10.1 (its public key), and
// the section 10.3 example with attributes and the public key included
// (RFC 5958 OneAsymmetricKey version 2).
const (
	rfc8410Seed    = "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842"
	rfc8410Private = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
`
	rfc8410Public = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
`
	rfc8410PrivateV2 = `-----BEGIN PRIVATE KEY-----
MHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB
Z9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PRIVATE KEY-----
`
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustGenerate(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	key, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestGenerate(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	if len(a) != ed25519.PrivateKeySize {
		t.Fatalf("len = %d", len(a))
	}
	if a.Equal(b) {
		t.Fatal("two generated keys are equal")
	}
	if !a.Equal(ed25519.NewKeyFromSeed(a.Seed())) {
		t.Fatal("public half does not match the seed")
	}
}

func TestRFC8410Vectors(t *testing.T) {
	seed, _ := hex.DecodeString(rfc8410Seed)
	want := ed25519.NewKeyFromSeed(seed)

	got, err := Parse([]byte(rfc8410Private))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !got.Equal(want) {
		t.Errorf("Parse = seed %x, want %s", got.Seed(), rfc8410Seed)
	}
	pem, err := Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(pem) != rfc8410Private {
		t.Errorf("Marshal =\n%s\nwant\n%s", pem, rfc8410Private)
	}

	pub, err := ParsePublic([]byte(rfc8410Public))
	if err != nil {
		t.Fatalf("ParsePublic: %v", err)
	}
	if !pub.Equal(want.Public()) {
		t.Errorf("ParsePublic = %x, want %x", pub, want.Public())
	}
	pubPEM, err := MarshalPublic(want.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if string(pubPEM) != rfc8410Public {
		t.Errorf("MarshalPublic =\n%s\nwant\n%s", pubPEM, rfc8410Public)
	}

	v2, err := Parse([]byte(rfc8410PrivateV2))
	if err != nil {
		t.Fatalf("Parse(version 2): %v", err)
	}
	if !v2.Equal(want) {
		t.Errorf("Parse(version 2) = seed %x, want %s", v2.Seed(), rfc8410Seed)
	}
}

// TestOpenSSLKey parses a key pair made by openssl genpkey and pkey -pubout.
func TestOpenSSLKey(t *testing.T) {
	priv, err := Parse(fixture(t, "openssl-ed25519.pem"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	pub, err := ParsePublic(fixture(t, "openssl-ed25519.pub.pem"))
	if err != nil {
		t.Fatalf("ParsePublic: %v", err)
	}
	if !pub.Equal(priv.Public()) {
		t.Error("openssl public key does not match its private key")
	}
	again, err := Marshal(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, fixture(t, "openssl-ed25519.pem")) {
		t.Error("Marshal does not reproduce the openssl file")
	}
}

func TestRoundTrip(t *testing.T) {
	for range 20 {
		key := mustGenerate(t)
		b, err := Marshal(key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----\n")) || !bytes.HasSuffix(b, []byte("-----END PRIVATE KEY-----\n")) {
			t.Fatalf("Marshal =\n%s", b)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if !got.Equal(key) {
			t.Fatal("private key round trip differs")
		}

		pub := key.Public().(ed25519.PublicKey)
		pb, err := MarshalPublic(pub)
		if err != nil {
			t.Fatal(err)
		}
		gotPub, err := ParsePublic(pb)
		if err != nil {
			t.Fatalf("ParsePublic: %v", err)
		}
		if !gotPub.Equal(pub) {
			t.Fatal("public key round trip differs")
		}
	}
}

func TestParseAcceptsSurroundingWhitespace(t *testing.T) {
	for _, in := range []string{
		"\n\n" + rfc8410Private + "\n\n",
		strings.ReplaceAll(rfc8410Private, "\n", "\r\n"),
		strings.TrimSuffix(rfc8410Private, "\n"),
	} {
		if _, err := Parse([]byte(in)); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

func TestMarshalRefusesBadLength(t *testing.T) {
	if _, err := Marshal(make([]byte, 32)); err == nil {
		t.Error("Marshal of a 32-byte private key succeeded")
	}
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
	if _, err := MarshalPublic(make([]byte, 31)); err == nil {
		t.Error("MarshalPublic of a 31-byte public key succeeded")
	}
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// goKeys returns PKCS#8 and PKIX PEM for keys of other types, made in Go.
func goKeys(t *testing.T) (private, public map[string]string) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	private, public = map[string]string{}, map[string]string{}
	for name, k := range map[string]any{"go rsa": rsaKey, "go p256": ecKey, "go x25519": xKey} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		private[name] = pemOf("PRIVATE KEY", der)
		pub := k.(interface{ Public() crypto.PublicKey }).Public()
		pder, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		public[name] = pemOf("PUBLIC KEY", pder)
	}
	return private, public
}

func TestParseRefuses(t *testing.T) {
	good := rfc8410Private
	block, _ := pem.Decode([]byte(good))
	der := block.Bytes
	corrupt := bytes.Clone(der)
	corrupt[9] ^= 0xff // inside the algorithm OID
	goPriv, goPub := goKeys(t)

	cases := map[string]string{
		"empty":               "",
		"whitespace":          " \n",
		"garbage":             "not a key",
		"raw der":             string(der),
		"hex seed":            rfc8410Seed,
		"leading text":        "key:\n" + good,
		"trailing text":       good + "more\n",
		"two blocks":          good + good,
		"cert after key":      good + pemOf("CERTIFICATE", []byte{0x30, 0x00}),
		"headers":             strings.Replace(good, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n", 1),
		"no end line":         strings.Replace(good, "-----END PRIVATE KEY-----\n", "", 1),
		"bad base64":          strings.Replace(good, "MC4C", "MC4*", 1),
		"truncated der":       pemOf("PRIVATE KEY", der[:len(der)-1]),
		"der trailing byte":   pemOf("PRIVATE KEY", append(bytes.Clone(der), 0)),
		"corrupt oid":         pemOf("PRIVATE KEY", corrupt),
		"empty block":         pemOf("PRIVATE KEY", nil),
		"lowercase type":      strings.ReplaceAll(good, "PRIVATE KEY", "private key"),
		"public key":          rfc8410Public,
		"ed25519 as pkcs1":    pemOf("RSA PRIVATE KEY", der),
		"oversize":            good + strings.Repeat(" ", MaxSize),
		"openssl x25519":      string(fixture(t, "openssl-x25519.pem")),
		"openssl ed448":       string(fixture(t, "openssl-ed448.pem")),
		"openssl rsa":         string(fixture(t, "openssl-rsa.pem")),
		"openssl rsa pkcs1":   string(fixture(t, "openssl-rsa-pkcs1.pem")),
		"openssl p256":        string(fixture(t, "openssl-p256.pem")),
		"openssl p256 sec1":   string(fixture(t, "openssl-p256-sec1.pem")),
		"openssl encrypted":   string(fixture(t, "openssl-ed25519-encrypted.pem")),
		"openssh ed25519":     string(fixture(t, "openssh-ed25519.key")),
		"openssl ed25519 pub": string(fixture(t, "openssl-ed25519.pub.pem")),
	}
	for name, in := range goPriv {
		cases[name] = in
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			key, err := Parse([]byte(in))
			if err == nil {
				t.Fatalf("Parse accepted %q", in)
			}
			t.Log(err)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if key != nil {
				t.Error("key returned with an error")
			}
		})
	}

	t.Run("public", func(t *testing.T) {
		cases := map[string]string{
			"empty":             "",
			"garbage":           "not a key",
			"private key":       rfc8410Private,
			"two blocks":        rfc8410Public + rfc8410Public,
			"trailing text":     rfc8410Public + "x",
			"truncated":         pemOf("PUBLIC KEY", der[:10]),
			"openssl x25519":    string(fixture(t, "openssl-x25519.pub.pem")),
			"openssl rsa":       string(fixture(t, "openssl-rsa.pub.pem")),
			"openssl p256":      string(fixture(t, "openssl-p256.pub.pem")),
			"openssl ed25519":   string(fixture(t, "openssl-ed25519.pem")),
			"oversize":          rfc8410Public + strings.Repeat("\n", MaxSize),
			"rsa public key":    strings.ReplaceAll(rfc8410Public, "PUBLIC KEY", "RSA PUBLIC KEY"),
			"headers in public": strings.Replace(rfc8410Public, "-----\n", "-----\nComment: x\n\n", 1),
		}
		for name, in := range goPub {
			cases[name] = in
		}
		for name, in := range cases {
			pub, err := ParsePublic([]byte(in))
			if !errors.Is(err, ErrMalformed) || pub != nil {
				t.Errorf("ParsePublic(%s) = %x, %v; want ErrMalformed", name, pub, err)
			}
		}
	})
}

// TestErrorsContainNoKeyMaterial makes Parse and Read fail in many ways on
// inputs holding a real key and checks that no error repeats any of it.
func TestErrorsContainNoKeyMaterial(t *testing.T) {
	key := mustGenerate(t)
	good, err := Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(good)
	der := block.Bytes
	body := strings.Join(strings.Split(string(good), "\n")[1:2], "")

	var inputs []string
	for i := range der {
		m := bytes.Clone(der)
		m[i] ^= 0xff
		inputs = append(inputs, pemOf("PRIVATE KEY", m), pemOf("PRIVATE KEY", der[:i]))
	}
	inputs = append(inputs,
		string(good)+"x",
		string(good)+string(good),
		pemOf("EC PRIVATE KEY", der),
		pemOf("PUBLIC KEY", der),
		pemOf(body, der),
		strings.Replace(string(good), "-----\n", "-----\nX: "+hex.EncodeToString(key.Seed())+"\n\n", 1),
		string(der),
		hex.EncodeToString(key.Seed()),
	)

	var secrets []string
	seed := key.Seed()
	for _, enc := range []string{string(seed), hex.EncodeToString(seed), strings.ToUpper(hex.EncodeToString(seed))} {
		for i := 0; i+8 <= len(enc); i++ {
			secrets = append(secrets, enc[i:i+8])
		}
	}
	for i := 0; i+8 <= len(body); i++ {
		secrets = append(secrets, body[i:i+8])
	}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		msg := err.Error()
		for _, s := range secrets {
			if strings.Contains(msg, s) {
				t.Fatalf("%s: error %q contains key material %q", what, msg, s)
			}
		}
	}
	for i, in := range inputs {
		_, err := Parse([]byte(in))
		check("Parse", err)
		if err == nil && i < 2*len(der) {
			// A flipped bit inside the seed still parses; that is fine.
			continue
		}
		_, err = ParsePublic([]byte(in))
		check("ParsePublic", err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "k.pem")
	if err := Write(path, key); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Read(path)
	check("Read 0644", err)
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte(inputs[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Read(bad)
	check("Read corrupt", err)
}
