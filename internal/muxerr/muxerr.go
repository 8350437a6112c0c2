// Package muxerr turns the plain-text answers net/http writes on its own
// (a ServeMux's 404 and 405, and the empty 400 to a request for "*", as in
// "GET * HTTP/1.1") into the JSON refusal every endpoint of this project
// answers with: {"error":"<reason>","message":"..."}, so a client can
// always read a machine-readable reason. Refuse writes that refusal for
// the agents' own handlers.
package muxerr

import (
	"encoding/json"
	"net/http"

	"github.com/agentledger/agentledger/ledger/wire"
)

// The reasons of the refusals net/http makes on its own, as this package
// rewrites them.
const (
	// ReasonBadRequest: a request net/http refused before any handler, such
	// as one for the target "*" (400).
	ReasonBadRequest = "bad_request"
	// ReasonMethodNotAllowed: the path exists, not with this method (405).
	ReasonMethodNotAllowed = "method_not_allowed"
	// ReasonNotFound: no such endpoint (404); the same reason the ledger
	// gives for no such entry.
	ReasonNotFound = wire.ReasonNotFound
)

// Handler serves h, rewriting net/http's plain-text refusals as JSON.
func Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(Writer(w), r)
	})
}

// Writer wraps w so that net/http's plain-text refusals written through it
// become JSON. Everything else passes through unchanged.
func Writer(w http.ResponseWriter) http.ResponseWriter { return &writer{ResponseWriter: w} }

type writer struct {
	http.ResponseWriter
	rewritten bool
}

func (m *writer) WriteHeader(code int) {
	if code == http.StatusBadRequest && m.Header().Get("Content-Type") == "" {
		m.refuse(code, ReasonBadRequest, "request target must be a path")
		return
	}
	if (code == http.StatusMethodNotAllowed || code == http.StatusNotFound) &&
		m.Header().Get("Content-Type") == "text/plain; charset=utf-8" {
		m.Header().Del("X-Content-Type-Options")
		if code == http.StatusMethodNotAllowed {
			m.refuse(code, ReasonMethodNotAllowed, "method not allowed")
		} else {
			m.refuse(code, ReasonNotFound, "no such endpoint")
		}
		return
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *writer) refuse(code int, reason, message string) {
	m.rewritten = true
	Refuse(m.ResponseWriter, code, reason, message)
}

// Refuse answers status with the JSON refusal {"error":reason,"message":
// message}, not to be cached.
func Refuse(w http.ResponseWriter, status int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": reason, "message": message})
}

// Write drops the plain-text body of a rewritten answer.
func (m *writer) Write(b []byte) (int, error) {
	if m.rewritten {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (m *writer) Unwrap() http.ResponseWriter { return m.ResponseWriter }
