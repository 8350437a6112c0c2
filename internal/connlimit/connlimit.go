// Package connlimit bounds the connections an HTTP server keeps open, in
// a way that a flood of idle connections cannot turn into a denial of
// service.
//
// A plain limit (golang.org/x/net/netutil.LimitListener) stops accepting
// at the limit: an attacker who holds the limit with idle connections then
// makes every new honest connection wait until the server times the idle
// ones out. A Listener instead accepts the new connection and, when that
// puts it over the limit, closes the connection that has gone longest
// without a request in progress: one that has not sent a byte yet, or one
// idle between keep-alive requests. Only when every connection has a
// request in progress does it wait, as a plain limit does. A connection
// that is sending a request counts as busy; the server's read timeouts
// bound how long it can stay so.
//
// The server must report connection states to the Listener: set
// http.Server.ConnState to Listener.ConnState.
package connlimit

import (
	"container/list"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener that keeps at most max connections open.
type Listener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open int
	// idle holds the open connections with no request in progress,
	// oldest first.
	idle  *list.List
	freed chan struct{} // a slot was released
	done  chan struct{} // the listener is closed
	once  sync.Once

	evicted atomic.Uint64
}

// New returns a Listener over ln that keeps at most max (> 0) connections
// open.
func New(ln net.Listener, max int) *Listener {
	if max <= 0 {
		panic("connlimit: max must be positive")
	}
	return &Listener{Listener: ln, max: max, idle: list.New(), freed: make(chan struct{}, 1), done: make(chan struct{})}
}

// Evicted is how many idle connections were closed to make room.
func (l *Listener) Evicted() uint64 { return l.evicted.Load() }

// Accept accepts a connection; if that puts the listener over its limit,
// it closes the oldest idle connection, or waits until some connection
// closes when none is idle.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			w := &conn{Conn: c, l: l}
			w.elem = l.idle.PushBack(w) // idle until it sends a request
			l.mu.Unlock()
			return w, nil
		}
		var victim *conn
		if e := l.idle.Front(); e != nil {
			victim = l.idle.Remove(e).(*conn)
			victim.elem = nil
		}
		l.mu.Unlock()
		if victim != nil {
			l.evicted.Add(1)
			victim.Close()
			continue
		}
		select {
		case <-l.freed:
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

// Close closes the listener; an Accept waiting for a slot returns.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// ConnState tracks which connections have a request in progress. Set it
// as the http.Server's ConnState.
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	w, ok := c.(*conn)
	if !ok || w.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateActive:
		if w.elem != nil {
			l.idle.Remove(w.elem)
			w.elem = nil
		}
	case http.StateIdle:
		if w.elem == nil && !w.closed {
			w.elem = l.idle.PushBack(w)
		}
	}
}

// conn is an accepted connection; closing it frees its slot once.
type conn struct {
	net.Conn
	l      *Listener
	elem   *list.Element // in l.idle, or nil; guarded by l.mu
	closed bool          // guarded by l.mu
}

func (c *conn) Close() error {
	l := c.l
	l.mu.Lock()
	first := !c.closed
	if first {
		c.closed = true
		l.open--
		if c.elem != nil {
			l.idle.Remove(c.elem)
			c.elem = nil
		}
	}
	l.mu.Unlock()
	if first {
		select {
		case l.freed <- struct{}{}:
		default:
		}
	}
	return c.Conn.Close()
}
