// Command ledgerctl runs and checks an agentledger transparency log.
//
// It creates a log (init), serves it over HTTP (serve), manages Ed25519 keys
// (keys), signs and submits entries (append), registers agents (agent),
// issues and revokes contracts between them (contract), and verifies what a
// ledger says: its checkpoint (checkpoint), an entry's inclusion, online or
// offline from a C2SP tlog-proof file (verify-inclusion), the consistency of
// two checkpoints (verify-consistency), and exports tlog-proof files
// (export-proof). agent and contract verify the inclusion proof of every
// registration, contract and revocation they report.
//
// Exit codes: 0 success, 1 a check or an operation failed (the reason is on
// stderr as "ledgerctl: error: ..."), 2 a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run builds the app, runs it with args (args[0] is the program name) and
// returns the process exit code. It writes errors to stderr in the form
// "ledgerctl: error: ..." followed by any "ledgerctl: hint: ..." lines.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(context.Background(), args)
	if err == nil {
		return exitOK
	}
	return report(stderr, err)
}

// report prints err and its hints and returns the exit code it calls for.
func report(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "ledgerctl: error: %v\n", err)
	for _, h := range hintsOf(err) {
		fmt.Fprintf(stderr, "ledgerctl: hint: %s\n", h)
	}
	if isUsage(err) {
		return exitUsage
	}
	var coded *exitCodeError
	if errors.As(err, &coded) {
		return coded.code
	}
	return exitFailed
}

// exitCodeError is a failure with its own exit code (audit's 3 and 4).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// newApp returns the ledgerctl application. It keeps no state outside the
// returned value, so run can be called many times in one process.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	std := streams{in: stdin, out: stdout, err: stderr}
	app := &cli.App{
		Name:  "ledgerctl",
		Usage: "run and verify an agentledger transparency log",
		Description: "ledgerctl creates and serves an append-only Merkle-tree log of signed DSSE\n" +
			"entries, and verifies what a ledger says: checkpoints, inclusion and\n" +
			"consistency proofs, and offline C2SP tlog-proof files.\n" +
			"\n" +
			"Example, a log on this machine:\n" +
			"  $ ledgerctl init --data ./log --origin example.com/log\n" +
			"  $ ledgerctl serve --data ./log --listen 127.0.0.1:7420\n" +
			"\n" +
			"Every flag can also be set by the LEDGER_* environment variable shown\n" +
			"in each command's help. Exit codes: 0 ok, 1 check or operation failed,\n" +
			"2 usage error.",
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideVersion:     true,
		HideHelpCommand: true,
		// Errors are reported by run, never by the library, which would
		// otherwise call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf(c, "unknown command %q", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			initCommand(std),
			serveCommand(std),
			keysCommand(std),
			appendCommand(std),
			agentCommand(std),
			contractCommand(std),
			checkpointCommand(std),
			verifyInclusionCommand(std),
			verifyConsistencyCommand(std),
			auditCommand(std),
			mirrorCommand(std),
			exportProofCommand(std),
			callCommand(std),
			benchCommand(),
			soakCommand(std),
			demoCommand(),
			upCommand(std),
			orderCommand(std),
		},
	}
	app.OnUsageError = onUsageError
	setUsageHandlers(app.Commands)
	return app
}

// streams are the standard streams a command reads and writes.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// setUsageHandlers makes every command report flag parsing errors as usage
// errors (exit 2) instead of printing its whole help.
func setUsageHandlers(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		setUsageHandlers(c.Subcommands)
	}
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	return usageErrorf(c, "%w", err)
}

// groupAction is the action of a command that only groups others: it shows
// the help when called alone, and refuses an unknown subcommand.
func groupAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf(c, "unknown command %q", c.Args().First())
	}
	return cli.ShowSubcommandHelp(c)
}
