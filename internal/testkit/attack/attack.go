// Package attack holds the hostile HTTP clients that the servers of this
// project must withstand: slowloris connections that trickle their headers
// or body, oversized headers and bodies, and idle connections. The tests of
// the ledger and agent servers and `ledgerctl bench hostile` run them
// against real servers on loopback.
//
// The connection-level attacks speak raw HTTP/1.1 over TCP, so nothing in
// between (such as an http.Client's own limits) softens them; floods of
// well-formed requests go through an http.Client (Send).
package attack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// ErrReset is a connection the server reset (or closed while the attacker
// was still writing) before its answer could be read.
var ErrReset = errors.New("connection reset by the server")

// Held is the outcome of one slow connection.
type Held struct {
	// Closed is true when the server ended the connection (or answered
	// and then ended it) before the attacker gave up.
	Closed bool
	// Status is the server's answer, if it sent one (0 if not).
	Status int
	// For is how long the connection lasted.
	For time.Duration
}

// SlowHeaders opens a connection to addr (host:port), sends a request line
// and then one header byte every interval, never finishing the headers,
// until the server closes the connection or ctx ends.
func SlowHeaders(ctx context.Context, addr string, interval time.Duration) (Held, error) {
	return trickle(ctx, addr, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n", "X-Slow: ", "a", interval)
}

// SlowBody opens a connection to addr and sends complete headers of a POST
// to path that announce a 64000-byte body, then one body byte every
// interval, until the server closes the connection or ctx ends.
func SlowBody(ctx context.Context, addr, path string, interval time.Duration) (Held, error) {
	head := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 64000\r\n\r\n"
	return trickle(ctx, addr, head, "", "x", interval)
}

// trickle sends head, then start, then unit every interval, reading
// whatever the server answers, until the server closes the connection or
// ctx ends.
func trickle(ctx context.Context, addr, head, start, unit string, interval time.Duration) (Held, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Held{}, fmt.Errorf("slow client: %w", err)
	}
	defer c.Close()
	t0 := time.Now()
	answered := make(chan int, 1)
	go func() {
		status, _ := readStatus(c, true)
		answered <- status
	}()
	if _, err := io.WriteString(c, head+start); err != nil {
		return Held{Closed: true, Status: <-answered, For: time.Since(t0)}, nil
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case status := <-answered:
			return Held{Closed: true, Status: status, For: time.Since(t0)}, nil
		case <-ctx.Done():
			c.Close()
			return Held{Status: <-answered, For: time.Since(t0)}, nil
		case <-tick.C:
			// A write error means the server is gone; the reader says so.
			_, _ = io.WriteString(c, unit)
		}
	}
}

// readStatus returns the status code of the first response on c, or 0 if
// there was none. With untilClosed it returns only once the connection
// has ended.
func readStatus(c net.Conn, untilClosed bool) (int, error) {
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	status := 0
	if err == nil {
		status = resp.StatusCode
		resp.Body.Close()
	}
	if untilClosed {
		_, _ = io.Copy(io.Discard, br)
	}
	return status, err
}

// Idle opens n connections to addr and sends nothing on them. It returns
// them open; closing them is the caller's. On error it closes those it
// opened.
func Idle(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	var d net.Dialer
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			CloseAll(conns)
			return nil, fmt.Errorf("idle connection %d: %w", len(conns), err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// CloseAll closes every connection of conns.
func CloseAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// BigHeaders sends a GET to path whose headers total about size bytes and
// returns the server's status (431 is the expected refusal).
func BigHeaders(ctx context.Context, addr, path string, size int) (int, error) {
	head := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\nX-Big: "
	return rawRequest(ctx, addr, head, size, "\r\n\r\n")
}

// BigBody POSTs a body of size bytes to path and returns the server's
// status (413 is the expected refusal). With announce false the body is
// sent chunked, so the server cannot refuse it by Content-Length alone.
func BigBody(ctx context.Context, addr, path string, size int, announce bool) (int, error) {
	head := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\nContent-Type: application/json\r\n"
	if announce {
		return rawRequest(ctx, addr, head+fmt.Sprintf("Content-Length: %d\r\n\r\n", size), size, "")
	}
	return rawRequest(ctx, addr, head+"Transfer-Encoding: chunked\r\n\r\n"+fmt.Sprintf("%x\r\n", size), size, "\r\n0\r\n\r\n")
}

// rawRequest writes head, then fill bytes of filler, then tail on a fresh
// connection and returns the status of the answer. The server may answer
// and close before it has read all of it; that is not an error.
func rawRequest(ctx context.Context, addr, head string, fill int, tail string) (int, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	type answer struct {
		status int
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		status, err := readStatus(c, false)
		answered <- answer{status, err}
	}()
	werr := writeRequest(c, head, fill, tail)
	if cw, ok := c.(interface{ CloseWrite() error }); ok && werr == nil {
		_ = cw.CloseWrite()
	}
	a := <-answered
	if a.status == 0 {
		// A server that stops reading and closes may reset the
		// connection, losing its answer: ErrReset.
		if errors.Is(a.err, syscall.ECONNRESET) || errors.Is(werr, syscall.ECONNRESET) || errors.Is(werr, syscall.EPIPE) {
			return 0, fmt.Errorf("oversized request: %w", ErrReset)
		}
		return 0, fmt.Errorf("oversized request: no answer: %w", errors.Join(a.err, werr))
	}
	return a.status, nil
}

// writeRequest writes head, fill bytes of 'a', and tail to w.
func writeRequest(w io.Writer, head string, fill int, tail string) error {
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte("a"), min(fill, 16<<10))
	for fill > 0 {
		n, err := w.Write(chunk[:min(fill, len(chunk))])
		if err != nil {
			return err
		}
		fill -= n
	}
	_, err := io.WriteString(w, tail)
	return err
}
