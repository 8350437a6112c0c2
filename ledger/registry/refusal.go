package registry

import (
	"errors"
	"fmt"
)

// Classes of refusal. Every refusal of the write rules is a *Refusal whose
// Class is one of them; errors.Is finds the class through it.
var (
	// ErrForbidden: the verified signer may not write this entry (403).
	ErrForbidden = errors.New("signer may not write this entry")
	// ErrInvalid: the entry is well signed but its statement is invalid, or
	// names something the log does not hold (400).
	ErrInvalid = errors.New("invalid entry")
	// ErrConflict: the entry contradicts what the log holds, such as a
	// second registration of a name (409).
	ErrConflict = errors.New("entry conflicts with the log")
)

// Refusal is the write rules' reasoned refusal of an entry.
type Refusal struct {
	Class  error  // ErrForbidden, ErrInvalid or ErrConflict
	Code   string // machine-readable reason: one of wire's write-rule reasons, e.g. wire.ReasonNameTaken
	Detail string // for people; never holds secrets
}

// refuse returns a *Refusal of class, with code and a detail formatted
// from format and args.
func refuse(class error, code, format string, args ...any) *Refusal {
	return &Refusal{Class: class, Code: code, Detail: fmt.Sprintf(format, args...)}
}

func (r *Refusal) Error() string { return r.Class.Error() + ": " + r.Detail }

// Unwrap returns the refusal's class.
func (r *Refusal) Unwrap() error { return r.Class }
