package statement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/agentledger/agentledger/proofs"
)

// This file keeps, renamed with a ref prefix, the encoding/json based
// implementation that scan.go and the present json.go replaced: the
// reference that the differential tests and fuzz targets compare them
// with. Only names differ from the old code.

// refObject is one decoded JSON object of a statement. Its accessors record
// the first error in err and return zero values from then on, so a parser
// can read every field and check err once.
type refObject struct {
	kind   string // statement kind, for errors
	prefix string // field path prefix for nested objects, such as "contract."
	m      map[string]json.RawMessage
	err    error
}

// refDecodeStatement checks that b is a single strict JSON object of at most
// MaxPayloadSize bytes, with no duplicate keys at any depth, exactly the
// keys in required plus any of optional, and "v":1.
func refDecodeStatement(kind string, b []byte, required, optional []string) (*refObject, error) {
	if len(b) > MaxPayloadSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrInvalid, kind, len(b), MaxPayloadSize)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: %s: not valid UTF-8", ErrInvalid, kind)
	}
	if err := refCheckSyntax(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, kind, err)
	}
	o := &refObject{kind: kind}
	o.decode(nil, b, required, optional)
	if v := o.int("v"); o.err == nil && v != 1 {
		o.fail("v", "unsupported version %d, want 1", v)
	}
	if o.err != nil {
		return nil, o.err
	}
	return o, nil
}

// decode fills o.m from raw, the value of field (nil at top level), and
// checks its keys.
func (o *refObject) decode(field *string, raw []byte, required, optional []string) {
	name := ""
	if field != nil {
		name = *field
	}
	if !refStartsWith(raw, '{') {
		o.failPath(name, "not a JSON object")
		return
	}
	if err := json.Unmarshal(raw, &o.m); err != nil {
		o.failPath(name, "%w", err)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(o.m)) {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			o.failPath(name, "unknown field %s", quote(k))
			return
		}
	}
	for _, k := range required {
		if _, ok := o.m[k]; !ok {
			o.fail(k, "missing")
			return
		}
	}
}

// has reports whether the object has key.
func (o *refObject) has(key string) bool {
	_, ok := o.m[key]
	return ok
}

func (o *refObject) fail(key, format string, args ...any) {
	o.failPath(o.prefix+key, format, args...)
}

func (o *refObject) failPath(path, format string, args ...any) {
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
func (o *refObject) raw(key string) []byte {
	if o.err != nil {
		return nil
	}
	v, ok := o.m[key]
	if !ok {
		o.fail(key, "missing")
		return nil
	}
	return v
}

// str returns the string value of key.
func (o *refObject) str(key string) string {
	v := o.raw(key)
	if v == nil {
		return ""
	}
	s, err := refDecodeString(v)
	if err != nil {
		o.fail(key, "%w", err)
	}
	return s
}

// refDecodeString decodes a JSON string literal, refusing other JSON values
// and escaped lone surrogates.
func refDecodeString(v []byte) (string, error) {
	if !refStartsWith(v, '"') {
		return "", errors.New("not a string")
	}
	if refLoneSurrogate(v) {
		return "", errors.New("escaped lone UTF-16 surrogate")
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", err
	}
	return s, nil
}

// int returns the int64 value of key, which must be a JSON integer (no
// fraction or exponent).
func (o *refObject) int(key string) int64 {
	v := o.raw(key)
	if v == nil {
		return 0
	}
	var n int64
	if !refStartsWithNumber(v) || json.Unmarshal(v, &n) != nil {
		o.fail(key, "not an integer in int64 range")
		return 0
	}
	return n
}

// uint returns the uint64 value of key.
func (o *refObject) uint(key string) uint64 {
	v := o.raw(key)
	if v == nil {
		return 0
	}
	var n uint64
	if !refStartsWithNumber(v) || json.Unmarshal(v, &n) != nil {
		o.fail(key, "not an integer in uint64 range")
		return 0
	}
	return n
}

// optInt returns a pointer to the int64 value of key, or nil if absent.
func (o *refObject) optInt(key string) *int64 {
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
func (o *refObject) strs(key string) []string {
	v := o.raw(key)
	if v == nil {
		return nil
	}
	var elems []json.RawMessage
	if !refStartsWith(v, '[') || json.Unmarshal(v, &elems) != nil {
		o.fail(key, "not an array")
		return nil
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		s, err := refDecodeString(e)
		if err != nil {
			o.fail(fmt.Sprintf("%s[%d]", key, i), "%w", err)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// time returns the time value of key (see parseTime).
func (o *refObject) time(key string) time.Time {
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
func (o *refObject) hash(key string) proofs.Hash {
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
func (o *refObject) object(key string, required []string) *refObject {
	sub := &refObject{kind: o.kind, prefix: o.prefix + key + "."}
	v := o.raw(key)
	if v == nil {
		sub.err = o.err
		return sub
	}
	path := o.prefix + key
	sub.decode(&path, v, required, nil)
	return sub
}

// refCheckSyntax checks that b is exactly one JSON value, optionally
// surrounded by whitespace, with no object holding the same key twice
// (after unescaping) at any depth, nested at most maxDepth deep.
// encoding/json accepts duplicate keys silently (the last one wins), which
// would let two readers of one signed statement see different values.
func refCheckSyntax(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("malformed JSON: %w", err)
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				if stack[n-1].keys[key] {
					return fmt.Errorf("duplicate key %s", quote(key))
				}
				stack[n-1].keys[key] = true
				stack[n-1].wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == maxDepth {
				return fmt.Errorf("JSON nested deeper than %d", maxDepth)
			}
			f := frame{}
			if tok == json.Delim('{') {
				f = frame{keys: map[string]bool{}, wantKey: true}
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value is complete.
		if len(stack) == 0 {
			break
		}
		if top := &stack[len(stack)-1]; top.keys != nil {
			top.wantKey = true
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// refLoneSurrogate reports whether the JSON string literal raw has a \u
// escape of a UTF-16 surrogate that is not part of a valid pair.
// encoding/json silently turns those into U+FFFD.
func refLoneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := refHex4(raw, i)
		if !ok {
			i++ // skip the escaped character
			continue
		}
		i += 5
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		case r >= 0xd800 && r <= 0xdbff:
			lo, ok := refHex4(raw, i+1)
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// refHex4 decodes the \uXXXX escape at raw[i:], if there is one.
func refHex4(raw []byte, i int) (rune, bool) {
	if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range raw[i+2 : i+6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func refStartsWith(v []byte, c byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == c
}

func refStartsWithNumber(v []byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}
