package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/server"
	"github.com/agentledger/agentledger/verify"
)

// DefaultOrigin is the checkpoint origin of the log of the demo and of
// 'ledgerctl up'.
const DefaultOrigin = "demo.agentledger.local/log"

// Config says how to run the whole stack in this process.
type Config struct {
	// Dir must not hold a log yet. The log is in Dir, each agent's store
	// in Dir/agents.
	Dir string
	// Origin is the log's checkpoint origin. Default DefaultOrigin.
	Origin string
	// Grants are the contracts the authority issues. Default Grants().
	Grants []Grant
	// TTL is how long the contracts are valid. Default one hour.
	TTL time.Duration
	// KeepKeys keeps each party's key in Dir/agents/NAME.pem.
	KeepKeys bool
	// Stock seeds the inventory agent. Default Stock().
	Stock map[string]int64
	// Limits are the ledger's; the zero value means server.DefaultLimits().
	Limits server.Limits
	// Logs, when set, is where the ledger and each agent write their
	// JSON logs, as NAME.log.
	Logs string
}

// A Stack is the ledger and the four agents of the seed's world, running
// in this process on loopback.
type Stack struct {
	Ledger *Ledger
	World  *World
	Agents *Agents
	logs   LogFiles
}

// Start creates the log, registers the parties, issues and proves the
// grants, and starts the four agents. Stop ends them all.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.Origin == "" {
		cfg.Origin = DefaultOrigin
	}
	if cfg.Grants == nil {
		cfg.Grants = Grants()
	}
	s := &Stack{logs: LogFiles{Dir: cfg.Logs}}
	fail := func(err error) (*Stack, error) { s.Stop(); return nil, err }
	log, err := s.logs.Logger("ledger")
	if err != nil {
		return fail(err)
	}
	if s.Ledger, err = StartLedger(ctx, LedgerConfig{Dir: cfg.Dir, Origin: cfg.Origin, Limits: cfg.Limits, Logger: log}); err != nil {
		return fail(err)
	}
	if s.World, err = s.Ledger.Seed(ctx, cfg.Grants, cfg.TTL, cfg.KeepKeys); err != nil {
		return fail(err)
	}
	s.Agents, err = StartAgents(ctx, s.World, AgentsConfig{Ledger: s.Ledger.Client.URL(),
		Policy: s.Ledger.Policy(), Dir: cfg.Dir, Stock: cfg.Stock,
		Logger: s.logs.Logger})
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// Seed registers Parties() at l and issues grants (see Seed), keeping
// the keys in l.Dir/agents if keep is set.
func (l *Ledger) Seed(ctx context.Context, grants []Grant, ttl time.Duration, keep bool) (*World, error) {
	keyDir := ""
	if keep {
		keyDir = filepath.Join(l.Dir, "agents")
	}
	return Seed(ctx, l.Client, l.LogKey, l.Authority, Parties(), grants, ttl, 10*time.Second, keyDir)
}

// Policy is what every relying party of l trusts: its log key and its
// authority.
func (l *Ledger) Policy() verify.TrustPolicy {
	return verify.TrustPolicy{LogKey: l.LogKey, Authority: l.Authority.DID}
}

// Stop ends the agents, then the ledger, and closes the logs.
func (s *Stack) Stop() {
	if s.Agents != nil {
		s.Agents.Stop()
	}
	if s.Ledger != nil {
		_ = s.Ledger.Stop()
	}
	s.logs.Close()
}

// LogFiles are the JSON logs of the processes of a stack, one file per
// process in Dir; with no Dir, nothing is logged.
type LogFiles struct {
	Dir   string
	files []io.Closer
}

// Logger opens Dir/NAME.log for appending (mode 0600) and returns a
// logger on it that names the process.
func (l *LogFiles) Logger(name string) (zerolog.Logger, error) {
	if l.Dir == "" {
		return zerolog.Nop(), nil
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return zerolog.Nop(), err
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return zerolog.Nop(), err
	}
	l.files = append(l.files, f)
	return zerolog.New(f).With().Timestamp().Str("process", name).Logger(), nil
}

// Close closes every log file opened.
func (l *LogFiles) Close() {
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
}

// WriteFiles writes what a person or a script needs to use the stack:
// each contract's tlog-proof as Dir/contracts/CALLER--CALLEE.tlog-proof,
// and each agent's address as Dir/agents/ROLE.addr (host:port), the
// addresses last. It returns the proof files by Grant.What.
func (s *Stack) WriteFiles() (map[string]string, error) {
	dir := s.Ledger.Dir
	proofDir := filepath.Join(dir, "contracts")
	if err := os.MkdirAll(proofDir, 0o755); err != nil {
		return nil, err
	}
	paths := map[string]string{}
	for what, c := range s.World.Contracts {
		path := filepath.Join(proofDir, c.Caller+"--"+c.Callee+ProofExt)
		if err := fileio.WriteAtomic(path, c.Proof, 0o644); err != nil {
			return nil, err
		}
		paths[what] = path
	}
	if err := os.MkdirAll(filepath.Join(dir, "agents"), 0o700); err != nil {
		return nil, err
	}
	for role, u := range s.Agents.URLs {
		addr := strings.TrimPrefix(u, "http://") + "\n"
		if err := fileio.WriteAtomic(filepath.Join(dir, "agents", role+".addr"), []byte(addr), 0o644); err != nil {
			return nil, fmt.Errorf("address of %s: %w", role, err)
		}
	}
	return paths, nil
}
