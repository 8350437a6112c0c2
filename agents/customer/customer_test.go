package customer_test

import (
	"strings"
	"testing"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/internal/testkit/importcheck"
)

func TestNoIO(t *testing.T) {
	importcheck.Allow(t, "errors", "fmt", "strings", "unicode", "unicode/utf8", "github.com/agentledger/agentledger/agents/jsonapi")
}

// The characters no text field may hold: controls, every kind of format
// character the package doc names, and the line and paragraph separators.
var forbidden = []rune{0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x7f, 0x85, 0x9f,
	0x00ad, 0x061c, 0x180e,
	0x200b, 0x200c, 0x200d, 0x200e, 0x200f,
	0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
	0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xfeff, 0xfff9,
	0x2028, 0x2029}

func TestValidText(t *testing.T) {
	for _, r := range forbidden {
		for _, s := range []string{string(r), "a" + string(r), string(r) + "b"} {
			if customer.ValidText(s, 10, false) {
				t.Errorf("accepted %q", s)
			}
		}
	}
	for _, s := range []string{"", " ", "Zoë", "Łódź", "東京都", "O'Brien", "\u00a0a", strings.Repeat("é", 10), "\ufffd"} {
		if !customer.ValidText(s, 10, false) {
			t.Errorf("refused %q", s)
		}
	}
	if customer.ValidText(strings.Repeat("é", 11), 10, false) || customer.ValidText("\xff", 10, false) {
		t.Error("accepted 11 code points, or invalid UTF-8")
	}
	for _, s := range []string{"", " ", "\u3000", "\u00a0 "} {
		if customer.ValidText(s, 10, true) {
			t.Errorf("accepted blank %q where text is required", s)
		}
	}
}

// TestLimits: every field at its limit is accepted and one past it is
// refused, counted in code points.
func TestLimits(t *testing.T) {
	at := func(n int) string { return strings.Repeat("é", n) }
	good := customer.Address{Lines: []string{"1 Main St"}, City: "London", PostalCode: "N1 1AA", Country: "GB"}
	addr := func(f func(*customer.Address)) error {
		a := good
		a.Lines = append([]string(nil), good.Lines...)
		f(&a)
		return a.Check()
	}
	for _, c := range []struct {
		name string
		try  func(n int) error
		max  int
	}{
		{"first", func(n int) error { return customer.Name{First: at(n)}.Check() }, customer.MaxNameChars},
		{"last", func(n int) error { return customer.Name{First: "A", Last: at(n)}.Check() }, customer.MaxNameChars},
		{"email", func(n int) error { return customer.CheckEmail("a@" + at(n-2)) }, customer.MaxEmailChars},
		{"line", func(n int) error { return addr(func(a *customer.Address) { a.Lines[0] = at(n) }) }, customer.MaxLineChars},
		{"lines", func(n int) error {
			return addr(func(a *customer.Address) { a.Lines = strings.Split(strings.Repeat("x", n), "") })
		}, customer.MaxAddressLines},
		{"city", func(n int) error { return addr(func(a *customer.Address) { a.City = at(n) }) }, customer.MaxCityChars},
		{"postal_code", func(n int) error { return addr(func(a *customer.Address) { a.PostalCode = at(n) }) }, customer.MaxPostalChars},
		{"note", func(n int) error { return customer.CheckNote(at(n)) }, customer.MaxNoteChars},
		{"card", func(n int) error { return customer.CheckCard(strings.Repeat("4", n)) }, customer.MaxCardDigits},
	} {
		if err := c.try(c.max); err != nil {
			t.Errorf("%s at its limit %d: %v", c.name, c.max, err)
		}
		if err := c.try(c.max + 1); err == nil {
			t.Errorf("%s one past its limit %d: accepted", c.name, c.max)
		}
	}
}

func TestRequiredAndForm(t *testing.T) {
	good := customer.Address{Lines: []string{"1 Main St", "Flat 2"}, City: "London", Country: "GB"}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]customer.Address{
		"no lines":          {City: "London", Country: "GB"},
		"blank second line": {Lines: []string{"1 Main St", " "}, City: "London", Country: "GB"},
		"empty line":        {Lines: []string{""}, City: "London", Country: "GB"},
		"no city":           {Lines: []string{"1 Main St"}, Country: "GB"},
		"blank city":        {Lines: []string{"1 Main St"}, City: "  ", Country: "GB"},
		"lower-case":        {Lines: []string{"1 Main St"}, City: "London", Country: "gb"},
		"three letters":     {Lines: []string{"1 Main St"}, City: "London", Country: "GBR"},
		"bidi in city":      {Lines: []string{"1 Main St"}, City: "Lon\u202edon", Country: "GB"},
		"zero width line":   {Lines: []string{"1 Main\u200bSt"}, City: "London", Country: "GB"},
	} {
		if err := a.Check(); err == nil {
			t.Errorf("%s: accepted %+v", name, a)
		}
	}
	for _, n := range []customer.Name{{}, {First: " "}, {First: "A\u2066", Last: "B"}, {First: "A", Last: "B\nC"}} {
		if err := n.Check(); err == nil {
			t.Errorf("accepted name %+v", n)
		}
	}
	for _, e := range []string{"ada", "ada@example.com\n", " "} {
		if err := customer.CheckEmail(e); err == nil {
			t.Errorf("accepted e-mail %q", e)
		}
	}
	for _, c := range []string{"", "42424242424", "4242 4242 4242", "４２４２４２４２４２４２"} {
		if err := customer.CheckCard(c); err == nil {
			t.Errorf("accepted card %q", c)
		}
	}
}

type line struct {
	sku string
	qty int64
}

func TestCheckLines(t *testing.T) {
	read := func(l line) (string, int64) { return l.sku, l.qty }
	many := make([]line, customer.MaxItems)
	for i := range many {
		many[i] = line{strings.Repeat("s", i%50+1) + string(rune('a'+i/50)), customer.MaxQty}
	}
	if total, err := customer.CheckLines(many, customer.MaxQty, read); err != nil || total != customer.MaxItems*customer.MaxQty {
		t.Fatalf("%d lines at their limits: %d, %v", len(many), total, err)
	}
	for name, ls := range map[string][]line{
		"none":      nil,
		"too many":  append(many, line{"extra", 1}),
		"zero qty":  {{"a", 0}},
		"huge qty":  {{"a", customer.MaxQty + 1}},
		"sku twice": {{"a", 1}, {"a", 2}},
		"bad sku":   {{"a/b", 1}},
		"long sku":  {{strings.Repeat("s", customer.MaxSKULen+1), 1}},
	} {
		if _, err := customer.CheckLines(ls, customer.MaxQty, read); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
