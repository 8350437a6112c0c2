// Package node runs one agent as a server: its own key, its own Badger
// store, a follower of the ledger, a guard in front of every handler the
// agent's role mounts, a client that signs its outgoing calls with the
// contracts it holds, and /healthz, /readyz and /metrics.
package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/agents/replay"
	"github.com/agentledger/agentledger/internal/connlimit"
	"github.com/agentledger/agentledger/internal/muxerr"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/verify"
)

// Server limits of an agent.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	// MaxHeaderBytes leaves room for a Ledger-Contract header that carries
	// a contract's tlog-proof.
	MaxHeaderBytes = 256 << 10
	// DefaultMaxConns bounds the connections an agent keeps open at once.
	// Beyond it, the connection longest without a request in progress is
	// closed to make room (package connlimit), so a flood of idle
	// connections neither exhausts file descriptors nor locks honest
	// callers out.
	DefaultMaxConns = 1024
)

// ReasonNoCheckpoint answers GET /v1/checkpoint before the agent's first
// successful refresh of the log (503). GET /readyz refuses with
// verify.ReasonOf the view's error.
const ReasonNoCheckpoint = "no_checkpoint"

// Config describes one agent.
type Config struct {
	Key      ed25519.PrivateKey
	Ledger   string // the ledger's URL
	Policy   verify.TrustPolicy
	DataDir  string // the agent's own store and view
	Listen   string // host:port; port 0 picks one
	Logger   zerolog.Logger
	Refresh  time.Duration // follower refresh interval (default 500ms)
	Contract [][]byte      // tlog-proofs of the contracts the agent holds
	// MaxConns bounds the connections open at once: 0 means
	// DefaultMaxConns, a negative value no limit.
	MaxConns int
}

// Node is a running agent.
type Node struct {
	DID      string
	DB       *badger.DB
	Follower *verify.Follower
	Guard    *guard.Guard
	Caller   *caller.Client
	Ledger   *client.Client
	Mux      *http.ServeMux
	Registry *prometheus.Registry
	Logger   zerolog.Logger

	cfg     Config
	ln      net.Listener
	limited *connlimit.Listener // ln, when connections are limited
	srv     *http.Server
}

// New opens the agent's store, loads its view of the ledger and its
// contracts, and prepares its guard and mux. Mount the role's handlers on
// Mux (through Guard.Protect), then call Serve.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Key == nil || cfg.Ledger == "" || cfg.DataDir == "" {
		return nil, errors.New("agent: key, ledger and data directory are required")
	}
	self := did.FromPublicKey(cfg.Key.Public().(ed25519.PublicKey))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent data directory: %w", err)
	}
	lc, err := client.New(cfg.Ledger, nil)
	if err != nil {
		return nil, err
	}
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(cfg.DataDir, "db")).WithLogger(nil).
		WithMemTableSize(16 << 20).WithBlockCacheSize(16 << 20).WithIndexCacheSize(8 << 20))
	if err != nil {
		return nil, fmt.Errorf("agent store: %w", err)
	}
	n := &Node{DID: self, DB: db, Ledger: lc, Mux: http.NewServeMux(), Registry: prometheus.NewRegistry(),
		Logger: cfg.Logger.With().Str("agent", self).Logger(), cfg: cfg}
	fail := func(err error) (*Node, error) { db.Close(); return nil, err }
	n.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n.Follower, err = verify.NewFollower(verify.Options{Policy: cfg.Policy, Source: lc, StateDir: filepath.Join(cfg.DataDir, "view")}); err != nil {
		return fail(err)
	}
	if err := n.Follower.Refresh(ctx); err != nil {
		// Not fatal: the guard refuses with checkpoint_stale until a
		// refresh succeeds.
		n.Logger.Warn().Err(err).Msg("first refresh of the ledger view failed")
	}
	if n.Guard, err = guard.New(guard.Options{Follower: n.Follower, Replay: replay.New(db),
		Receipts: receipt.NewWriter(cfg.Key, lc, 5*time.Second), Verifier: &httpsig.Verifier{},
		Logger: n.Logger, Registerer: n.Registry}); err != nil {
		return fail(err)
	}
	n.Caller = caller.New(cfg.Key, nil, nil)
	for i, b := range cfg.Contract {
		k, err := caller.ParseContract(b)
		if err != nil {
			return fail(fmt.Errorf("contract %d: %w", i, err))
		}
		if err := n.Caller.Add(k); err != nil {
			return fail(fmt.Errorf("contract %d: %w", i, err))
		}
	}
	n.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	n.Mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := n.Follower.Fresh(); err != nil {
			muxerr.Refuse(w, http.StatusServiceUnavailable, verify.ReasonOf(err), "the agent's view of the ledger cannot be relied on")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	n.Mux.Handle("GET /metrics", promhttp.HandlerFor(n.Registry, promhttp.HandlerOpts{}))
	n.Mux.HandleFunc("GET /v1/checkpoint", n.serveCheckpoint)
	return n, nil
}

// serveCheckpoint answers the signed checkpoint the agent's view rests on,
// byte for byte as it verified it, so anyone can check later that every
// checkpoint an agent acted under is consistent with the log. Before the
// first refresh it answers 503 ReasonNoCheckpoint.
func (n *Node) serveCheckpoint(w http.ResponseWriter, _ *http.Request) {
	cp := n.Follower.Checkpoint()
	if len(cp.Note) == 0 {
		muxerr.Refuse(w, http.StatusServiceUnavailable, ReasonNoCheckpoint, "the agent has no verified checkpoint yet")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(cp.Note)
}

// Key is the agent's private key, for roles that sign their own entries.
func (n *Node) Key() ed25519.PrivateKey { return n.cfg.Key }

// Listen binds the agent's address and returns it (useful with port 0).
func (n *Node) Listen() (string, error) {
	ln, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return "", fmt.Errorf("agent listen: %w", err)
	}
	addr := ln.Addr().String()
	switch {
	case n.cfg.MaxConns == 0:
		n.limited = connlimit.New(ln, DefaultMaxConns)
	case n.cfg.MaxConns > 0:
		n.limited = connlimit.New(ln, n.cfg.MaxConns)
	}
	n.ln = ln
	if n.limited != nil {
		n.ln = n.limited
		if err := n.Registry.Register(n.limited.Metric("agent")); err != nil {
			ln.Close()
			return "", fmt.Errorf("agent listen: %w", err)
		}
	}
	return addr, nil
}

// Serve follows the ledger and serves until ctx ends, then shuts down
// gracefully and closes the store.
func (n *Node) Serve(ctx context.Context) error {
	if n.ln == nil {
		if _, err := n.Listen(); err != nil {
			return err
		}
	}
	n.srv = &http.Server{Handler: muxerr.Handler(n.Mux), ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes}
	if n.limited != nil {
		n.srv.ConnState = n.limited.ConnState
	}
	followCtx, stopFollow := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		n.Follower.Run(followCtx, n.cfg.Refresh, func(err error) {
			n.Logger.Warn().Err(err).Msg("ledger view refresh failed")
		})
	}()
	served := make(chan error, 1)
	go func() { served <- n.srv.Serve(n.ln) }()
	n.Logger.Info().Str("addr", n.ln.Addr().String()).Msg("agent serving")
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(shutdownCtx)
	stopFollow()
	<-followed
	if cerr := n.DB.Close(); err == nil || errors.Is(err, http.ErrServerClosed) {
		err = cerr
	}
	return err
}
