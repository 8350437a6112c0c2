// Package jsonapi is the one set of HTTP helpers the business agents
// (order, inventory, payment, fulfillment) share: the strict decoding of a
// request body, the writing of a JSON answer, the refusal body of
// docs/protocol.md §9, and the id alphabets that are safe in a store key.
//
// A refusal is always
//
//	{"error":"<reason>","message":"<what a person can act on>"}
//
// with a 4xx or 5xx status, written by Refuse. The reason is a stable,
// machine-readable snake_case string; the message is for people and may
// change.
//
// Decode and the agents' request parsers return a *RequestError for a
// body the agent refuses as it is; Fail answers it with its own status
// and reason, so a handler never has to tell a parse error from a store
// error by its text.
package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Refusal reasons of a request body, the same at every agent.
const (
	ReasonBadRequest = "bad_request"       // 400: the body does not parse or breaks a rule
	ReasonTooLarge   = "request_too_large" // 413: the body is over the agent's limit
)

// MaxRequestBytes is the body limit of the business agents' requests. The
// guard bounds every body at 64 KiB already; this is the agents' own,
// tighter one.
const MaxRequestBytes = 16 << 10

// Error is the body of every refusal.
type Error struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// RequestError is a request refused as it is: Status is 400 or 413 and
// Reason the refusal's reason. Err says what is wrong.
type RequestError struct {
	Status int
	Reason string
	Err    error
}

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// Invalid marks err as a rule the request breaks: 400 bad_request. A nil
// err stays nil, and a *RequestError is returned as it is.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	var re *RequestError
	if errors.As(err, &re) {
		return err
	}
	return &RequestError{Status: http.StatusBadRequest, Reason: ReasonBadRequest, Err: err}
}

// Invalidf is Invalid(fmt.Errorf(format, args...)).
func Invalidf(format string, args ...any) error {
	return Invalid(fmt.Errorf(format, args...))
}

// Decode reads body into v strictly: at most max bytes (else 413
// request_too_large), exactly one JSON value with no field v does not
// have, and nothing after it but white space (else 400 bad_request). Every
// error it returns is a *RequestError; it never panics, whatever body
// holds. v must be a non-nil pointer.
func Decode(body []byte, max int, v any) error {
	if len(body) > max {
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Reason: ReasonTooLarge,
			Err: fmt.Errorf("request body of %d bytes is over the limit of %d", len(body), max)}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return Invalid(fmt.Errorf("malformed request: %w", err))
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return Invalid(errors.New("malformed request: data after the object"))
	}
	return nil
}

// WriteJSON answers v as JSON with status: Content-Type application/json,
// Cache-Control no-store, and the encoding of v followed by a newline. A v
// that does not encode is answered 500 {"error":"internal",...} instead;
// nothing of it is written.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(Error{Error: "internal", Message: "encoding the answer failed"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client went away; nothing to do
}

// Refuse answers the refusal {"error":reason,"message":msg} with status.
func Refuse(w http.ResponseWriter, status int, reason, msg string) {
	WriteJSON(w, status, Error{Error: reason, Message: msg})
}

// Fail answers err if it is a *RequestError, with its status, reason and
// message, and reports whether it did; any other error is left to the
// caller, which knows what else can fail.
func Fail(w http.ResponseWriter, err error) bool {
	var re *RequestError
	if !errors.As(err, &re) {
		return false
	}
	Refuse(w, re.Status, re.Reason, re.Error())
	return true
}
