package envelope

import "testing"

// benchEnvelope is a typical action entry: about 400 bytes on the wire.
func benchEnvelope(b *testing.B) []byte {
	payload := `{"v":1,"agent":"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp","action":"payment:charge","amount":1250,"currency":"usd","nonce":"q5Zr3","time":"2026-01-02T03:04:05Z"}`
	env := mustSign(b, KindAction, payload[:len(payload)-60]+`,"x":1}`, testKey(1))
	return env
}

func BenchmarkParse(b *testing.B) {
	env := benchEnvelope(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(env)), "envelope-bytes")
}

func BenchmarkParseVerify(b *testing.B) {
	env := benchEnvelope(b)
	b.ReportAllocs()
	for b.Loop() {
		e, err := Parse(env)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Verify(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(env)), "envelope-bytes")
}

func BenchmarkSign(b *testing.B) {
	key := testKey(1)
	payload := []byte(testPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(KindAction, payload, key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRefusedNonCanonical measures the slow diagnostic path a
// refused envelope takes.
func BenchmarkParseRefusedNonCanonical(b *testing.B) {
	env := append([]byte(" "), benchEnvelope(b)...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(env); err == nil {
			b.Fatal("accepted")
		}
	}
}
