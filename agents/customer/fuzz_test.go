package customer_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/agentledger/agentledger/agents/customer"
)

// FuzzRules: whatever the fields, the checks do not panic; what they
// accept is valid UTF-8 within its limit with no control, format or
// separator character and no blank required field, and it survives a
// JSON round trip still accepted and unchanged, as it does when the order
// agent passes it on to the fulfillment agent.
func FuzzRules(f *testing.F) {
	f.Add("Ada", "Lovelace", "12 St James's Square", "Flat 2", "London", "SW1Y 4JH", "GB", "leave at the door")
	f.Add("Ada\u200b", "", "1 Main St", "", "London", "", "GB", "")
	f.Add(strings.Repeat("n", 64), strings.Repeat("l", 65), strings.Repeat("a", 128), "b", strings.Repeat("c", 64), strings.Repeat("1", 16), "GB", strings.Repeat("x", 500))
	f.Add("A", "B", "\u202eevil", "x", "Lon\u2066don", "N1", "gb", "\ufeffhi")
	f.Add(" ", "\t", "a\nb", "\u2028", "\x00", "\x7f", "ÉÉ", "\u0085")
	f.Fuzz(func(t *testing.T, first, last, line1, line2, city, postal, country, note string) {
		lines := []string{line1}
		if line2 != "" {
			lines = append(lines, line2)
		}
		n := customer.Name{First: first, Last: last}
		a := customer.Address{Lines: lines, City: city, PostalCode: postal, Country: country}
		if n.Check() == nil {
			text(t, first, customer.MaxNameChars, true)
			text(t, last, customer.MaxNameChars, false)
			again(t, n, customer.Name.Check)
		}
		if a.Check() == nil {
			for _, l := range lines {
				text(t, l, customer.MaxLineChars, true)
			}
			text(t, city, customer.MaxCityChars, true)
			text(t, postal, customer.MaxPostalChars, false)
			if !customer.ValidCountry(country) {
				t.Fatalf("accepted country %q", country)
			}
			again(t, a, customer.Address.Check)
		}
		if customer.CheckNote(note) == nil {
			text(t, note, customer.MaxNoteChars, false)
		}
		if customer.CheckFirstName(first) == nil != (customer.Name{First: first}.Check() == nil) {
			t.Fatalf("a first name alone and in a name disagree on %q", first)
		}
	})
}

// text fails t unless s keeps the text rule of the package doc.
func text(t *testing.T, s string, n int, required bool) {
	t.Helper()
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > n || (required && strings.TrimSpace(s) == "") {
		t.Fatalf("accepted %q for a limit of %d", s, n)
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Fatalf("accepted %q with %U", s, r)
		}
	}
}

// again fails t unless v, which check accepted, comes back the same and
// still accepted from its JSON encoding.
func again[T any](t *testing.T, v T, check func(T) error) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var w T
	if err := json.Unmarshal(b, &w); err != nil || !reflect.DeepEqual(v, w) || check(w) != nil {
		t.Fatalf("accepted %+v, but its encoding %s comes back as %+v (%v)", v, b, w, err)
	}
}
