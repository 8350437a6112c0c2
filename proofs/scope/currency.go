package scope

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// currencyTable lists the currencies scopes may name, as records of an
// upper-case ISO 4217 code and its minor-unit exponent digit, sorted by
// code. The exponents are those of the ISO 4217 list (as published by
// SIX), not the ones some payment processors use in practice. It is a
// constant so that nobody can change it at run time.
const currencyTable = "" +
	"AED2ARS2AUD2BHD3BRL2CAD2CHF2CLP0CNY2COP2CZK2DKK2EGP2EUR2" +
	"GBP2HKD2HUF2IDR2ILS2INR2IQD3ISK0JOD3JPY0KES2KRW0KWD3LYD3" +
	"MXN2MYR2NGN2NOK2NZD2OMR3PEN2PHP2PKR2PLN2PYG0RON2SAR2SEK2" +
	"SGD2THB2TND3TRY2TWD2UAH2UGX0USD2VND0XAF0XOF0ZAR2"

// currencyRecord is the length of one record of currencyTable.
const currencyRecord = 4

// Exponent returns the ISO 4217 minor-unit exponent of currency, an
// upper-case three-letter code such as "USD" (2), "JPY" (0) or "KWD" (3),
// and whether the code is in the built-in table. Lower-case codes are not
// found.
func Exponent(currency string) (int, bool) {
	if len(currency) != 3 {
		return 0, false
	}
	n := len(currencyTable) / currencyRecord
	i := sort.Search(n, func(i int) bool {
		return currencyTable[i*currencyRecord:i*currencyRecord+3] >= currency
	})
	if i == n || currencyTable[i*currencyRecord:i*currencyRecord+3] != currency {
		return 0, false
	}
	return int(currencyTable[i*currencyRecord+3] - '0'), true
}

// lowerCurrency maps a lower-case code from a scope string to its
// upper-case form and exponent.
func lowerCurrency(code string) (string, int, error) {
	for i := 0; i < len(code); i++ {
		if c := code[i]; c < 'a' || c > 'z' {
			return "", 0, fmt.Errorf("currency %s is not three lower-case letters", quote(code))
		}
	}
	up := strings.ToUpper(code)
	exp, ok := Exponent(up)
	if !ok {
		return "", 0, fmt.Errorf("unknown currency %s", quote(code))
	}
	return up, exp, nil
}

// parseNatural parses a canonical non-negative decimal integer: digits
// only, no sign, no leading zeros except "0" itself, fitting an int64.
func parseNatural(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("missing number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%s is not a decimal number", quote(s))
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%s has a leading zero", quote(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s does not fit an int64", quote(s))
	}
	return n, nil
}

// pow10 returns 10**exp for the small exponents of currencyTable.
func pow10(exp int) int64 {
	p := int64(1)
	for range exp {
		p *= 10
	}
	return p
}

// parseMajor parses a canonical decimal amount in major units with at most
// exp fraction digits and returns it in minor units.
func parseMajor(s string, exp int) (int64, error) {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	whole, err := parseNatural(intPart)
	if err != nil {
		return 0, fmt.Errorf("amount: %w", err)
	}
	var fracMinor int64
	if hasFrac {
		switch {
		case exp == 0:
			return 0, fmt.Errorf("amount %s: currency has no minor unit", quote(s))
		case frac == "":
			return 0, fmt.Errorf("amount %s: empty fraction", quote(s))
		case len(frac) > exp:
			return 0, fmt.Errorf("amount %s: more than %d fraction digits", quote(s), exp)
		case frac[len(frac)-1] == '0':
			return 0, fmt.Errorf("amount %s: trailing zero in fraction", quote(s))
		}
		for i := 0; i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return 0, fmt.Errorf("amount %s is not a decimal number", quote(s))
			}
			fracMinor = fracMinor*10 + int64(frac[i]-'0')
		}
		fracMinor *= pow10(exp - len(frac))
	}
	p := pow10(exp)
	if whole > (math.MaxInt64-fracMinor)/p {
		return 0, fmt.Errorf("amount %s overflows int64 minor units", quote(s))
	}
	return whole*p + fracMinor, nil
}

// formatMinor formats a non-negative amount of minor units as canonical
// major units with exp fraction digits at most.
func formatMinor(minor int64, exp int) string {
	if exp == 0 {
		return strconv.FormatInt(minor, 10)
	}
	p := pow10(exp)
	whole, frac := minor/p, minor%p
	if frac == 0 {
		return strconv.FormatInt(whole, 10)
	}
	if frac < 0 {
		frac = -frac
	}
	f := strconv.FormatInt(frac, 10)
	f = strings.Repeat("0", exp-len(f)) + f
	return strconv.FormatInt(whole, 10) + "." + strings.TrimRight(f, "0")
}
