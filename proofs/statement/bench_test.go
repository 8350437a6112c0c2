package statement

import (
	"strings"
	"testing"
)

// Realistic statements for the benchmarks: what a ledger sees on its
// append path, with a production-sized nonce, index and reason.
var (
	benchAction = `{"v":1,"agent":"` + didC + `","caller":"` + didB +
		`","contract":{"index":18446744,"leaf_hash":"` + hashB64 + `"},"action":"payment:charge",` +
		`"args_digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",` +
		`"amount":1999,"currency":"EUR","quantity":3,"nonce":"Zm9vYmFyYmF6cXV4LWFnZW50LTAwMDEyMzQ1Njc4OQ",` +
		`"time":"2026-11-26T20:30:00.123456Z"}`

	benchContract = `{"v":1,"id":"0123456789abcdef0123456789abcdef","issuer":"` + didA + `","subject":"` + didB +
		`","audience":"` + didC + `","scopes":["payment:charge:max_10000usd","payment:refund:max_500usd",` +
		`"inventory:reserve:max_qty10","inventory:release"],` +
		`"not_before":"2026-11-26T20:00:00Z","expires":"2026-12-26T20:00:00Z","time":"2026-11-26T19:59:59.5Z"}`
)

func benchParse[T any](b *testing.B, parse func([]byte) (T, error), s string) {
	in := []byte(s)
	if _, err := parse(in); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAction(b *testing.B) {
	b.Run("typical", func(b *testing.B) { benchParse(b, ParseAction, benchAction) })
	b.Run("bare", func(b *testing.B) { benchParse(b, ParseAction, goodActionBare) })
	// Pretty-printed, with escapes in a string: the slower paths.
	indented := strings.NewReplacer(`,"`, ",\n  \"", `":`, `": `, `payment:charge"`, `payment\u003acharge"`).Replace(benchAction)
	b.Run("indented", func(b *testing.B) { benchParse(b, ParseAction, indented) })
	// A refused statement (a duplicate key near the end) costs no more than
	// an accepted one.
	dup := strings.Replace(benchAction, `"time":`, `"time":"2026-11-26T20:30:00Z","time":`, 1)
	b.Run("refused", func(b *testing.B) {
		in := []byte(dup)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseAction(in); err == nil {
				b.Fatal("accepted a duplicate key")
			}
		}
	})
}

func BenchmarkParseContract(b *testing.B) { benchParse(b, ParseContract, benchContract) }

func BenchmarkParseRegistration(b *testing.B) { benchParse(b, ParseRegistration, goodRegistration) }

func BenchmarkParseRevocation(b *testing.B) { benchParse(b, ParseRevocation, goodRevocation) }

// BenchmarkCheckSyntax measures the syntax check alone, against the
// json.Decoder.Token loop it replaced.
func BenchmarkCheckSyntax(b *testing.B) {
	in := []byte(benchAction)
	for _, f := range []struct {
		name  string
		check func([]byte) error
	}{{"scanner", checkSyntax}, {"reference", refCheckSyntax}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if err := f.check(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
