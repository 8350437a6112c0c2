package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/server"
)

// LedgerConfig says where and how to run a ledger in this process.
type LedgerConfig struct {
	// Dir must not hold a log yet: StartLedger creates one there.
	Dir string
	// Origin is the log's checkpoint origin.
	Origin string
	// Limits are the served ledger's limits. The zero value means
	// server.DefaultLimits(), the limits of 'ledgerctl serve'.
	Limits server.Limits
	// Logger is the ledger's log. The zero value logs nothing.
	Logger zerolog.Logger
}

// AddrFile is the file in the log's directory where a Ledger writes its
// host:port once it serves, for scripts to find it.
const AddrFile = "demo.addr"

// A Ledger is a new log served in this process on a free loopback port,
// with a checkpoint every 50ms.
type Ledger struct {
	Client    *client.Client
	LogKey    note.Verifier
	VKey      string            // the log's verifier key, in note format
	Authority identity.Identity // the authority key made with the log
	Dir       string
	stop      func() error
}

// StartLedger creates a log in cfg.Dir (errors of server.Init and
// server.Run are returned wrapped, so errors.Is finds their classes) and
// serves it until ctx ends or Stop is called.
func StartLedger(ctx context.Context, cfg LedgerConfig) (*Ledger, error) {
	vkey, _, err := server.Init(cfg.Dir, cfg.Origin)
	if err != nil {
		return nil, err
	}
	l := &Ledger{VKey: vkey, Dir: cfg.Dir}
	if l.LogKey, err = note.NewVerifier(vkey); err != nil {
		return nil, err
	}
	authKey, err := keyfile.Read(filepath.Join(cfg.Dir, server.FileAuthorityKey))
	if err != nil {
		return nil, err
	}
	l.Authority = identity.FromKey("authority", authKey)
	if cfg.Limits == (server.Limits{}) {
		cfg.Limits = server.DefaultLimits()
	}
	addrFile := filepath.Join(cfg.Dir, AddrFile)
	runCtx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- server.Run(runCtx, server.Config{Dir: cfg.Dir, Listen: "127.0.0.1:0", AddrFile: addrFile,
			CheckpointInterval: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Limits: cfg.Limits, Logger: cfg.Logger})
	}()
	var result error
	stopped := false
	l.stop = func() error {
		if !stopped {
			cancel()
			result, stopped = <-served, true
		}
		return result
	}
	addr, err := waitForFile(ctx, addrFile, served)
	if err != nil {
		cancel()
		return nil, err
	}
	if l.Client, err = client.New("http://"+addr, nil); err != nil {
		l.Stop()
		return nil, err
	}
	return l, nil
}

// Stop ends the ledger and returns why it stopped, nil after a clean
// shutdown. It may be called more than once.
func (l *Ledger) Stop() error { return l.stop() }

// waitForFile waits for the server to write its address file, or to fail.
func waitForFile(ctx context.Context, path string, served <-chan error) (string, error) {
	deadline := time.After(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		select {
		case err := <-served:
			return "", fmt.Errorf("the ledger stopped: %w", err)
		case <-deadline:
			return "", errors.New("the ledger did not start within 20s")
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
