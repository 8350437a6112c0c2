package scope

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want Scope
	}{
		{"inventory:reserve", Scope{Resource: "inventory", Action: "reserve"}},
		{"payment:charge:max_10000usd", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 1000000, Currency: "USD"}}},
		{"payment:charge:max_99.5usd", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 9950, Currency: "USD"}}},
		{"payment:charge:max_99.05usd", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 9905, Currency: "USD"}}},
		{"payment:charge:max_0.01eur", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 1, Currency: "EUR"}}},
		{"payment:charge:max_0usd", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 0, Currency: "USD"}}},
		{"payment:charge:max_500jpy", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 500, Currency: "JPY"}}},
		{"payment:charge:max_1.5kwd", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 1500, Currency: "KWD"}}},
		{"payment:charge:max_1.001kwd", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: 1001, Currency: "KWD"}}},
		{"payment:charge:max_92233720368547758.07usd", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: math.MaxInt64, Currency: "USD"}}},
		{"payment:charge:max_9223372036854775807jpy", Scope{"payment", "charge", Limit{Kind: LimitAmount, MaxMinor: math.MaxInt64, Currency: "JPY"}}},
		{"inventory:reserve:max_qty5", Scope{"inventory", "reserve", Limit{Kind: LimitQuantity, MaxQty: 5}}},
		{"inventory:reserve:max_qty0", Scope{"inventory", "reserve", Limit{Kind: LimitQuantity}}},
		{"inventory:reserve:max_qty9223372036854775807", Scope{"inventory", "reserve", Limit{Kind: LimitQuantity, MaxQty: math.MaxInt64}}},
		{"a:b", Scope{Resource: "a", Action: "b"}},
		{"a_1:b_2_", Scope{Resource: "a_1", Action: "b_2_"}},
		{strings.Repeat("r", 32) + ":" + strings.Repeat("a", 32), Scope{Resource: strings.Repeat("r", 32), Action: strings.Repeat("a", 32)}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, s)
		}
		if n := got.Name(); n != tt.want.Resource+":"+tt.want.Action {
			t.Errorf("Parse(%q).Name() = %q", tt.in, n)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		":",
		"payment",
		"payment:",
		":charge",
		"payment:charge:",
		"payment:charge::",
		"payment:charge:max_10000usd:extra",
		"Payment:charge",
		"payment:Charge",
		"PAYMENT:CHARGE",
		"payment:charge:max_10000USD",
		"payment:charge:MAX_10000usd",
		"payment:charge:max_10000xyz",
		"payment:charge:max_10000us",
		"payment:charge:max_10000usdd",
		"payment:charge:max_usd",
		"payment:charge:max_",
		"payment:charge:max_01usd",
		"payment:charge:max_00usd",
		"payment:charge:max_-1usd",
		"payment:charge:max_+1usd",
		"payment:charge:max_1e3usd",
		"payment:charge:max_1,000usd",
		"payment:charge:max_1_000usd",
		"payment:charge:max_1.001usd",
		"payment:charge:max_1.10usd",
		"payment:charge:max_1.0usd",
		"payment:charge:max_1.usd",
		"payment:charge:max_.5usd",
		"payment:charge:max_1.5jpy",
		"payment:charge:max_1.0001kwd",
		"payment:charge:max_99999999999999999999usd",
		"payment:charge:max_92233720368547758.08usd",
		"payment:charge:max_9223372036854775808jpy",
		"payment:charge:max_10000 usd",
		"payment:charge:max_10000usd ",
		" payment:charge",
		"payment :charge",
		"payment:charge\n",
		"payment:charge:max_qty",
		"payment:charge:max_qty-1",
		"payment:charge:max_qty+1",
		"payment:charge:max_qty01",
		"payment:charge:max_qty1.5",
		"payment:charge:max_qty9223372036854775808",
		"payment:charge:max_qtyfive",
		"payment:charge:min_10usd",
		"payment:charge:max10usd",
		"payment:charge:limit",
		"payment:charge:*",
		"payment:*",
		"*:*",
		"1payment:charge",
		"_payment:charge",
		"pay-ment:charge",
		"payment:charge.back",
		"payment:ch\u00e4rge",
		strings.Repeat("r", 33) + ":a",
		"r:" + strings.Repeat("a", 33),
		"payment:charge:max_10000usd" + strings.Repeat("x", MaxLen),
	} {
		got, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want error", in, got)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q): error %v does not wrap ErrMalformed", in, err)
		}
		if got != (Scope{}) {
			t.Errorf("Parse(%q): non-zero scope with error", in)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, in := range []string{"payment:charge", "inventory:reserve", "a:b"} {
		r, a, err := ParseAction(in)
		if err != nil || r+":"+a != in {
			t.Errorf("ParseAction(%q) = %q, %q, %v", in, r, a, err)
		}
	}
	for _, in := range []string{
		"", "payment", "payment:", ":charge", "payment:charge:max_10usd",
		"payment:charge:", "Payment:charge", "payment:charge ", "payment::charge",
		strings.Repeat("r", 33) + ":a",
	} {
		if r, a, err := ParseAction(in); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseAction(%q) = %q, %q, %v; want ErrMalformed", in, r, a, err)
		}
	}
}

func TestExponent(t *testing.T) {
	want := map[string]int{
		"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "JPY": 0,
		"KRW": 0, "KWD": 3, "BHD": 3, "JOD": 3, "INR": 2, "CNY": 2, "SEK": 2,
		"NOK": 2, "DKK": 2, "PLN": 2, "BRL": 2, "MXN": 2, "ZAR": 2, "SGD": 2,
		"HKD": 2, "NZD": 2, "CLP": 0, "ISK": 0, "VND": 0, "TND": 3, "OMR": 3,
	}
	for code, exp := range want {
		if got, ok := Exponent(code); !ok || got != exp {
			t.Errorf("Exponent(%s) = %d, %v; want %d", code, got, ok, exp)
		}
	}
	for _, code := range []string{"", "usd", "Usd", "XYZ", "US", "USDD", "AAA", "ZZZ", "XTS"} {
		if got, ok := Exponent(code); ok {
			t.Errorf("Exponent(%q) = %d, true; want not found", code, got)
		}
	}
}

// TestCurrencyTable checks the table's shape: whole records, sorted, no
// duplicates, upper-case codes, exponents 0 to 3, and each code found by
// Exponent.
func TestCurrencyTable(t *testing.T) {
	if len(currencyTable)%currencyRecord != 0 {
		t.Fatalf("table length %d is not a multiple of %d", len(currencyTable), currencyRecord)
	}
	prev := ""
	for i := 0; i < len(currencyTable); i += currencyRecord {
		code, d := currencyTable[i:i+3], currencyTable[i+3]
		if strings.ToUpper(code) != code || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Errorf("record %d: code %q is not three upper-case letters", i/currencyRecord, code)
		}
		if d < '0' || d > '3' {
			t.Errorf("%s: exponent %q not in 0..3", code, d)
		}
		if code <= prev {
			t.Errorf("%s follows %s: table not sorted or has duplicates", code, prev)
		}
		prev = code
		if exp, ok := Exponent(code); !ok || exp != int(d-'0') {
			t.Errorf("Exponent(%s) = %d, %v", code, exp, ok)
		}
		// Every currency's largest limit fits MaxLen with the longest names.
		long := Scope{strings.Repeat("r", 32), strings.Repeat("a", 32), Limit{Kind: LimitAmount, MaxMinor: math.MaxInt64, Currency: code}}
		if s := long.String(); len(s) > MaxLen {
			t.Errorf("%s: longest scope is %d bytes, over MaxLen", code, len(s))
		} else if got, err := Parse(s); err != nil || got != long {
			t.Errorf("Parse(%q) = %+v, %v", s, got, err)
		}
	}
}

func TestValidateAll(t *testing.T) {
	many := make([]string, MaxScopes)
	for i := range many {
		many[i] = "inventory:reserve:max_qty" + string(rune('1'+i%9)) + strings.Repeat("0", i/9)
	}
	ok := [][]string{
		{"payment:charge"},
		{"payment:charge:max_10000usd", "payment:refund"},
		{"payment:charge:max_10usd", "payment:charge:max_20usd"},
		many,
	}
	for _, l := range ok {
		if err := ValidateAll(l); err != nil {
			t.Errorf("ValidateAll(%q): %v", l, err)
		}
	}
	bad := []struct {
		list []string
		want error
		msg  string
	}{
		{nil, ErrInvalidList, "no scopes"},
		{[]string{}, ErrInvalidList, "no scopes"},
		{append(many[:len(many):len(many)], "payment:charge"), ErrInvalidList, "33 scopes"},
		{[]string{"payment:charge", "payment:charge:max_10usd:x"}, ErrMalformed, "scopes[1]: "},
		{[]string{"payment:charge:max_1xyz"}, ErrMalformed, "scopes[0]: "},
		{[]string{"payment:charge", "payment:refund", "payment:charge"}, ErrInvalidList, "scopes[2]: invalid scope list: duplicate of scopes[0]"},
		{[]string{""}, ErrMalformed, "scopes[0]: "},
	}
	for _, tt := range bad {
		err := ValidateAll(tt.list)
		if !errors.Is(err, tt.want) {
			t.Errorf("ValidateAll(%q) = %v, want %v", tt.list, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ValidateAll(%q) = %q, want it to contain %q", tt.list, err, tt.msg)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		minor int64
		exp   int
		want  string
	}{
		{0, 2, "0"}, {1, 2, "0.01"}, {10, 2, "0.1"}, {100, 2, "1"}, {9950, 2, "99.5"},
		{1000000, 2, "10000"}, {500, 0, "500"}, {1, 3, "0.001"}, {1500, 3, "1.5"},
		{math.MaxInt64, 2, "92233720368547758.07"},
	}
	for _, tt := range tests {
		if got := formatMinor(tt.minor, tt.exp); got != tt.want {
			t.Errorf("formatMinor(%d, %d) = %q, want %q", tt.minor, tt.exp, got, tt.want)
		}
	}
}
