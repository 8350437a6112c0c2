package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/connlimit"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/signerlimit"
	"github.com/agentledger/agentledger/proofs/did"
)

func serveCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a log over HTTP until interrupted",
		UsageText: "ledgerctl serve --data DIR [--listen ADDR] [--addr-file FILE] [options]",
		Description: "Opens the log that init created in DIR and serves it: the C2SP tlog-tiles\n" +
			"read API at the root (/checkpoint, /tile/...), POST /v1/entries for\n" +
			"entries signed by the authority key, JSON proof and bundle endpoints,\n" +
			"/healthz, /readyz and /metrics. It stops gracefully on SIGINT or SIGTERM.\n" +
			"If storage fails after a write reached the store, it refuses appends (503)\n" +
			"and exits non-zero so that a supervisor restarts it.\n" +
			"\n" +
			"With --listen 127.0.0.1:0 the system picks a free port; --addr-file\n" +
			"then tells scripts which one (host:port, written atomically).\n" +
			"Logs are JSON on stderr, or human-readable when stderr is a terminal.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl serve --data ./log --listen 127.0.0.1:7420\n" +
			"  $ LEDGER_DATA=./log ledgerctl serve --listen 127.0.0.1:0 --addr-file ./addr",
		Flags: []cli.Flag{
			dataFlag(),
			&cli.StringFlag{
				Name:    "listen",
				Value:   "127.0.0.1:7420",
				Usage:   "TCP `ADDR` to listen on (host:port; port 0 picks a free one)",
				EnvVars: []string{"LEDGER_LISTEN"},
			},
			&cli.DurationFlag{
				Name:    "checkpoint-interval",
				Value:   500 * time.Millisecond,
				Usage:   "least time between two signed checkpoints",
				EnvVars: []string{"LEDGER_CHECKPOINT_INTERVAL"},
			},
			&cli.StringFlag{
				Name:    "addr-file",
				Usage:   "write the address actually listened on to `FILE`",
				EnvVars: []string{"LEDGER_ADDR_FILE"},
			},
			&cli.StringFlag{
				Name:    "log-format",
				Value:   "auto",
				Usage:   "log `FORMAT`: auto (console on a terminal, else json), json or console",
				EnvVars: []string{"LEDGER_LOG_FORMAT"},
			},
			&cli.StringFlag{
				Name:    "log-level",
				Value:   "info",
				Usage:   "least `LEVEL` logged: debug, info, warn or error",
				EnvVars: []string{"LEDGER_LOG_LEVEL"},
			},
			&cli.IntFlag{
				Name:    "max-conns",
				Value:   httpapi.DefaultMaxConns,
				Usage:   "most client connections open at once; beyond, a silent or idle one is closed to make room, or new ones wait while all are busy (0: no limit)",
				EnvVars: []string{"LEDGER_MAX_CONNS"},
			},
			&cli.Float64Flag{
				Name:    "signer-rate",
				Value:   httpapi.DefaultSignerRate,
				Usage:   "entries per second each registered agent may write; beyond, POST /v1/entries answers 429 with Retry-After (0: no limit; the authority is never limited)",
				EnvVars: []string{"LEDGER_SIGNER_RATE"},
			},
			&cli.IntFlag{
				Name:    "signer-burst",
				Value:   httpapi.DefaultSignerBurst,
				Usage:   "entries each registered agent may write in one burst, the bucket size of --signer-rate (0: no limit)",
				EnvVars: []string{"LEDGER_SIGNER_BURST"},
			},
			&cli.DurationFlag{
				Name:    "shutdown-timeout",
				Value:   10 * time.Second,
				Usage:   "how long a graceful shutdown waits for requests in flight",
				EnvVars: []string{"LEDGER_SHUTDOWN_TIMEOUT"},
			},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "data"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			logger, err := newLogger(c, s.err)
			if err != nil {
				return err
			}
			if c.Duration("checkpoint-interval") <= 0 {
				return usageErrorf(c, "--checkpoint-interval must be positive")
			}
			if c.Duration("shutdown-timeout") <= 0 {
				return usageErrorf(c, "--shutdown-timeout must be positive")
			}
			if c.Int("max-conns") < 0 || c.Float64("signer-rate") < 0 || c.Int("signer-burst") < 0 {
				return usageErrorf(c, "--max-conns, --signer-rate and --signer-burst must not be negative")
			}
			cfg := serveConfig{
				dir:             c.String("data"),
				listen:          c.String("listen"),
				addrFile:        c.String("addr-file"),
				interval:        c.Duration("checkpoint-interval"),
				shutdownTimeout: c.Duration("shutdown-timeout"),
				limits: serveLimits{maxConns: c.Int("max-conns"),
					signerRate: c.Float64("signer-rate"), signerBurst: c.Int("signer-burst")},
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, logger)
		},
	}
}

type serveConfig struct {
	dir             string
	listen          string
	addrFile        string
	interval        time.Duration
	shutdownTimeout time.Duration
	limits          serveLimits
}

// serveLimits bound what hostile clients can take from the server. Zero
// values mean no limit.
type serveLimits struct {
	maxConns    int     // connections open at once
	signerRate  float64 // entries/s per registered agent
	signerBurst int
}

// defaultServeLimits are the flags' defaults.
var defaultServeLimits = serveLimits{maxConns: httpapi.DefaultMaxConns,
	signerRate: httpapi.DefaultSignerRate, signerBurst: httpapi.DefaultSignerBurst}

// serve runs the ledger server until ctx ends, then shuts it down: the HTTP
// server first (waiting for requests in flight), then the log.
func serve(ctx context.Context, cfg serveConfig, logger zerolog.Logger) (err error) {
	signer, err := readSigner(filepath.Join(cfg.dir, fileLogKey))
	if err != nil {
		return err
	}
	authority, err := readAuthority(filepath.Join(cfg.dir, fileAuthorityDID))
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	l, err := ledger.Open(ledger.Options{
		Dir:                filepath.Join(cfg.dir, dirDB),
		Signer:             signer,
		CheckpointInterval: cfg.interval,
		Logger:             &logger,
		Registerer:         reg,
		Indexer:            registry.Indexer{},
	})
	if err != nil {
		return withHint(err,
			fmt.Sprintf("is %s a log created by 'ledgerctl init', and not served by another process?", cfg.dir))
	}
	defer func() {
		if cerr := l.Close(); cerr != nil {
			logger.Error().Err(cerr).Msg("closing the log")
			if err == nil {
				err = fmt.Errorf("closing the log: %w", cerr)
			}
		}
	}()

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return withHint(fmt.Errorf("listening: %w", err),
			"choose another --listen address, or port 0 for a free one")
	}
	addr := ln.Addr().String()
	var limited *connlimit.Listener
	if cfg.limits.maxConns > 0 {
		limited = connlimit.New(ln, cfg.limits.maxConns)
		ln = limited
		reg.MustRegister(limited.Metric("ledger"))
	}
	authorityDID := did.FromPublicKey(authority)
	lim, err := signerlimit.New(signerlimit.Options{Rate: cfg.limits.signerRate, Burst: cfg.limits.signerBurst,
		Exempt: func(signer string) bool { return signer == authorityDID }})
	if err != nil {
		return err
	}
	rg := registry.New(l, authority)
	if lim != nil {
		rg.LimitSigners(lim)
	}
	api := httpapi.New(l, rg, logger, reg)
	if err := api.RegisterMetrics(reg); err != nil {
		return err
	}
	api.ServeRegistry(rg)
	srv := httpapi.HTTPServer(addr, api)
	if limited != nil {
		srv.ConnState = limited.ConnState
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if cfg.addrFile != "" {
		if err := fileio.WriteAtomic(cfg.addrFile, []byte(addr+"\n"), 0o644); err != nil {
			shutdown(srv, cfg.shutdownTimeout, logger)
			return err
		}
		defer os.Remove(cfg.addrFile)
	}
	logger.Info().Str("addr", addr).Str("origin", l.Origin()).Uint64("size", l.Size()).
		Str("authority", authorityDID).Int("max_conns", cfg.limits.maxConns).
		Float64("signer_rate", cfg.limits.signerRate).Int("signer_burst", cfg.limits.signerBurst).Msg("serving")

	select {
	case <-ctx.Done():
		logger.Info().Msg("shutting down")
		shutdown(srv, cfg.shutdownTimeout, logger)
		<-served
		return nil
	case err := <-served:
		return fmt.Errorf("serving http: %w", err)
	case <-l.Failed():
		// The store failed in a way this process cannot undo: exit non-zero
		// so that a supervisor restarts the ledger, which then recovers
		// what is durable.
		logger.Error().Err(l.Err()).Msg("storage failed; exiting for a restart")
		shutdown(srv, cfg.shutdownTimeout, logger)
		<-served
		return withHint(l.Err(), "fix the storage (free disk space, check the device), then start the ledger again")
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

// readSigner loads the log's note signer key, refusing a file that others
// may read. Errors never contain the key.
func readSigner(path string) (note.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, withHint(fmt.Errorf("reading the log key: %w", err),
			"is --data a directory created by 'ledgerctl init'?")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, withHint(fmt.Errorf("log key %s has mode %#o and may be read by others", path, perm),
			fmt.Sprintf("run: chmod 600 %s", path))
	}
	data, err := fileio.ReadLimit(path, maxKeyFile, "log key")
	if err != nil {
		return nil, err
	}
	defer clear(data)
	signer, err := note.NewSigner(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("log key %s: not a note signer key: %w", path, err)
	}
	return signer, nil
}

// readAuthority loads the authority's did:key.
func readAuthority(path string) (ed25519.PublicKey, error) {
	data, err := fileio.ReadLimit(path, maxKeyFile, "authority did file")
	if err != nil {
		return nil, withHint(err, "is --data a directory created by 'ledgerctl init'?")
	}
	pub, err := did.Parse(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("authority did file %s: %w", path, err)
	}
	return pub, nil
}

// newLogger builds the server's zerolog logger on w from --log-format and
// --log-level.
func newLogger(c *cli.Context, w io.Writer) (zerolog.Logger, error) {
	levelName := strings.ToLower(c.String("log-level"))
	if levelName == "" {
		levelName = "info"
	}
	level, err := zerolog.ParseLevel(levelName)
	if err != nil || level == zerolog.NoLevel {
		return zerolog.Logger{}, usageErrorf(c, "--log-level %q: want trace, debug, info, warn or error", c.String("log-level"))
	}
	tty := isTerminal(w)
	var console bool
	switch c.String("log-format") {
	case "auto", "":
		console = tty
	case "json":
	case "console":
		console = true
	default:
		return zerolog.Logger{}, usageErrorf(c, "--log-format %q: want auto, json or console", c.String("log-format"))
	}
	out := w
	if console {
		out = zerolog.ConsoleWriter{Out: w, NoColor: !tty, TimeFormat: time.RFC3339}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger(), nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
