package statement

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fuzzRoundTrip checks a parser on arbitrary input: it never panics, its
// errors wrap ErrInvalid, and what it accepts survives Marshal and a second
// parse unchanged, with Marshal's output a fixed point. It also checks that
// the syntax check agrees with the reference (FuzzScanner goes further).
func fuzzRoundTrip[T interface {
	*Registration | *Contract | *Revocation | *Action
	Marshal() ([]byte, error)
}](t *testing.T, parse func([]byte) (T, error), b []byte) {
	diffSyntax(t, b)
	v, err := parse(b)
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		if v != nil {
			t.Fatal("value returned with an error")
		}
		return
	}
	out, err := v.Marshal()
	if err != nil {
		t.Fatalf("Marshal of a parsed statement: %v", err)
	}
	again, err := parse(out)
	if err != nil {
		t.Fatalf("parse(Marshal) of %s: %v", out, err)
	}
	if !reflect.DeepEqual(again, v) {
		t.Fatalf("parse(Marshal) = %+v, want %+v", again, v)
	}
	out2, err := again.Marshal()
	if err != nil || !bytes.Equal(out2, out) {
		t.Fatalf("Marshal not canonical:\n%s\n%s (%v)", out, out2, err)
	}
}

// seeds adds good and a few mutations of it to the corpus.
func seeds(f *testing.F, good ...string) {
	for _, g := range good {
		for _, b := range seedInputs(g) {
			f.Add(b)
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
}

// seedInputs returns good and a few mutations of it.
func seedInputs(g string) [][]byte {
	return [][]byte{
		[]byte(g),
		[]byte(strings.Replace(g, `{"v":1,`, `{"v":1,"v":1,`, 1)),
		[]byte(strings.Replace(g, `{"v":1,`, `{"v":2,`, 1)),
		[]byte(strings.Replace(g, `Z"`, `+01:00"`, 1)),
		[]byte(strings.Replace(g, `:"`, `:"\ud800`, 1)),
		[]byte(g + " {}"),
		[]byte(g[:len(g)/2]),
	}
}

func FuzzParseRegistration(f *testing.F) {
	seeds(f, goodRegistration)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, ParseRegistration, b) })
}

func FuzzParseContract(f *testing.F) {
	seeds(f, goodContract)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, ParseContract, b) })
}

func FuzzParseRevocation(f *testing.F) {
	seeds(f, goodRevocation, strings.Replace(goodRevocation, `"reason":"`, `"reason":"\ud83d\ude00\\u`, 1))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, ParseRevocation, b) })
}

func FuzzParseAction(f *testing.F) {
	seeds(f, goodAction, goodActionBare, strings.Replace(goodAction, `"index":7`, `"index":18446744073709551615`, 1))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, ParseAction, b) })
}
