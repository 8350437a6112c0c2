// Package customer is the one set of rules for the data a customer gives
// with an order: the name, the e-mail address, the postal address, the
// note, the card, and the lines (SKU and quantity) of what is ordered.
//
// The order agent checks an order against these rules at the door, before
// anything is reserved or charged; the fulfillment, inventory and payment
// agents check the same fields of their own requests with the same
// functions. So an order the order agent accepts is never refused later
// for its customer data: a rule that changes, changes here, for all of
// them at once.
//
// Every limit is the strictest any agent applied before the rules were
// made one (the fulfillment agent's, for the fields a label prints), and
// two rules are a little stricter than any was: no address line may be
// blank (the order agent refused empty lines, the fulfillment agent a
// blank first one), and no field may hold a line separator. Text is
// counted in Unicode code points. No text field may hold a control
// character (Unicode category Cc: C0, DEL, C1, so no newline or escape),
// a format character (category Cf: zero-width spaces and joiners U+200B to
// U+200F, bidi embeddings and overrides U+202A to U+202E, bidi isolates
// U+2066 to U+2069, the byte order mark U+FEFF, and the rest of Cf), or a
// line or paragraph separator (U+2028, U+2029): each field is one line of
// plain text, shown to people as it is.
//
// The package does no I/O.
package customer

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a customer's data.
const (
	// MaxNameChars bounds a first and a last name: what a label's name
	// line prints. A first name is required; a last name may be empty.
	MaxNameChars = 64
	// MaxEmailChars bounds an e-mail address (RFC 5321's limit on a
	// path). An e-mail address is optional; if given it must hold an @.
	MaxEmailChars = 254
	// MaxAddressLines bounds the street lines of an address; at least one
	// is required, and none may be blank.
	MaxAddressLines = 4
	// MaxLineChars bounds one street line of an address.
	MaxLineChars = 128
	// MaxCityChars bounds the city, which is required.
	MaxCityChars = 64
	// MaxPostalChars bounds the postal code, which may be empty (not
	// every country has one).
	MaxPostalChars = 16
	// MaxNoteChars bounds the customer's note, which is optional. It
	// reaches the notifier (and so a model) as quoted data.
	MaxNoteChars = 500
	// MinCardDigits and MaxCardDigits bound a card number, which is
	// digits only.
	MinCardDigits = 12
	MaxCardDigits = 19
)

// ValidText reports whether s is valid UTF-8 of at most n code points with
// no control or format character and no line or paragraph separator; if
// required, it must also hold a character other than white space.
func ValidText(s string, n int, required bool) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > n {
		return false
	}
	if required && strings.TrimSpace(s) == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// checkText is ValidText as an error that says the rule.
func checkText(s string, n int, required bool) error {
	if ValidText(s, n, required) {
		return nil
	}
	if required {
		return fmt.Errorf("1 to %d characters, not blank, no control or format characters", n)
	}
	return fmt.Errorf("at most %d characters, no control or format characters", n)
}

// field names the field an error is about.
func field(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Name is a person's name as a label prints it.
type Name struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

// Check reports the first rule n breaks: a first name of 1 to
// MaxNameChars, a last name of at most MaxNameChars. The error names the
// field (first, last).
func (n Name) Check() error {
	if err := CheckFirstName(n.First); err != nil {
		return field("first", err)
	}
	return field("last", checkText(n.Last, MaxNameChars, false))
}

// CheckFirstName checks a first name alone, as a notification carries it.
func CheckFirstName(first string) error {
	return checkText(first, MaxNameChars, true)
}

// The checks of a single field return an error that says the rule and
// not the field's name, which differs between requests; the caller names
// it.

// CheckEmail checks an e-mail address: empty, or at most MaxEmailChars of
// text holding an @.
func CheckEmail(email string) error {
	if email == "" {
		return nil
	}
	if !ValidText(email, MaxEmailChars, true) || !strings.Contains(email, "@") {
		return fmt.Errorf("not an e-mail address of at most %d characters", MaxEmailChars)
	}
	return nil
}

// Address is a full postal address.
type Address struct {
	Lines      []string `json:"lines"`
	City       string   `json:"city"`
	PostalCode string   `json:"postal_code"`
	Country    string   `json:"country"` // ISO 3166-1 alpha-2, upper case
}

// Check reports the first rule a breaks: 1 to MaxAddressLines lines of 1
// to MaxLineChars, none blank; a city of 1 to MaxCityChars; a postal
// code of at most MaxPostalChars; an upper-case ISO 3166-1 alpha-2
// country. The error names the field (lines, city, postal_code, country).
func (a Address) Check() error {
	if len(a.Lines) == 0 || len(a.Lines) > MaxAddressLines {
		return fmt.Errorf("lines: 1 to %d lines", MaxAddressLines)
	}
	for _, l := range a.Lines {
		if err := checkText(l, MaxLineChars, true); err != nil {
			return field("lines", err)
		}
	}
	if err := checkText(a.City, MaxCityChars, true); err != nil {
		return field("city", err)
	}
	if err := checkText(a.PostalCode, MaxPostalChars, false); err != nil {
		return field("postal_code", err)
	}
	if !ValidCountry(a.Country) {
		return errors.New("country: an ISO 3166-1 alpha-2 code in upper case")
	}
	return nil
}

// ValidCountry reports whether s has the form of an ISO 3166-1 alpha-2
// code in upper case: two letters A to Z.
func ValidCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// CheckNote checks the customer's note: at most MaxNoteChars of text.
func CheckNote(note string) error {
	return checkText(note, MaxNoteChars, false)
}

// CheckCard checks a card number: MinCardDigits to MaxCardDigits digits.
func CheckCard(card string) error {
	if len(card) < MinCardDigits || len(card) > MaxCardDigits || strings.Trim(card, "0123456789") != "" {
		return fmt.Errorf("%d to %d digits", MinCardDigits, MaxCardDigits)
	}
	return nil
}
