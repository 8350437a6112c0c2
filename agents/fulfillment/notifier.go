package fulfillment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessageChars bounds a customer message, in characters.
const MaxMessageChars = 1000

// MessageInput is everything a Notifier is given: the minimum a shipping
// message needs. It has no field for the last name, the address or any
// payment data, so a Notifier (an LLM endpoint, say) cannot be handed
// them; a test holds this type to exactly these fields.
type MessageInput struct {
	FirstName      string
	Items          []Item
	Carrier        string
	TrackingNumber string
	// Note is the order's note: untrusted text from the customer, to be
	// treated as data, never as instructions.
	Note string
}

// Notifier writes the text of a customer's shipping message. The text is
// untrusted: the Service only cleans, bounds and stores it.
type Notifier interface {
	Message(ctx context.Context, in MessageInput) (text string, err error)
}

// Composed is a message text and who wrote it.
type Composed struct {
	Text   string
	Source Source
	// Cause is why the primary notifier was not used (template_fallback).
	Cause error
}

// Template is the default Notifier: a fixed text, no network. It never
// quotes the note, so nothing the customer wrote reaches the message.
type Template struct{}

// Message returns the template text for in.
func (Template) Message(_ context.Context, in MessageInput) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Hi %s, your order is on its way", in.FirstName)
	if n := len(in.Items); n > 0 {
		var qty int64
		for _, it := range in.Items {
			qty += it.Qty
		}
		fmt.Fprintf(&b, " (%d item%s)", qty, plural(qty))
	}
	fmt.Fprintf(&b, ". Carrier: %s, tracking number: %s. Thank you for your order!", in.Carrier, in.TrackingNumber)
	return Clean(b.String()), nil
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Compose is Message with its source.
func (t Template) Compose(ctx context.Context, in MessageInput) (Composed, error) {
	text, err := t.Message(ctx, in)
	return Composed{Text: text, Source: SourceTemplate}, err
}

// Errors of a primary notifier's output.
var (
	ErrEmptyOutput    = errors.New("notifier: empty output")
	ErrOversizeOutput = errors.New("notifier: output over the length limit")
)

// FallbackNotifier uses its primary, and its fallback when the primary
// fails: an error, a timeout, or output that is empty or too long once
// cleaned.
type FallbackNotifier struct {
	primary, fallback Notifier
}

// Fallback returns a notifier that tries primary (an LLM) and falls back
// to fallback (nil: Template).
func Fallback(primary, fallback Notifier) *FallbackNotifier {
	if fallback == nil {
		fallback = Template{}
	}
	return &FallbackNotifier{primary: primary, fallback: fallback}
}

// Message returns the text Compose returns.
func (f *FallbackNotifier) Message(ctx context.Context, in MessageInput) (string, error) {
	c, err := f.Compose(ctx, in)
	return c.Text, err
}

// Compose returns the primary's text (source "llm") when it is usable,
// else the fallback's (source "template_fallback", with the cause). An
// error means the fallback failed too.
func (f *FallbackNotifier) Compose(ctx context.Context, in MessageInput) (Composed, error) {
	if f.primary != nil {
		text, err := f.primary.Message(ctx, in)
		if err == nil {
			text, err = checkOutput(text)
		}
		if err == nil {
			return Composed{Text: text, Source: SourceLLM}, nil
		}
		text, ferr := f.fallback.Message(context.WithoutCancel(ctx), in)
		if ferr != nil {
			return Composed{}, errors.Join(err, ferr)
		}
		text, ferr = checkOutput(text)
		if ferr != nil {
			return Composed{}, errors.Join(err, ferr)
		}
		return Composed{Text: text, Source: SourceTemplateFallback, Cause: err}, nil
	}
	text, err := f.fallback.Message(ctx, in)
	if err == nil {
		text, err = checkOutput(text)
	}
	return Composed{Text: text, Source: SourceTemplate}, err
}

// checkOutput cleans a notifier's text and refuses it empty or over
// MaxMessageChars.
func checkOutput(text string) (string, error) {
	if len(text) > 16*MaxMessageChars {
		return "", ErrOversizeOutput // not worth cleaning
	}
	text = Clean(text)
	switch {
	case text == "":
		return "", ErrEmptyOutput
	case utf8.RuneCountInString(text) > MaxMessageChars:
		return "", ErrOversizeOutput
	}
	return text, nil
}

// Clean makes untrusted text plain: invalid UTF-8, control characters
// (but newlines) and format characters (bidi overrides, zero-width
// characters) are dropped, tabs become spaces, and the ends are trimmed.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
