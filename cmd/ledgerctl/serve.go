package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/server"
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
				Value:   server.DefaultMaxConns,
				Usage:   "most client connections open at once; beyond, a silent or idle one is closed to make room, or new ones wait while all are busy (0: no limit)",
				EnvVars: []string{"LEDGER_MAX_CONNS"},
			},
			&cli.Float64Flag{
				Name:    "signer-rate",
				Value:   server.DefaultSignerRate,
				Usage:   "entries per second each registered agent may write; beyond, POST /v1/entries answers 429 with Retry-After (0: no limit; the authority is never limited)",
				EnvVars: []string{"LEDGER_SIGNER_RATE"},
			},
			&cli.IntFlag{
				Name:    "signer-burst",
				Value:   server.DefaultSignerBurst,
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
			cfg := server.Config{
				Dir:                c.String("data"),
				Listen:             c.String("listen"),
				AddrFile:           c.String("addr-file"),
				CheckpointInterval: c.Duration("checkpoint-interval"),
				ShutdownTimeout:    c.Duration("shutdown-timeout"),
				Limits: server.Limits{MaxConns: c.Int("max-conns"),
					SignerRate: c.Float64("signer-rate"), SignerBurst: c.Int("signer-burst")},
				Logger: logger,
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serveHint(server.Run(ctx, cfg), cfg.Dir)
		},
	}
}

// serveHint attaches to an error of server.Run, serving the data directory
// dir, the hint a person can act on.
func serveHint(err error, dir string) error {
	switch {
	case errors.Is(err, server.ErrNotDataDir):
		return withHint(err, "is --data a directory created by 'ledgerctl init'?")
	case errors.Is(err, server.ErrLogKeyExposed):
		return withHint(err, fmt.Sprintf("run: chmod 600 %s", filepath.Join(dir, server.FileLogKey)))
	case errors.Is(err, server.ErrOpen):
		return withHint(err, fmt.Sprintf("is %s a log created by 'ledgerctl init', and not served by another process?", dir))
	case errors.Is(err, server.ErrListen):
		return withHint(err, "choose another --listen address, or port 0 for a free one")
	case errors.Is(err, ledger.ErrStorageFailed):
		return withHint(err, "fix the storage (free disk space, check the device), then start the ledger again")
	}
	return err
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
