// Package server is the ledger's composition root, the counterpart of
// agents/node: Init lays out a ledger's data directory, and Run serves the
// log in it, wiring the log (package ledger), the write rules
// (ledger/registry), the per-signer write rates (ledger/signerlimit), the
// connection limit (internal/connlimit), the HTTP API (ledger/httpapi) and
// its Prometheus metrics. `ledgerctl init` and `ledgerctl serve` are flags
// around these two calls.
//
// # Data directory
//
// Init creates, and Run reads, a directory of mode 0700 holding:
//
//	log.key        the log's checkpoint signer key (note format), mode 0600
//	log.pub        its verifier key, which clients check checkpoints with, 0644
//	authority.pem  the authority's Ed25519 key (PKCS#8 PEM, internal/keyfile), 0600
//	authority.did  the authority's did:key, the signer of registrations,
//	               contracts and revocations, 0644
//	db/            the log's Badger store
//
// Init never overwrites any of them. Run reads log.key, authority.did and
// db/; it never reads authority.pem, so a server holds no authority key.
// It refuses a log.key that group or others may read.
//
// # Run
//
// Run serves until its context ends, the HTTP server fails, or the store
// fails. When it returns, whatever the reason, nothing it started is left
// running: the HTTP server is shut down (requests in flight get
// Config.ShutdownTimeout, then their connections are closed), the
// listener is closed, the log is closed (after a final checkpoint), and
// Config.AddrFile is removed. The data directory may then be served again.
//
// A caller stops Run by ending its context; Run then returns nil unless
// closing the log failed. A caller MUST treat an error wrapping
// ledger.ErrStorageFailed as fatal: a write failed after reaching the
// store, so this process can no longer tell durable state from state that
// may vanish. It MUST report it and exit non-zero, so that a supervisor
// restarts the ledger, which then recovers what is durable.
//
// # Errors
//
// Errors a person can act on match, with errors.Is, one of ErrLogExists,
// ErrNotDataDir, ErrLogKeyExposed, ErrOpen, ErrListen or
// ledger.ErrStorageFailed; their messages do not repeat the class.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/internal/connlimit"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/signerlimit"
	"github.com/agentledger/agentledger/proofs/did"
)

// Classes of the errors of Init and Run that a person can act on.
var (
	// ErrLogExists: Init was given a directory that already holds part of
	// a log.
	ErrLogExists = errors.New("the directory already holds a log")
	// ErrNotDataDir: Run cannot read the log key or the authority's
	// did:key of the directory, which Init may not have made.
	ErrNotDataDir = errors.New("not a data directory made by Init")
	// ErrLogKeyExposed: the log key's mode lets group or others read it.
	ErrLogKeyExposed = errors.New("the log key may be read by others")
	// ErrOpen: the store cannot be opened; it may not be a log, or
	// another process may be serving it.
	ErrOpen = errors.New("the log store cannot be opened")
	// ErrListen: Run cannot listen on Config.Listen.
	ErrListen = errors.New("cannot listen on the address")
)

// classified is err, which errors.Is also matches to class; its message is
// err's alone.
type classified struct{ class, err error }

func (e *classified) Error() string   { return e.err.Error() }
func (e *classified) Unwrap() []error { return []error{e.err, e.class} }

func classify(class, err error) error { return &classified{class: class, err: err} }

// Defaults of the limits on hostile clients (ledgerctl serve's flags).
const (
	// DefaultMaxConns bounds the connections open at once. Beyond it, the
	// connection longest without a request in progress is closed to make
	// room (package connlimit), so a flood of idle connections neither
	// exhausts file descriptors nor locks honest clients out.
	DefaultMaxConns = 4096
	// DefaultSignerRate and DefaultSignerBurst bound each registered
	// agent's writes (entries/s, and at once). The demo's order flow writes
	// about 5 entries per order, so an agent stays far below the rate at
	// hundreds of orders per second.
	DefaultSignerRate  = 1000
	DefaultSignerBurst = 2000
)

// Limits bound what hostile clients can take from the server. A zero field
// means no limit.
type Limits struct {
	MaxConns    int     // connections open at once
	SignerRate  float64 // entries/s per registered agent; the authority is never limited
	SignerBurst int     // entries per registered agent at once
}

// DefaultLimits returns the limits of DefaultMaxConns, DefaultSignerRate
// and DefaultSignerBurst.
func DefaultLimits() Limits {
	return Limits{MaxConns: DefaultMaxConns, SignerRate: DefaultSignerRate, SignerBurst: DefaultSignerBurst}
}

// Config describes one ledger server.
type Config struct {
	Dir    string // a data directory made by Init
	Listen string // TCP host:port; port 0 picks a free one
	// AddrFile, if set, is where Run writes the address it listens on
	// (host:port and a newline, atomically) once it serves; Run removes
	// it when it returns.
	AddrFile string
	// CheckpointInterval is the least time between two signed
	// checkpoints; zero means the ledger's default.
	CheckpointInterval time.Duration
	// ShutdownTimeout is how long shutting down waits for requests in
	// flight; zero or less closes their connections at once.
	ShutdownTimeout time.Duration
	Limits          Limits
	Logger          zerolog.Logger
}

// Run serves the log in cfg.Dir until ctx ends, as the package
// documentation describes.
func Run(ctx context.Context, cfg Config) (err error) {
	logger := cfg.Logger
	signer, err := readSigner(filepath.Join(cfg.Dir, FileLogKey))
	if err != nil {
		return err
	}
	authority, err := readAuthority(filepath.Join(cfg.Dir, FileAuthorityDID))
	if err != nil {
		return err
	}

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	l, err := ledger.Open(ledger.Options{
		Dir:                filepath.Join(cfg.Dir, DirStore),
		Signer:             signer,
		CheckpointInterval: cfg.CheckpointInterval,
		Logger:             &logger,
		Registerer:         metrics,
		Indexer:            registry.Indexer{},
	})
	if err != nil {
		return classify(ErrOpen, err)
	}
	defer func() {
		if cerr := l.Close(); cerr != nil {
			logger.Error().Err(cerr).Msg("closing the log")
			if err == nil {
				err = fmt.Errorf("closing the log: %w", cerr)
			}
		}
	}()

	// Everything that can fail is done before listening, so that no error
	// leaves a listener open.
	authorityDID := did.FromPublicKey(authority)
	lim, err := signerlimit.New(signerlimit.Options{Rate: cfg.Limits.SignerRate, Burst: cfg.Limits.SignerBurst,
		Exempt: func(signer string) bool { return signer == authorityDID }})
	if err != nil {
		return err
	}
	rg := registry.New(l, authority)
	if lim != nil {
		rg.LimitSigners(lim)
	}
	api := httpapi.New(l, rg, logger, metrics)
	if err := api.RegisterMetrics(metrics); err != nil {
		return err
	}
	api.ServeRegistry(rg)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return classify(ErrListen, fmt.Errorf("listening: %w", err))
	}
	addr := ln.Addr().String()
	srv := httpapi.HTTPServer(addr, api)
	if cfg.Limits.MaxConns > 0 {
		limited := connlimit.New(ln, cfg.Limits.MaxConns)
		metrics.MustRegister(limited.Metric("ledger"))
		ln = limited
		srv.ConnState = limited.ConnState
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop := func() {
		shutdown(srv, cfg.ShutdownTimeout, logger)
		<-served
	}

	if cfg.AddrFile != "" {
		if err := fileio.WriteAtomic(cfg.AddrFile, []byte(addr+"\n"), 0o644); err != nil {
			stop()
			return err
		}
		defer os.Remove(cfg.AddrFile)
	}
	logger.Info().Str("addr", addr).Str("origin", l.Origin()).Uint64("size", l.Size()).
		Str("authority", authorityDID).Int("max_conns", cfg.Limits.MaxConns).
		Float64("signer_rate", cfg.Limits.SignerRate).Int("signer_burst", cfg.Limits.SignerBurst).Msg("serving")

	select {
	case <-ctx.Done():
		logger.Info().Msg("shutting down")
		stop()
		return nil
	case err := <-served:
		// The listener failed; connections it accepted may still be open.
		shutdown(srv, cfg.ShutdownTimeout, logger)
		return fmt.Errorf("serving http: %w", err)
	case <-l.Failed():
		// The store failed in a way this process cannot undo; the caller
		// exits for a restart (see the package documentation).
		logger.Error().Err(l.Err()).Msg("storage failed; exiting for a restart")
		stop()
		return l.Err()
	}
}

// shutdown stops srv gracefully, closing it outright after timeout.
func shutdown(srv *http.Server, timeout time.Duration, logger zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn().Err(err).Msg("graceful shutdown timed out; closing connections")
		srv.Close()
	}
}
