// Package httpapi serves a ledger over HTTP: the C2SP tlog-tiles read API at
// the root (/checkpoint, /tile/...), the write endpoint POST /v1/entries, and
// JSON endpoints for entries, proofs and tlog-proof bundles, plus /healthz,
// /readyz and /metrics.
//
// Every error answer is JSON of the form {"error":"<code>","message":"..."}.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/internal/muxerr"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/signerlimit"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs/envelope"
)

// MaxBodyBytes bounds a request body: 64 KiB.
const MaxBodyBytes = 64 << 10

// Server timeouts and limits. They bound how long a slow or idle client can
// hold a connection.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 16 << 10
)

// Submitter admits an entry: it checks it and appends it, returning its
// durable index. registry.Registry is the one admission path of the
// ledger; a Submitter MUST NOT append what it has not checked. Its errors
// wrap envelope, registry, signerlimit and ledger errors, which decide the
// HTTP status.
type Submitter interface {
	Submit(ctx context.Context, entry []byte) (ledger.AppendResult, error)
}

// Server is the HTTP front of one ledger.
type Server struct {
	log      *ledger.Log
	submit   Submitter
	logger   zerolog.Logger
	gatherer prometheus.Gatherer
	mux      *http.ServeMux
	refusals *prometheus.CounterVec
}

// New returns a Server for l that admits writes through submit. Metrics
// are served from gatherer (nil serves none).
func New(l *ledger.Log, submit Submitter, logger zerolog.Logger, gatherer prometheus.Gatherer) *Server {
	s := &Server{log: l, submit: submit, logger: logger, gatherer: gatherer, mux: http.NewServeMux(),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_entry_refusals_total",
			Help: "Entries refused by POST /v1/entries, by reason (the answer's error code).",
		}, []string{"reason"}),
	}
	s.routes()
	return s
}

// RegisterMetrics registers the server's own instruments with reg.
func (s *Server) RegisterMetrics(reg prometheus.Registerer) error {
	return reg.Register(s.refusals)
}

// HTTPServer wraps h in an http.Server with the package's timeouts.
func HTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /v1/entries", s.postEntry)
	s.mux.HandleFunc("GET /v1/entries", s.getEntryByHash)
	s.mux.HandleFunc("GET /v1/entries/{index}", s.getEntry)
	s.mux.HandleFunc("GET /v1/proofs/inclusion", s.getInclusion)
	s.mux.HandleFunc("GET /v1/proofs/consistency", s.getConsistency)
	s.mux.HandleFunc("GET /v1/bundles/{index}", s.getBundle)
	s.mux.HandleFunc("GET /checkpoint", s.getCheckpoint)
	s.mux.HandleFunc("GET /tile/", s.getTile)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.getReady)
	if s.gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
}

// ServeHTTP recovers from panics (answering 500) so no request can take the
// server down, and routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error().Interface("panic", v).Str("path", r.URL.Path).Msg("handler panic")
			writeError(w, http.StatusInternalServerError, wire.ReasonInternal, "internal error")
		}
	}()
	s.mux.ServeHTTP(muxerr.Writer(w), r)
}

func (s *Server) postEntry(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	res, err := s.submit.Submit(r.Context(), body)
	if err != nil {
		status, code := classify(err)
		s.refusals.WithLabelValues(code).Inc()
		var over *signerlimit.Exceeded
		if errors.As(err, &over) {
			// Debug: a spamming signer must not flood the log as well.
			s.logger.Debug().Str("signer", over.Signer).Msg("entry refused: signer over its rate")
			w.Header().Set("Retry-After", strconv.Itoa(int(over.RetryAfter/time.Second)))
		} else {
			s.logger.Info().Int("status", status).Str("reason", code).Err(err).Msg("entry refused")
		}
		writeError(w, status, code, err.Error())
		return
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, wire.Appended{Index: res.Index, LeafHash: res.LeafHash.String()})
}

// readBody reads a body of at most MaxBodyBytes, answering 413 beyond.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, wire.ReasonTooLarge, "request body over 64 KiB")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, wire.ReasonTooLarge, "request body over 64 KiB")
		} else {
			writeError(w, http.StatusBadRequest, wire.ReasonBadBody, "reading request body failed")
		}
		return nil, false
	}
	return body, true
}

// classify maps an error to an HTTP status and a machine-readable code.
func classify(err error) (int, string) {
	var refusal *registry.Refusal
	if errors.As(err, &refusal) {
		status, _ := classify(refusal.Class)
		return status, refusal.Code
	}
	switch {
	case errors.Is(err, signerlimit.ErrLimited):
		return http.StatusTooManyRequests, wire.ReasonRateLimited
	case errors.Is(err, envelope.ErrTooLarge), errors.Is(err, ledger.ErrEntrySize):
		return http.StatusRequestEntityTooLarge, wire.ReasonTooLarge
	case errors.Is(err, envelope.ErrMalformed):
		return http.StatusBadRequest, wire.ReasonMalformedEnvelope
	case errors.Is(err, envelope.ErrBadSignature):
		return http.StatusUnauthorized, wire.ReasonBadSignature
	case errors.Is(err, registry.ErrForbidden):
		return http.StatusForbidden, wire.ReasonForbidden
	case errors.Is(err, registry.ErrInvalid):
		return http.StatusBadRequest, wire.ReasonInvalidEntry
	case errors.Is(err, registry.ErrConflict):
		return http.StatusConflict, wire.ReasonConflict
	case errors.Is(err, ledger.ErrNotCovered):
		return http.StatusNotFound, wire.ReasonNotInCheckpoint
	case errors.Is(err, ledger.ErrNotFound):
		return http.StatusNotFound, wire.ReasonNotFound
	case errors.Is(err, ledger.ErrBeyondTree):
		return http.StatusBadRequest, wire.ReasonBeyondTree
	case errors.Is(err, ledger.ErrStorageFailed):
		return http.StatusServiceUnavailable, wire.ReasonStorageFailed
	case errors.Is(err, ledger.ErrUnavailable):
		return http.StatusServiceUnavailable, wire.ReasonStorageUnavailable
	case errors.Is(err, ledger.ErrClosed):
		return http.StatusServiceUnavailable, wire.ReasonUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went away (or gave up) before the commit answered:
		// not a fault of the ledger's, and the entry may still be
		// appended. A retry is safe: entries are deduplicated.
		return http.StatusServiceUnavailable, wire.ReasonCanceled
	default:
		return http.StatusInternalServerError, wire.ReasonInternal
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, wire.Error{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// getReady answers 200 while the log serves and takes appends: a
// checkpoint exists, storage has not failed for good, and no commit has
// stalled.
func (s *Server) getReady(w http.ResponseWriter, r *http.Request) {
	if err := s.log.Err(); err != nil {
		writeError(w, http.StatusServiceUnavailable, wire.ReasonStorageFailed, "storage failed; the ledger refuses appends until it is restarted")
		return
	}
	if s.log.Stalled() {
		writeError(w, http.StatusServiceUnavailable, wire.ReasonStorageStalled, "a commit has not finished in time; appends are refused until it does")
		return
	}
	cp, _, _ := s.log.Checkpoint()
	if cp == nil {
		writeError(w, http.StatusServiceUnavailable, wire.ReasonNotReady, "no checkpoint published yet")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "size": s.log.Size()})
}
