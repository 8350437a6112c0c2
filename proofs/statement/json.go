package statement

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/agentledger/agentledger/proofs"
)

// maxDepth bounds JSON nesting. Statements nest two levels deep; anything
// much deeper is refused before it costs anything.
const maxDepth = 8

// maxTimeLen is the longest time string accepted:
// "2006-01-02T15:04:05.999999999Z" is 30 bytes.
const maxTimeLen = 35

// invalid returns an error wrapping ErrInvalid that names the statement
// kind and the field, such as "invalid statement: contract: id: ...".
func invalid(kind, field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s: %w", ErrInvalid, kind, field, fmt.Errorf(format, args...))
}

// object is one decoded JSON object of a statement. Its accessors record
// the first error in err and return zero values from then on, so a parser
// can read every field and check err once.
type object struct {
	kind    string // statement kind, for errors
	nested  bool   // whether it is a nested object
	path    string // if nested, its field path, such as "contract"
	members []member
	err     error
}

// decodeStatement checks that b is a single strict JSON object of at most
// MaxPayloadSize bytes, with no duplicate keys at any depth, exactly the
// keys in required plus any of optional, and "v":1.
func decodeStatement(kind string, b []byte, required, optional []string) (*object, error) {
	if len(b) > MaxPayloadSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrInvalid, kind, len(b), MaxPayloadSize)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: %s: not valid UTF-8", ErrInvalid, kind)
	}
	members, err := scanJSON(b, make([]member, 0, len(required)+len(optional)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, kind, err)
	}
	o := &object{kind: kind, members: members}
	if !startsWith(bytes.TrimLeft(b, " \t\r\n"), '{') {
		o.failPath("", "not a JSON object")
	}
	o.checkKeys(required, optional)
	if v := o.int("v"); o.err == nil && v != 1 {
		o.fail("v", "unsupported version %d, want 1", v)
	}
	if o.err != nil {
		return nil, o.err
	}
	return o, nil
}

// checkKeys checks that o has the keys in required and no others but
// those in optional.
func (o *object) checkKeys(required, optional []string) {
	if o.err != nil {
		return
	}
	// Report the unknown key that sorts first, so that the error does not
	// depend on the order of the fields.
	var unknown []byte
	found := false
	for _, m := range o.members {
		if !contains(required, m.key) && !contains(optional, m.key) && (!found || bytes.Compare(m.key, unknown) < 0) {
			unknown, found = m.key, true
		}
	}
	if found {
		o.failPath(o.path, "unknown field %s", quote(string(unknown)))
		return
	}
	for _, k := range required {
		if !o.has(k) {
			o.fail(k, "missing")
			return
		}
	}
}

func contains(list []string, key []byte) bool {
	for _, k := range list {
		if k == string(key) {
			return true
		}
	}
	return false
}

// lookup returns the raw value of key, if o has it.
func (o *object) lookup(key string) ([]byte, bool) {
	for _, m := range o.members {
		if string(m.key) == key {
			return m.val, true
		}
	}
	return nil, false
}

// has reports whether the object has key.
func (o *object) has(key string) bool {
	_, ok := o.lookup(key)
	return ok
}

func (o *object) fail(key, format string, args ...any) {
	if o.nested {
		key = o.path + "." + key
	}
	o.failPath(key, format, args...)
}

func (o *object) failPath(path, format string, args ...any) {
	if o.err != nil {
		return
	}
	if path == "" {
		o.err = fmt.Errorf("%w: %s: %w", ErrInvalid, o.kind, fmt.Errorf(format, args...))
		return
	}
	o.err = invalid(o.kind, path, format, args...)
}

// raw returns the value of key, or nil after an error.
func (o *object) raw(key string) []byte {
	if o.err != nil {
		return nil
	}
	v, ok := o.lookup(key)
	if !ok {
		o.fail(key, "missing")
		return nil
	}
	return v
}

// str returns the string value of key.
func (o *object) str(key string) string {
	v := o.raw(key)
	if v == nil {
		return ""
	}
	s, err := decodeString(v)
	if err != nil {
		o.fail(key, "%w", err)
	}
	return s
}

// decodeString decodes v, a JSON value the scanner has checked, which
// must be a string, refusing escaped lone surrogates (which encoding/json
// silently turns into U+FFFD).
func decodeString(v []byte) (string, error) {
	if !startsWith(v, '"') {
		return "", errors.New("not a string")
	}
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), nil
	}
	s, lone := unescape(make([]byte, 0, len(body)), body)
	if lone {
		return "", errors.New("escaped lone UTF-16 surrogate")
	}
	return string(s), nil
}

// int returns the int64 value of key, which must be a JSON integer (no
// fraction or exponent).
func (o *object) int(key string) int64 {
	v := o.raw(key)
	if v == nil {
		return 0
	}
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	n, ok := parseDigits(v)
	switch {
	case ok && !neg && n <= 1<<63-1:
		return int64(n)
	case ok && neg && n <= 1<<63:
		return -int64(n)
	}
	o.fail(key, "not an integer in int64 range")
	return 0
}

// uint returns the uint64 value of key.
func (o *object) uint(key string) uint64 {
	v := o.raw(key)
	if v == nil {
		return 0
	}
	n, ok := parseDigits(v)
	if !ok {
		o.fail(key, "not an integer in uint64 range")
		return 0
	}
	return n
}

// parseDigits parses v, 1 or more decimal digits, as a uint64.
func parseDigits(v []byte) (uint64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		d := uint64(c - '0')
		if !isDigit(c) || n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// optInt returns a pointer to the int64 value of key, or nil if absent.
func (o *object) optInt(key string) *int64 {
	if !o.has(key) {
		return nil
	}
	n := o.int(key)
	if o.err != nil {
		return nil
	}
	return &n
}

// strs returns the array-of-strings value of key.
func (o *object) strs(key string) []string {
	v := o.raw(key)
	if v == nil {
		return nil
	}
	if !startsWith(v, '[') {
		o.fail(key, "not an array")
		return nil
	}
	elems, err := scanJSON(v, make([]member, 0, 8))
	if err != nil {
		o.fail(key, "not an array")
		return nil
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		s, err := decodeString(e.val)
		if err != nil {
			o.fail(fmt.Sprintf("%s[%d]", key, i), "%w", err)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// time returns the time value of key (see parseTime).
func (o *object) time(key string) time.Time {
	s := o.str(key)
	if o.err != nil {
		return time.Time{}
	}
	t, err := parseTime(s)
	if err != nil {
		o.fail(key, "%w", err)
	}
	return t
}

// hash returns the base64 hash value of key.
func (o *object) hash(key string) proofs.Hash {
	s := o.str(key)
	if o.err != nil {
		return proofs.Hash{}
	}
	h, err := proofs.ParseHash(s)
	if err != nil {
		o.fail(key, "%w", err)
	}
	return h
}

// object returns the nested object under key, with exactly the keys in
// required.
func (o *object) object(key string, required []string) object {
	sub := object{kind: o.kind, nested: true, path: key}
	if o.nested {
		sub.path = o.path + "." + key
	}
	v := o.raw(key)
	if v == nil {
		sub.err = o.err
		return sub
	}
	if !startsWith(v, '{') {
		sub.failPath(sub.path, "not a JSON object")
		return sub
	}
	members, err := scanJSON(v, make([]member, 0, len(required)))
	if err != nil {
		sub.failPath(sub.path, "%w", err)
		return sub
	}
	sub.members = members
	sub.checkKeys(required, nil)
	return sub
}

// parseTime parses an RFC 3339 time in UTC written with "Z":
// YYYY-MM-DDTHH:MM:SS[.fraction]Z, with 1 to 9 fraction digits.
func parseTime(s string) (time.Time, error) {
	if len(s) > maxTimeLen {
		return time.Time{}, fmt.Errorf("time longer than %d bytes", maxTimeLen)
	}
	const shape = "dddd-dd-ddTdd:dd:dd"
	ok := len(s) >= len(shape)+1 && s[len(s)-1] == 'Z'
	for i := 0; ok && i < len(shape); i++ {
		if shape[i] == 'd' {
			ok = s[i] >= '0' && s[i] <= '9'
		} else {
			ok = s[i] == shape[i]
		}
	}
	if ok && len(s) > len(shape)+1 {
		frac := s[len(shape) : len(s)-1]
		ok = len(frac) >= 2 && len(frac) <= 10 && frac[0] == '.'
		for i := 1; ok && i < len(frac); i++ {
			ok = frac[i] >= '0' && frac[i] <= '9'
		}
	}
	if !ok {
		return time.Time{}, fmt.Errorf("%s is not an RFC 3339 UTC time like 2006-01-02T15:04:05Z", quote(s))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", quote(s), err)
	}
	return t.UTC(), nil
}

// formatTime formats t as parseTime accepts it.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// startsWith reports whether v, a JSON value without surrounding
// whitespace, starts with c.
func startsWith(v []byte, c byte) bool {
	return len(v) > 0 && v[0] == c
}

// quote returns s quoted for an error message, cut short if long, so that
// hostile input cannot make error strings huge.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
