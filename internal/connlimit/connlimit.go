// Package connlimit bounds the connections an HTTP server keeps open, in
// a way that a flood of idle connections cannot turn into a denial of
// service.
//
// A plain limit (golang.org/x/net/netutil.LimitListener) stops accepting
// at the limit: an attacker who holds the limit with idle connections then
// makes every new honest connection wait until the server times the idle
// ones out. A Listener instead accepts the new connection and, when that
// puts it over the limit, closes a connection without a request in
// progress: the oldest of those that have not sent a byte yet (what an
// idle flood is made of), and only when there are none, the oldest of
// those idle between keep-alive requests (a client that has been served,
// and can reconnect).
//
// A new connection has Grace to start its request before it may be closed
// so: an honest client starts at once, while an attacker that reconnects
// whenever it is cut can cycle through the limit at most once per Grace.
// When no connection may be closed yet, Accept waits, as a plain limit
// does. A connection that is sending a request counts as busy; the
// server's read timeouts bound how long it can stay so.
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
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Grace is how long a new connection may stay silent before it may be
// closed to make room for another.
const Grace = 250 * time.Millisecond

// Listener is a net.Listener that keeps at most max connections open.
type Listener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open int
	// fresh holds the open connections that have sent nothing yet, and
	// idle those between keep-alive requests; each oldest first.
	fresh *list.List
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
	return &Listener{Listener: ln, max: max, fresh: list.New(), idle: list.New(), freed: make(chan struct{}, 1), done: make(chan struct{})}
}

// Evicted is how many idle connections were closed to make room.
func (l *Listener) Evicted() uint64 { return l.evicted.Load() }

// Metric is a counter of Evicted, named
// <namespace>_connections_closed_for_room_total.
func (l *Listener) Metric(namespace string) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "connections_closed_for_room_total",
		Help:      "Connections without a request in progress closed to make room at the connection limit.",
	}, func() float64 { return float64(l.Evicted()) })
}

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
			w := &conn{Conn: c, l: l, accepted: time.Now()}
			w.list, w.elem = l.fresh, l.fresh.PushBack(w)
			l.mu.Unlock()
			return w, nil
		}
		victim, wait := l.victim(time.Now())
		l.mu.Unlock()
		if victim != nil {
			l.evicted.Add(1)
			victim.Close()
			continue
		}
		timer := time.NewTimer(wait)
		select {
		case <-l.freed:
		case <-timer.C:
		case <-l.done:
			timer.Stop()
			c.Close()
			return nil, net.ErrClosed
		}
		timer.Stop()
	}
}

// victim takes out of its list and returns the connection to close to
// make room: the oldest silent one once past its Grace; with no silent
// one at all, the oldest idle keep-alive one. Otherwise it returns how
// long to wait before a silent one comes of age (or a long wait, if there
// is none). l.mu must be held.
func (l *Listener) victim(now time.Time) (*conn, time.Duration) {
	if e := l.fresh.Front(); e != nil {
		c := e.Value.(*conn)
		age := now.Sub(c.accepted)
		if age < Grace {
			return nil, Grace - age
		}
		c.unlist()
		return c, 0
	}
	if e := l.idle.Front(); e != nil {
		c := e.Value.(*conn)
		c.unlist()
		return c, 0
	}
	return nil, time.Hour
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
		w.unlist()
	case http.StateIdle:
		if w.elem == nil && !w.closed {
			w.list, w.elem = l.idle, l.idle.PushBack(w)
		}
	}
}

// conn is an accepted connection; closing it frees its slot once.
type conn struct {
	net.Conn
	l *Listener
	// list is l.fresh or l.idle when the connection is in it, at elem;
	// both nil when a request is in progress. Guarded by l.mu.
	list     *list.List
	elem     *list.Element
	closed   bool // guarded by l.mu
	accepted time.Time
}

// unlist takes c out of its list. l.mu must be held.
func (c *conn) unlist() {
	if c.elem != nil {
		c.list.Remove(c.elem)
		c.list, c.elem = nil, nil
	}
}

func (c *conn) Close() error {
	l := c.l
	l.mu.Lock()
	first := !c.closed
	if first {
		c.closed = true
		l.open--
		c.unlist()
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
