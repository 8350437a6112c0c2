package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

// TestClientGoneIsNotAnInternalError: an append whose request ended (the
// client went away or gave up) before its commit answered is refused as
// 503 canceled, not as a 500 internal error, in the log line and the
// refusal metric alike.
func TestClientGoneIsNotAnInternalError(t *testing.T) {
	for _, err := range []error{context.Canceled, context.DeadlineExceeded} {
		status, code := classify(fmt.Errorf("append: %w", err))
		if status != http.StatusServiceUnavailable || code != "canceled" {
			t.Errorf("%v: %d %s", err, status, code)
		}
	}
	if status, code := classify(fmt.Errorf("something else")); status != http.StatusInternalServerError || code != "internal" {
		t.Errorf("an unknown error: %d %s", status, code)
	}
}
