package httpsig

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dunglas/httpsfv"
)

// This file is the general RFC 9421 machinery under the profile: the
// signature base (§2.5) for any list of covered components this package
// knows how to resolve, and signing a request with it. The profile's own
// rules live in sign.go and verify.go.

// errBase is wrapped by every signature base error.
var errBase = errors.New("cannot build signature base")

// signatureBase returns the RFC 9421 §2.5 signature base of req for the
// covered components and signature parameters in params: an Inner List of
// String Items (the component identifiers) whose parameters are the
// signature parameters.
//
// It resolves the derived components @method, @authority, @path and @query
// (§2.2) and HTTP fields by name (§2.1); component identifiers with
// parameters, other derived components and absent fields are errors, as
// are duplicate identifiers and values that hold control characters.
func signatureBase(req *http.Request, params httpsfv.InnerList) ([]byte, error) {
	var b strings.Builder
	seen := make(map[string]bool, len(params.Items))
	for _, it := range params.Items {
		name, ok := it.Value.(string)
		if !ok {
			return nil, fmt.Errorf("%w: component identifier is not a string", errBase)
		}
		if it.Params == nil || len(it.Params.Names()) != 0 {
			return nil, fmt.Errorf("%w: component %q has parameters", errBase, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: component %q covered twice", errBase, name)
		}
		seen[name] = true
		value, err := componentValue(req, name)
		if err != nil {
			return nil, err
		}
		id, err := httpsfv.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("%w: component %q: %w", errBase, name, err)
		}
		b.WriteString(id)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteByte('\n')
	}
	sp, err := httpsfv.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%w: signature parameters: %w", errBase, err)
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(sp)
	return []byte(b.String()), nil
}

// componentValue returns the value of one covered component of req.
func componentValue(req *http.Request, name string) (string, error) {
	prefix, v, err := componentParts(req, name, nil)
	if err != nil || prefix == "" {
		return v, err
	}
	return prefix + v, nil
}

// componentParts returns the value of one covered component of req as
// prefix+v, so that the caller can write it without joining the two (only
// @query has a prefix, its "?"). lines, when not nil, are the field lines
// of a field component, already looked up by the caller.
func componentParts(req *http.Request, name string, lines []string) (prefix, v string, err error) {
	switch name {
	case "@method":
		v = req.Method
		if v == "" {
			v = http.MethodGet
		}
	case "@authority":
		if v, err = requestAuthority(req); err != nil {
			return "", "", err
		}
	case "@path":
		if req.URL == nil || req.URL.Opaque != "" {
			return "", "", fmt.Errorf("%w: request URL has no path", errBase)
		}
		v = req.URL.EscapedPath()
		if v == "" {
			v = "/"
		}
	case "@query":
		if req.URL == nil {
			return "", "", fmt.Errorf("%w: request has no URL", errBase)
		}
		prefix, v = "?", req.URL.RawQuery
	default:
		if name == "" || name[0] == '@' || name != strings.ToLower(name) {
			return "", "", fmt.Errorf("%w: unsupported component %q", errBase, name)
		}
		if lines == nil {
			lines = req.Header.Values(name)
		}
		if len(lines) == 0 {
			return "", "", fmt.Errorf("%w: covered field %q is absent", errBase, name)
		}
		v = fieldValue(lines)
	}
	if i := indexControl(v); i >= 0 {
		return "", "", fmt.Errorf("%w: component %q holds control character %#x", errBase, name, v[i])
	}
	return prefix, v, nil
}

// requestAuthority returns the @authority of req in the normal form of
// RFC 9421 §2.2.3, which defers to HTTP Semantics (RFC 9110) §4.2.3: the
// Host (req.Host, or req.URL.Host when empty) lower-cased, without the
// port when it is the scheme's default (80 for http, 443 for https) or
// empty. The scheme is req.URL.Scheme when set (a client's request), else
// https when the request came over TLS and http otherwise (a server's).
// Signer and verifier both call it, so "host:80" and "host" sign alike.
func requestAuthority(req *http.Request) (string, error) {
	v := req.Host
	if v == "" && req.URL != nil {
		v = req.URL.Host
	}
	if v == "" {
		return "", fmt.Errorf("%w: request has no host", errBase)
	}
	scheme := "http"
	switch {
	case req.URL != nil && req.URL.Scheme != "":
		scheme = strings.ToLower(req.URL.Scheme)
	case req.TLS != nil:
		scheme = "https"
	}
	return normalAuthority(v, scheme), nil
}

// normalAuthority lower-cases the authority host[:port] and drops a port
// that is empty or the default of scheme. The port is what follows the
// last colon after the host: a bracketed IPv6 literal, or a name or IPv4
// address, which holds no colon.
func normalAuthority(authority, scheme string) string {
	a := strings.ToLower(authority)
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return a
	}
	host, port := a[:i], a[i+1:]
	if host == "" || strings.Contains(host, ":") && !strings.HasSuffix(host, "]") {
		return a // no host, or a bare IPv6 address: no port to drop
	}
	switch {
	case port == "",
		port == "80" && scheme == "http",
		port == "443" && scheme == "https":
		return host
	}
	return a
}

// fieldValue combines field lines as RFC 9421 §2.1 does: each value with
// leading and trailing whitespace removed, joined by ", ".
func fieldValue(lines []string) string {
	if len(lines) == 1 {
		return strings.Trim(lines[0], " \t")
	}
	trimmed := make([]string, len(lines))
	for i, l := range lines {
		trimmed[i] = strings.Trim(l, " \t")
	}
	return strings.Join(trimmed, ", ")
}

// indexControl returns the index of the first character in v that a
// component value must not hold, or -1: the ASCII controls other than
// HTAB, and DEL. They are single bytes, and every byte of a multi-byte
// UTF-8 sequence (or of an invalid one) is at least 0x80, so v is read
// byte by byte; eight bytes at a time, looking closer only at eight that
// hold a byte below 0x20 or DEL.
func indexControl(v string) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// Some byte of x is below 0x20 if and only if below != 0, and
		// some byte is DEL if and only if del != 0 (the "hasless" and
		// "haszero" bit tricks).
		below := (x - 0x20*ones) &^ x & highs
		y := x ^ 0x7f*ones
		del := (y - ones) &^ y & highs
		if below|del == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if isControl(v[j]) {
				return j
			}
		}
	}
	for ; i < len(v); i++ {
		if isControl(v[i]) {
			return i
		}
	}
	return -1
}

// isControl reports the characters a component value must not hold: the
// ASCII controls other than HTAB, and DEL.
func isControl(c byte) bool {
	return (c < 0x20 && c != '\t') || c == 0x7f
}

// signRequest signs req with key over the components and parameters of
// params and returns the Signature-Input and Signature field values that
// carry the signature under label.
func signRequest(req *http.Request, label string, params httpsfv.InnerList, key ed25519.PrivateKey) (input, signature string, err error) {
	base, err := signatureBase(req, params)
	if err != nil {
		return "", "", err
	}
	in := httpsfv.NewDictionary()
	in.Add(label, params)
	sd := httpsfv.NewDictionary()
	sd.Add(label, httpsfv.NewItem(ed25519.Sign(key, base)))
	if input, err = httpsfv.Marshal(in); err != nil {
		return "", "", fmt.Errorf("httpsig: serializing %s: %w", HeaderSignatureInput, err)
	}
	if signature, err = httpsfv.Marshal(sd); err != nil {
		return "", "", fmt.Errorf("httpsig: serializing %s: %w", HeaderSignature, err)
	}
	return input, signature, nil
}

// componentList returns an Inner List of the named components, without
// parameters yet.
func componentList(names ...string) httpsfv.InnerList {
	il := httpsfv.InnerList{Items: make([]httpsfv.Item, len(names)), Params: httpsfv.NewParams()}
	for i, n := range names {
		il.Items[i] = httpsfv.NewItem(n)
	}
	return il
}
