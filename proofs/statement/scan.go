package statement

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// This file is a small JSON scanner for the statements' strict syntax
// check, on the ledger's append path. It takes one pass over the bytes,
// allocates nothing but the members it returns (and the few keys written
// with escapes), and refuses exactly what the json.Decoder.Token loop it
// replaced refused, with the same error messages: reference_test.go keeps
// that loop, and the tests and FuzzScanner compare the two.

// A member is one member of a JSON object, or one element of an array
// (with a nil key).
type member struct {
	key []byte // unescaped
	val []byte // the raw value, without surrounding whitespace
}

// manyKeys is the number of keys from which an object's duplicate check
// uses a map rather than comparing each key with all earlier ones.
const manyKeys = 16

// checkSyntax checks that b, which must be valid UTF-8, is exactly one
// JSON value, optionally surrounded by whitespace, with no object holding
// the same key twice (after unescaping) at any depth, nested at most
// maxDepth deep. encoding/json accepts duplicate keys silently (the last
// one wins), which would let two readers of one signed statement see
// different values.
func checkSyntax(b []byte) error {
	s := scanner{b: b}
	return s.scan()
}

// scanJSON is checkSyntax that also appends to out the members of b's
// value if it is an object, or its elements if it is an array.
func scanJSON(b []byte, out []member) ([]member, error) {
	s := scanner{b: b, out: out, keep: true}
	err := s.scan()
	return s.out, err
}

func (s *scanner) scan() error {
	s.skipSpace()
	if err := s.value(); err != nil {
		return err
	}
	s.skipSpace()
	if s.i < len(s.b) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

type scanner struct {
	b     []byte
	i     int      // offset of the next byte to read
	depth int      // number of open objects and arrays
	keep  bool     // whether to append the outermost value's members
	out   []member // to out
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// fail returns the error for the byte at s.i, which context (if not
// empty, starting with a space) describes as encoding/json does: the end
// of the input is "unexpected EOF", any other byte an invalid character.
func (s *scanner) fail(context string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("malformed JSON: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("malformed JSON: invalid character %s%s", quoteChar(s.b[s.i]), context)
}

// quoteChar quotes c as encoding/json's syntax errors do.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := fmt.Sprintf("%q", string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// value scans the value at s.i, where there is no whitespace.
func (s *scanner) value() error {
	if s.i >= len(s.b) {
		return s.fail("")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail(" looking for beginning of value")
}

// open enters an object or array.
func (s *scanner) open() error {
	if s.depth == maxDepth {
		return fmt.Errorf("JSON nested deeper than %d", maxDepth)
	}
	s.depth++
	s.i++
	s.skipSpace()
	return nil
}

// record adds a member of the outermost value to s.out.
func (s *scanner) record(key []byte, start int) {
	if s.keep && s.depth == 1 {
		s.out = append(s.out, member{key: key, val: s.b[start:s.i]})
	}
}

func (s *scanner) object() error {
	if err := s.open(); err != nil {
		return err
	}
	// The keys so far, to refuse duplicates: in keys while there are few,
	// then in seen.
	var buf [manyKeys][]byte
	keys := buf[:0]
	var seen map[string]bool
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	context := "" // what encoding/json says of a bad byte in place of the first key
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail(context)
		}
		key, escaped, err := s.str()
		if err != nil {
			return err
		}
		if escaped {
			key, _ = unescape(make([]byte, 0, len(key)), key)
		}
		dup := false
		if seen == nil {
			for _, k := range keys {
				dup = dup || bytes.Equal(k, key)
			}
			if len(keys) < manyKeys {
				keys = append(keys, key)
			} else {
				seen = make(map[string]bool, 4*manyKeys)
				for _, k := range keys {
					seen[string(k)] = true
				}
			}
		} else {
			dup = seen[string(key)]
		}
		if dup {
			return fmt.Errorf("duplicate key %s", quote(string(key)))
		}
		if seen != nil {
			seen[string(key)] = true
		}
		s.skipSpace()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail(" after object key")
		}
		s.i++
		s.skipSpace()
		start := s.i
		if err := s.value(); err != nil {
			return err
		}
		s.record(key, start)
		s.skipSpace()
		if s.i >= len(s.b) {
			return s.fail("")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.skipSpace()
			context = " looking for beginning of object key string"
			continue
		case '}':
			s.i++
			s.depth--
			return nil
		}
		return s.fail(" after object key:value pair")
	}
}

func (s *scanner) array() error {
	if err := s.open(); err != nil {
		return err
	}
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		start := s.i
		if err := s.value(); err != nil {
			return err
		}
		s.record(nil, start)
		s.skipSpace()
		if s.i >= len(s.b) {
			return s.fail("")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.skipSpace()
			continue
		case ']':
			s.i++
			s.depth--
			return nil
		}
		return s.fail(" after array element")
	}
}

// str scans the string at s.i and returns its contents, still escaped,
// and whether there are escapes.
func (s *scanner) str() (body []byte, escaped bool, err error) {
	start := s.i + 1
	for {
		// Skip plain bytes, the bulk of a statement, in a tight loop.
		b, i := s.b, s.i+1
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= ' ' {
			i++
		}
		s.i = i
		switch {
		case i >= len(b):
			return nil, false, s.fail("")
		case b[i] == '"':
			s.i++
			return b[start:i], escaped, nil
		case b[i] < ' ':
			return nil, false, s.fail(" in string literal")
		}
		// A backslash.
		escaped = true
		s.i++
		if s.i >= len(b) {
			return nil, false, s.fail("")
		}
		switch b[s.i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			for range 4 {
				s.i++
				if s.i >= len(b) || unhex(b[s.i]) < 0 {
					return nil, false, s.fail(` in \u hexadecimal character escape`)
				}
			}
		default:
			return nil, false, s.fail(" in string escape code")
		}
		// s.i is at the escape's last byte.
	}
}

func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(s.b):
		return s.fail("")
	case s.b[s.i] == '0':
		s.i++
	case s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.fail(" in numeric literal")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return s.fail(" after decimal point in numeric literal")
		}
		s.digits()
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return s.fail(" in exponent of numeric literal")
		}
		s.digits()
	}
	return nil
}

func (s *scanner) digits() {
	for s.i < len(s.b) && isDigit(s.b[s.i]) {
		s.i++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// literal scans word (true, false or null), whose first byte is at s.i.
func (s *scanner) literal(word string) error {
	s.i++
	for k := 1; k < len(word); k++ {
		if s.i >= len(s.b) || s.b[s.i] != word[k] {
			return s.fail(fmt.Sprintf(" in literal %s (expecting %s)", word, quoteChar(word[k])))
		}
		s.i++
	}
	return nil
}

// unescape appends to dst the contents of body, the inside of a
// well-formed JSON string literal, with its escapes decoded. Like
// encoding/json, it turns each \u escape of a UTF-16 surrogate that is
// not part of a valid pair into U+FFFD; lone reports whether there was
// one.
func unescape(dst, body []byte) (_ []byte, lone bool) {
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			j := bytes.IndexByte(body[i:], '\\')
			if j < 0 {
				j = len(body) - i
			}
			dst = append(dst, body[i:i+j]...)
			i += j
			continue
		}
		c = body[i+1]
		i += 2
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(body[i:])
			i += 4
			if r >= 0xd800 && r <= 0xdfff {
				// A high surrogate and an escaped low one after it make a
				// pair; any other surrogate is lone.
				lo := rune(-1)
				if r <= 0xdbff && i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					lo = hex4(body[i+2:])
				}
				if lo >= 0xdc00 && lo <= 0xdfff {
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
					i += 6
				} else {
					r, lone = utf8.RuneError, true
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\' or '/'
			dst = append(dst, c)
		}
	}
	return dst, lone
}

// hex4 decodes the four hex digits at the start of b, which the scanner
// has checked.
func hex4(b []byte) rune {
	return rune(unhex(b[0]))<<12 | rune(unhex(b[1]))<<8 | rune(unhex(b[2]))<<4 | rune(unhex(b[3]))
}

// unhex returns the value of the hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
