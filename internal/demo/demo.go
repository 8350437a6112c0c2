// Package demo walks through the seed's story on one machine and checks
// every promise the system makes along the way: a log served on
// loopback, the parties registered and their contracts issued, writes
// the ledger refuses, an offline proof, the four agents placing orders
// behind their guards, attacks on the payment agent refused with their
// reasons, a revocation that takes effect, and a log that only grew.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/client"
)

// Config says where the demo runs and how it reports.
type Config struct {
	// Dir must not hold a log yet; the demo creates its log there, and
	// the ledger's and each agent's JSON logs in Dir/logs.
	Dir string
	// Kept says Dir outlives the demo: the parties' keys are then kept
	// in Dir/agents, and the story ends with how to serve the log.
	Kept bool
	// Orders is how many orders the storefront places.
	Orders int
	// Out receives the story; nil prints nothing.
	Out io.Writer
	// Color paints each expectation's mark.
	Color bool
}

// A Report is what the demo did and whether each expectation held.
type Report struct {
	OK      bool            `json:"ok"`
	Orders  int             `json:"orders_placed"`
	LogKey  string          `json:"log_key"`
	DataDir string          `json:"data_dir"`
	Kept    bool            `json:"kept"`
	Steps   []Step          `json:"steps"`
	Entries []stack.Written `json:"entries"`
}

// A Step is one expectation.
type Step struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Run runs the demo. The report holds every expectation checked before
// any error; Report.OK says whether all held. An error means the demo
// could not go on (a failed setup, an unreachable server), not that an
// expectation failed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	s := &story{cfg: cfg, report: Report{DataDir: cfg.Dir, Kept: cfg.Kept}, logs: stack.LogFiles{Dir: filepath.Join(cfg.Dir, "logs")}}
	defer s.logs.Close()
	err := s.run(ctx)
	return &s.report, err
}

// story is one run of the demo.
type story struct {
	cfg    Config
	report Report
	logs   stack.LogFiles
}

func (s *story) say(format string, args ...any) {
	fmt.Fprintf(s.cfg.Out, format+"\n", args...)
}

// expect records one expectation and prints it.
func (s *story) expect(name string, ok bool, detail string) {
	s.report.Steps = append(s.report.Steps, Step{Name: name, OK: ok, Detail: detail})
	mark, paint := "ok  ", "\x1b[32m"
	if !ok {
		mark, paint = "FAIL", "\x1b[31m"
	}
	if s.cfg.Color {
		mark = paint + mark + "\x1b[0m"
	}
	s.say("  [%s] %s: %s", mark, name, detail)
}

func (s *story) finish() {
	s.report.OK = len(s.report.Steps) > 0
	for _, st := range s.report.Steps {
		s.report.OK = s.report.OK && st.OK
	}
	if s.report.OK {
		s.say("\nAll %d expectations held.", len(s.report.Steps))
	} else {
		s.say("\nSome expectations did not hold.")
	}
	if s.report.Kept {
		s.say("The log is kept in %s: serve it with 'ledgerctl serve --data %s'.", s.report.DataDir, s.report.DataDir)
	}
}

// entry returns the entry the demo wrote as what.
func (s *story) entry(what string) stack.Written {
	for _, e := range s.report.Entries {
		if e.What == what {
			return e
		}
	}
	return stack.Written{}
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
