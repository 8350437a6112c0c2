// Package hint attaches advice a person can act on to an error, so that
// code below the command line can say what to check, and ledgerctl prints
// it after the error as "ledgerctl: hint: ..." lines. A hint never changes
// what an error is: errors.Is and errors.As see through it.
package hint

import "errors"

// An Error is an error with hints.
type Error struct {
	Err   error
	Hints []string
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the error the hints are about.
func (e *Error) Unwrap() error { return e.Err }

// With attaches hints to err. A nil err stays nil.
func With(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Hints: hints}
}

// Of collects the hints of every error in err's chain, outermost first,
// including those joined with errors.Join. more, if not nil, is asked for
// the hints of any other error in the chain.
func Of(err error, more func(error) []string) []string {
	var out []string
	for err != nil {
		if e, ok := err.(*Error); ok {
			out = append(out, e.Hints...)
		} else if more != nil {
			out = append(out, more(err)...)
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				out = append(out, Of(inner, more)...)
			}
			return out
		}
		err = errors.Unwrap(err)
	}
	return out
}
