package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
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

// A hintedError carries advice a person can act on, printed after the
// error as "ledgerctl: hint: ..." lines.
type hintedError struct {
	err   error
	hints []string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

// withHint attaches hints to err. A nil err stays nil.
func withHint(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &hintedError{err: err, hints: hints}
}

// hintsOf collects the hints of every error in err's chain, outermost
// first.
func hintsOf(err error) []string {
	var out []string
	for err != nil {
		switch e := err.(type) {
		case *hintedError:
			out = append(out, e.hints...)
		case *cmdUsageError:
			out = append(out, e.hints()...)
		case usageError:
			out = append(out, `run "ledgerctl --help" for usage`)
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				out = append(out, hintsOf(inner)...)
			}
			return out
		}
		err = errors.Unwrap(err)
	}
	return out
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
