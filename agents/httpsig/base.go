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
	var v string
	switch name {
	case "@method":
		v = req.Method
		if v == "" {
			v = http.MethodGet
		}
	case "@authority":
		v = req.Host
		if v == "" && req.URL != nil {
			v = req.URL.Host
		}
		if v == "" {
			return "", fmt.Errorf("%w: request has no host", errBase)
		}
		v = strings.ToLower(v)
	case "@path":
		if req.URL == nil || req.URL.Opaque != "" {
			return "", fmt.Errorf("%w: request URL has no path", errBase)
		}
		v = req.URL.EscapedPath()
		if v == "" {
			v = "/"
		}
	case "@query":
		if req.URL == nil {
			return "", fmt.Errorf("%w: request has no URL", errBase)
		}
		v = "?" + req.URL.RawQuery
	default:
		if name == "" || name[0] == '@' || name != strings.ToLower(name) {
			return "", fmt.Errorf("%w: unsupported component %q", errBase, name)
		}
		lines := req.Header.Values(name)
		if len(lines) == 0 {
			return "", fmt.Errorf("%w: covered field %q is absent", errBase, name)
		}
		v = fieldValue(lines)
	}
	if i := strings.IndexFunc(v, isControl); i >= 0 {
		return "", fmt.Errorf("%w: component %q holds control character %#x", errBase, name, v[i])
	}
	return v, nil
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

// isControl reports the characters a component value must not hold: the
// ASCII controls other than HTAB, and DEL.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
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
