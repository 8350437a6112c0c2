package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/server"
)

const demoOrigin = "demo.agentledger.local/log"

// demoCommand is `ledgerctl demo`.
func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the system on this machine and check every expectation",
		Description: `Creates a log, serves it on loopback, and walks through the seed's story
and what the system promises. The authority registers the four agents and
the storefront and issues their scoped contracts; writes that break the
rules are refused with a reason; a contract's tlog-proof verifies offline.
Then the four agents run, each with its own key, store, view of the log
and guard: the storefront places orders that are reserved, charged,
labelled and notified, every step approved in the log before it happens;
a declined card is compensated and a blocked destination refused. The
payment agent refuses a replay, a charge over its limit, a refund and a
stolen contract; a revoked contract shows as revoked, with proof, and the
next charge under it is refused; and the log only grew (a consistency
proof between two checkpoints). It exits 0 only if every expectation held.

With no flags it uses a fresh temporary directory and removes it after.
With --data DIR the log is kept: 'ledgerctl serve --data DIR' serves it
afterwards, so any tlog-tiles client can check it. The ledger's and each
agent's JSON logs are kept in DIR/logs.

Example:
  ledgerctl demo
  ledgerctl demo --data ./demo-log --json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Usage: "keep the demo's log in `DIR` (must not hold a log)", EnvVars: []string{"LEDGER_DEMO_DATA"}},
			&cli.BoolFlag{Name: "json", Usage: "print a machine-readable report instead of the story", EnvVars: []string{"LEDGER_DEMO_JSON"}},
			&cli.IntFlag{Name: "orders", Value: 3, Usage: "how many orders the storefront places (1 to 1000)", EnvVars: []string{"LEDGER_DEMO_ORDERS"}},
		},
		Action: func(c *cli.Context) error {
			dir, keep := c.String("data"), true
			if dir == "" {
				tmp, err := os.MkdirTemp("", "agentledger-demo-")
				if err != nil {
					return err
				}
				dir, keep = filepath.Join(tmp, "log"), false
				defer os.RemoveAll(tmp)
			}
			if n := c.Int("orders"); n < 1 || n > 1000 {
				return usageErrorf(c, "--orders %d: want 1 to 1000", n)
			}
			d := &demo{out: c.App.Writer, json: c.Bool("json"), orders: c.Int("orders"), color: isTerminal(c.App.Writer),
				report: demoReport{DataDir: dir, Kept: keep}, logDir: filepath.Join(dir, "logs")}
			err := d.run(c.Context, dir)
			d.closeLogs()
			if d.json {
				if perr := printJSON(c.App.Writer, d.report); perr != nil && err == nil {
					err = perr
				}
			}
			if err != nil {
				return err
			}
			if !d.report.OK {
				return errors.New("some demo expectations did not hold")
			}
			return nil
		},
	}
}

// demoReport is the --json output.
type demoReport struct {
	OK      bool        `json:"ok"`
	Orders  int         `json:"orders_placed"`
	LogKey  string      `json:"log_key"`
	DataDir string      `json:"data_dir"`
	Kept    bool        `json:"kept"`
	Steps   []demoStep  `json:"steps"`
	Entries []demoEntry `json:"entries"`
}

type demoStep struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// demoEntry is one entry the demo wrote: what it is and where it sits.
type demoEntry struct {
	What  string `json:"what"`
	ID    string `json:"id,omitempty"` // did:key of an agent, or contract id
	Index uint64 `json:"index"`
}

type demo struct {
	orders int
	out    io.Writer
	json   bool
	color  bool
	report demoReport
	logDir string      // where the ledger and the agents log; "" for no logs
	logs   []io.Closer // the open log files
	// limits are the served ledger's limits; the zero value means the
	// flags' defaults.
	limits server.Limits
}

// serveLimits returns the ledger limits the demo serves with.
func (d *demo) serveLimits() server.Limits {
	if d.limits == (server.Limits{}) {
		return server.DefaultLimits()
	}
	return d.limits
}

// logger is the JSON log of one process of the demo, in logDir/NAME.log,
// or no log without a logDir.
func (d *demo) logger(name string) (zerolog.Logger, error) {
	if d.logDir == "" {
		return zerolog.Nop(), nil
	}
	if err := os.MkdirAll(d.logDir, 0o700); err != nil {
		return zerolog.Nop(), err
	}
	f, err := os.OpenFile(filepath.Join(d.logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return zerolog.Nop(), err
	}
	d.logs = append(d.logs, f)
	return zerolog.New(f).With().Timestamp().Str("process", name).Logger(), nil
}

// closeLogs closes every log file the demo opened.
func (d *demo) closeLogs() {
	for _, f := range d.logs {
		f.Close()
	}
	d.logs = nil
}

func (d *demo) say(format string, args ...any) {
	if !d.json {
		fmt.Fprintf(d.out, format+"\n", args...)
	}
}

// expect records one expectation and prints it.
func (d *demo) expect(name string, ok bool, detail string) {
	d.report.Steps = append(d.report.Steps, demoStep{Name: name, OK: ok, Detail: detail})
	mark, paint := "ok  ", "\x1b[32m"
	if !ok {
		mark, paint = "FAIL", "\x1b[31m"
	}
	if d.color {
		mark = paint + mark + "\x1b[0m"
	}
	d.say("  [%s] %s: %s", mark, name, detail)
}

func (d *demo) finish() error {
	d.report.OK = len(d.report.Steps) > 0
	for _, s := range d.report.Steps {
		d.report.OK = d.report.OK && s.OK
	}
	if d.report.OK {
		d.say("\nAll %d expectations held.", len(d.report.Steps))
	} else {
		d.say("\nSome expectations did not hold.")
	}
	if d.report.Kept {
		d.say("The log is kept in %s: serve it with 'ledgerctl serve --data %s'.", d.report.DataDir, d.report.DataDir)
	}
	return nil
}

// waitForFile waits for the server to write its address file, or to fail.
func waitForFile(ctx context.Context, path string, served <-chan error) (string, error) {
	deadline := time.After(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		select {
		case err := <-served:
			return "", fmt.Errorf("the demo ledger stopped: %w", err)
		case <-deadline:
			return "", errors.New("the demo ledger did not start within 20s")
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func refusedWith(err error, status int, code string) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == status && apiErr.Code == code
}

func describeAppend(res client.AppendResult, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("index %d", res.Index)
}

func describeRefusal(err error) string {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("%d %s", apiErr.Status, apiErr.Code)
	}
	if err == nil {
		return "accepted, but should have been refused"
	}
	return err.Error()
}

func describeCheck(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

// nilIfErr inverts an expected failure: nil when err is set.
func nilIfErr(err error) error {
	if err != nil {
		return nil
	}
	return errors.New("accepted, but should have been refused")
}
