package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/hint"
)

// A cmdUsageError is a mistake in how a command was called: an unknown flag
// or command, a missing or conflicting flag, a bad flag value. It exits 2,
// with a hint naming the command's help.
type cmdUsageError struct {
	err  error
	help string // the command to run for help, e.g. "ledgerctl append --help"
}

func (e *cmdUsageError) Error() string { return e.err.Error() }
func (e *cmdUsageError) Unwrap() error { return e.err }
func (e *cmdUsageError) hints() []string {
	return []string{fmt.Sprintf("run %q for usage and an example", e.help)}
}

// A usageError is a usage mistake described by its message alone, for
// commands that have no cli.Context at hand. It exits 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// isUsage reports whether err is a usage error of either kind.
func isUsage(err error) bool {
	var c *cmdUsageError
	var u usageError
	return errors.As(err, &c) || errors.As(err, &u)
}

// usageErrorf returns a usage error for the command of c.
func usageErrorf(c *cli.Context, format string, args ...any) error {
	name := "ledgerctl"
	if c != nil && c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return &cmdUsageError{err: fmt.Errorf(format, args...), help: name + " --help"}
}

// withHint attaches hints to err (hint.With). A nil err stays nil.
func withHint(err error, hints ...string) error { return hint.With(err, hints...) }

// hintsOf collects the hints of every error in err's chain, outermost
// first: those attached with hint.With, and those of usage errors.
func hintsOf(err error) []string {
	return hint.Of(err, func(err error) []string {
		switch e := err.(type) {
		case *cmdUsageError:
			return e.hints()
		case usageError:
			return []string{`run "ledgerctl --help" for usage`}
		}
		return nil
	})
}

// requireFlags returns a usage error naming the first of the flags that is
// not set, on the command line or by its environment variable.
func requireFlags(c *cli.Context, names ...string) error {
	for _, n := range names {
		if v, isString := c.Value(n).(string); !c.IsSet(n) || isString && v == "" {
			return usageErrorf(c, "missing required flag --%s", n)
		}
	}
	return nil
}

// conflicting returns a usage error if more than one of the flags is set.
func conflicting(c *cli.Context, names ...string) error {
	var set []string
	for _, n := range names {
		if c.IsSet(n) {
			set = append(set, "--"+n)
		}
	}
	if len(set) > 1 {
		return usageErrorf(c, "flags %s cannot be used together", joinAnd(set))
	}
	return nil
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " and " + s[len(s)-1]
}
