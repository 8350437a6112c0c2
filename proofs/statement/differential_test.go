package statement

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// These tests compare the hand-written scanner and decoders with the
// encoding/json based code they replaced (reference_test.go): the syntax
// check must give the same error, word for word, on every input; the
// statement decoding the same error or the same members; and each
// accessor the same value or error for every member. Parse* call only
// those, in an order that has not changed, so they accept and refuse
// exactly what they did, with the same errors.

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// kindFields is the required and optional fields of each kind.
func kindFields() map[string][2][]string {
	return map[string][2][]string{
		kindRegistration: {registrationFields(), registrationOptional()},
		kindContract:     {contractFields(), nil},
		kindRevocation:   {revocationFields(), nil},
		kindAction:       {actionFields(), actionOptional()},
	}
}

// diffReference checks that the scanner, decodeStatement and the object
// accessors agree with the reference on b.
func diffReference(t testing.TB, b []byte) {
	t.Helper()
	diffReferenceCached(t, b, nil)
}

// diffReferenceCached is diffReference that skips inputs, and the
// accessors on members, in seen (if not nil), and adds the others to it.
func diffReferenceCached(t testing.TB, b []byte, seen map[string]bool) {
	t.Helper()
	if seen != nil {
		if seen[string(b)] {
			return
		}
		seen[string(b)] = true
	}
	if !utf8.Valid(b) {
		return
	}
	got := diffSyntax(t, b)
	for kind, f := range kindFields() {
		if got != nil && kind != kindAction {
			continue // the same syntax error for every kind
		}
		o, err := decodeStatement(kind, b, f[0], f[1])
		ro, rerr := refDecodeStatement(kind, b, f[0], f[1])
		if errText(err) != errText(rerr) {
			t.Fatalf("decodeStatement(%s, %q)\n got %v\nwant %v", kind, b, err, rerr)
		}
		if err == nil {
			diffObjects(t, b, o, ro, 0, seen)
		}
	}
	if got != nil || !startsWith(bytes.TrimLeft(b, " \t\r\n"), '{') {
		return
	}
	// Any object, whatever its fields: compare what each accessor makes
	// of each member.
	members, err := scanJSON(b, nil)
	if err != nil {
		t.Fatalf("scanJSON(%q): %v after checkSyntax accepted it", b, err)
	}
	ro := &refObject{kind: "k"}
	ro.decode(nil, b, nil, nil)
	ro.err = nil // unknown fields
	diffObjects(t, b, &object{kind: "k", members: members}, ro, 0, seen)
}

// diffSyntax checks that checkSyntax and refCheckSyntax return the same
// error for b, and returns it. Invalid UTF-8 is left out: decodeStatement
// refuses it before the syntax check, in both versions.
func diffSyntax(t testing.TB, b []byte) error {
	t.Helper()
	if !utf8.Valid(b) {
		return nil
	}
	got, want := checkSyntax(b), refCheckSyntax(b)
	if errText(got) != errText(want) {
		t.Fatalf("checkSyntax(%q)\n got %v\nwant %v", b, got, want)
	}
	return got
}

// diffObjects checks that o and ro have the same members and that each
// accessor returns the same for each of them.
func diffObjects(t testing.TB, b []byte, o *object, ro *refObject, depth int, seen map[string]bool) {
	t.Helper()
	var keys []string
	for _, m := range o.members {
		keys = append(keys, string(m.key))
		if rv, ok := ro.m[string(m.key)]; !ok || !bytes.Equal(rv, m.val) {
			t.Fatalf("%q: member %q = %s, reference has %s (%v)", b, m.key, m.val, rv, ok)
		}
	}
	if len(o.members) != len(ro.m) {
		t.Fatalf("%q: members %q, reference has %v", b, keys, refSortedKeys(ro))
	}
	type result struct {
		v   any
		err string
	}
	for _, k := range append(keys, "absent") {
		if seen != nil {
			id := fmt.Sprintf("member %s %v %q %q ", o.kind, o.nested, o.path, k) + string(ro.m[k])
			if seen[id] {
				continue
			}
			seen[id] = true
		}
		// Each accessor on fresh copies, as the first of a parser's calls.
		fresh := func() (*object, *refObject) {
			n, r := *o, *ro
			n.err, r.err = nil, nil
			return &n, &r
		}
		calls := map[string]func(*object, *refObject) (result, result){
			"has": func(n *object, r *refObject) (result, result) {
				return result{n.has(k), ""}, result{r.has(k), ""}
			},
			"str": func(n *object, r *refObject) (result, result) {
				return result{n.str(k), errText(n.err)}, result{r.str(k), errText(r.err)}
			},
			"int": func(n *object, r *refObject) (result, result) {
				return result{n.int(k), errText(n.err)}, result{r.int(k), errText(r.err)}
			},
			"uint": func(n *object, r *refObject) (result, result) {
				return result{n.uint(k), errText(n.err)}, result{r.uint(k), errText(r.err)}
			},
			"optInt": func(n *object, r *refObject) (result, result) {
				return result{n.optInt(k), errText(n.err)}, result{r.optInt(k), errText(r.err)}
			},
			"strs": func(n *object, r *refObject) (result, result) {
				return result{n.strs(k), errText(n.err)}, result{r.strs(k), errText(r.err)}
			},
			"time": func(n *object, r *refObject) (result, result) {
				return result{n.time(k), errText(n.err)}, result{r.time(k), errText(r.err)}
			},
			"hash": func(n *object, r *refObject) (result, result) {
				return result{n.hash(k), errText(n.err)}, result{r.hash(k), errText(r.err)}
			},
			"object(contract)": func(n *object, r *refObject) (result, result) {
				return result{nil, errText(n.object(k, entryRefFields()).err)},
					result{nil, errText(r.object(k, entryRefFields()).err)}
			},
		}
		for name, call := range calls {
			got, want := call(fresh())
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: %s(%q) = %#v, reference %#v", b, name, k, got, want)
			}
		}
		// The member as a nested object with exactly its own keys.
		n, r := fresh()
		own := ownKeys(r, k)
		sub, rsub := n.object(k, own), r.object(k, own)
		if errText(sub.err) != errText(rsub.err) {
			t.Fatalf("%q: object(%q, %q): %v, reference %v", b, k, own, sub.err, rsub.err)
		}
		if sub.err == nil && depth < 2 {
			diffObjects(t, b, &sub, rsub, depth+1, seen)
		}
	}
}

// ownKeys returns the sorted keys of the object under key, if it is one.
func ownKeys(r *refObject, key string) []string {
	sub := &refObject{kind: r.kind}
	sub.decode(nil, r.m[key], nil, nil)
	return refSortedKeys(sub)
}

func refSortedKeys(r *refObject) []string {
	var keys []string
	for k := range r.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// syntaxCases are inputs at the edges of the JSON grammar and of the
// duplicate and depth checks.
func syntaxCases() []string {
	many := func(n int, last string) string {
		var sb strings.Builder
		sb.WriteString("{")
		for i := range n {
			fmt.Fprintf(&sb, `"k%d":%d,`, i, i)
		}
		return sb.String() + last + "}"
	}
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	return []string{
		"", " ", "\n\t\r ", "{", "}", "[", "]", ":", ",", "{}", "[]", " {} ", "{}x", "{} {}", "[] x", "{}}", "{}]",
		"1", "-", "-0", "-01", "01", "00", "1.", "1.x", ".5", "1e", "1e+", "1ex", "1E5", "1e-5", "1.5e+3", "+1", "0x1",
		"-x", "1 2", "1x", "t", "tru", "true", "truex", "tRue", "fals", "falsey", "fAlse", "nul", "null", "nulL", "nx",
		`"`, `"abc`, `"\`, `"\x"`, `"\'"`, `"\u12"`, `"\u12g4"`, `"\uD800"`, "\"\t\"", "\"\x7f\"", `"\/"`, `"a"b`,
		`{"a"}`, `{"a":}`, `{"a" 1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{,}`, `{:}`, `{1:2}`, `{]`, `{"a":1]`, `{"a",}`,
		`{"a":1,1}`, `{"a":1,]`, `{"a":1:`, `{"a"::1}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":tx}`, `{"a":"b" "c"}`,
		`[1,]`, `[,1]`, `[1 2]`, `[1:2]`, `[}`, `[1}`, `[1,}`, `[{]`, `{"a":[}`, `{"a":{}}`, `{"a":[{},[]]}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"\ud800":1,"\udc00":2}`, `{"\ud800":1,"\ufffd":2}`,
		`{"\ud83d\ude00":1,"😀":2}`, `{"a\u0000":1,"a":2}`, `{"":1,"":2}`, `{"a":1,"a"x`, `{"a":1,"a"`,
		`{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}`, `{"a":[{"k":1,"k":2}]}`, `{"\/":1,"/":2}`,
		many(15, `"k3":0`), many(16, `"k0":0`), many(17, `"k16":0`), many(40, `"k39":0`), many(40, `"x":0`),
		nest("[", "]", 8), nest("[", "]", 9), nest(`{"a":`, "}", 8), nest(`{"a":`, "}", 9), `{"a" [`,
		strings.Repeat("[", 9) + "x", strings.Repeat("[", 8) + "x", "\ufeff{}", "{}\x00", "{\"a\":1}\u00a0", "ü",
		"{ü}", "[ü]", `{"a":ü}`, "\x00", "{\x00}", `{"a":"\u00e9\n\t\"\\\/\b\f\r"}`, `{"a":"\ud800\ud800\udc00"}`,
	}
}

// seedCorpus returns the fuzz targets' seeds, the syntax cases and any
// stored corpus entries under testdata/fuzz.
func seedCorpus(t *testing.T) [][]byte {
	var in [][]byte
	for _, g := range []string{goodRegistration, goodContract, goodRevocation, goodAction, goodActionBare,
		benchAction, benchContract} {
		in = append(in, seedInputs(g)...)
	}
	for _, s := range syntaxCases() {
		in = append(in, []byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// go test fuzz v1, then one []byte("...") line.
		for _, line := range strings.Split(string(data), "\n") {
			if lit, ok := strings.CutPrefix(line, "[]byte("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(lit, ")")); err == nil {
					in = append(in, []byte(s))
				}
			}
		}
	}
	return in
}

func TestScannerMatchesReference(t *testing.T) {
	for _, b := range seedCorpus(t) {
		diffReference(t, b)
	}
}

// TestScannerMatchesReferenceMutations compares the two on every
// single-byte deletion, replacement and insertion of the seeds, and on
// every prefix.
func TestScannerMatchesReferenceMutations(t *testing.T) {
	bases := []string{goodRegistration, `{"a":[1,-2.5e3,true,false,null,"\u00e9\ud83d\ude00"],"b":{"c":{}}}`}
	if !(raceEnabled || testing.Short()) {
		bases = append(bases, goodAction, goodContract, goodRevocation)
	}
	interesting := []byte("{}[]\":,\\ 0-.etnu\x00\x1f")
	seen := map[string]bool{}
	for _, base := range bases {
		for i := range len(base) + 1 {
			diffReferenceCached(t, []byte(base[:i]), seen)
			if i == len(base) {
				break
			}
			diffReferenceCached(t, []byte(base[:i]+base[i+1:]), seen)
			for _, c := range interesting {
				diffReferenceCached(t, []byte(base[:i]+string(c)+base[i+1:]), seen)
				diffReferenceCached(t, []byte(base[:i]+string(c)+base[i:]), seen)
			}
		}
	}
}

// TestScannerMatchesReferenceRandom compares the two on random JSON
// values, some slightly broken, built to reach duplicate keys, deep
// nesting and every escape.
func TestScannerMatchesReferenceRandom(t *testing.T) {
	n := 20000
	if raceEnabled || testing.Short() {
		n = 2000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range n {
		b := randomJSON(rng, 0)
		for range rng.IntN(3) {
			b = mutate(rng, b)
		}
		diffReference(t, b)
	}
}

func randomJSON(rng *rand.Rand, depth int) []byte {
	ws := func() string { return []string{"", "", "", " ", "\n\t", "\r\n "}[rng.IntN(6)] }
	keys := []string{`"v"`, `"a"`, `"b"`, `"\u0061"`, `"index"`, `"leaf_hash"`, `"time"`, `"\ud800"`, `"\udc00"`, `""`}
	scalars := []string{`1`, `0`, `-0`, `-1`, `7`, `1.0`, `1e2`, `-9223372036854775808`, `9223372036854775808`,
		`18446744073709551615`, `18446744073709551616`, `true`, `false`, `null`, `""`, `"x"`, `"\ud83d\ude00"`,
		`"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"\\ud800"`, `"\u0000\b\f\n\r\t\/\"\\"`, `"ü😀"`,
		`"` + hashB64 + `"`, `"2026-11-26T20:00:00Z"`, `"2026-11-26T20:00:00+01:00"`, `"payment:charge"`}
	var sb strings.Builder
	sb.WriteString(ws())
	switch r := rng.IntN(10); {
	case r < 4 && depth < 10:
		sb.WriteString("{")
		for i := range rng.IntN(5) {
			if i > 0 {
				sb.WriteString(",")
			}
			sb.WriteString(ws() + keys[rng.IntN(len(keys))] + ws() + ":")
			sb.Write(randomJSON(rng, depth+1))
		}
		sb.WriteString(ws() + "}")
	case r < 6 && depth < 10:
		sb.WriteString("[")
		for i := range rng.IntN(4) {
			if i > 0 {
				sb.WriteString(",")
			}
			sb.Write(randomJSON(rng, depth+1))
		}
		sb.WriteString(ws() + "]")
	default:
		sb.WriteString(scalars[rng.IntN(len(scalars))])
	}
	sb.WriteString(ws())
	return []byte(sb.String())
}

func mutate(rng *rand.Rand, b []byte) []byte {
	frags := []string{"{", "}", "[", "]", ":", ",", `"`, `\`, "\\u", "1", "-", ".", "e", "x", " ", "\x01", "ü", `"a":1`}
	i := rng.IntN(len(b) + 1)
	f := frags[rng.IntN(len(frags))]
	switch rng.IntN(3) {
	case 0:
		return slices.Concat(b[:i], []byte(f), b[i:])
	case 1:
		if i < len(b) {
			return slices.Concat(b[:i], b[i+1:])
		}
	}
	return b[:i]
}

// FuzzScanner compares the scanner and decoders with the reference on
// arbitrary input.
func FuzzScanner(f *testing.F) {
	for _, s := range syntaxCases() {
		f.Add([]byte(s))
	}
	for _, g := range []string{goodRegistration, goodContract, goodRevocation, goodAction, goodActionBare} {
		for _, b := range seedInputs(g) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { diffReference(t, b) })
}
