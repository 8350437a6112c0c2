package attack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Tally counts the outcomes of an attack by label: an HTTP status such as
// "429", "cut" for a connection the server ended, "held" for one still open
// when the attack stopped, or "error". It is safe for concurrent use.
type Tally struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts one outcome.
func (t *Tally) Add(label string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[label]++
}

// Status counts an HTTP answer, or err. An error of the attack's own
// ending (a canceled context, a passed deadline) is not counted.
func (t *Tally) Status(status int, err error) {
	switch {
	case stopped(err):
		return
	case errors.Is(err, ErrReset):
		t.Add("reset")
		return
	case err != nil:
		t.Add("error")
		return
	}
	t.Add(fmt.Sprint(status))
}

// Held counts a slow connection's end.
func (t *Tally) Held(h Held, err error) {
	switch {
	case stopped(err):
	case err != nil:
		t.Add("error")
	case !h.Closed:
		t.Add("held")
	case h.Status != 0:
		t.Add(fmt.Sprintf("cut after %d", h.Status))
	default:
		t.Add("cut")
	}
}

// Counts returns a copy of the counts.
func (t *Tally) Counts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.m)
}

// Loop runs f in workers goroutines, each calling it again and again, until
// ctx ends, and waits for them.
func Loop(ctx context.Context, workers int, f func(ctx context.Context)) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				f(ctx)
			}
		})
	}
	wg.Wait()
}

// HoldIdle keeps one idle connection to addr open until ctx ends: it sends
// nothing, and when the server ends the connection it counts "cut" and
// opens another. A connection still open at the end counts "held". A
// connection the server has not accepted yet still counts as open: it
// waits in the kernel's queue.
func HoldIdle(ctx context.Context, addr string, t *Tally) {
	var d net.Dialer
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if !stopped(err) {
				t.Add("error")
				// Out of ports or descriptors: back off rather than spin.
				sleep(ctx, 50*time.Millisecond)
			}
			return
		}
		closed := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, c)
			close(closed)
		}()
		select {
		case <-closed:
			t.Add("cut")
		case <-ctx.Done():
			t.Add("held")
		}
		c.Close()
	}
}

// Send sends req with hc and counts its status in t, reading and
// discarding the answer.
func Send(hc *http.Client, req *http.Request, t *Tally) {
	resp, err := hc.Do(req)
	if err != nil {
		t.Status(0, err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.Status(resp.StatusCode, nil)
}

// stopped reports whether err comes from the attack being stopped.
func stopped(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
