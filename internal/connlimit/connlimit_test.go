package connlimit

import (
	"net"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serve runs an HTTP server on loopback behind a Listener of max, with
// read timeouts far longer than any test, so that only eviction can free a
// slot held by an idle connection. Its handler at /block waits for
// release.
func serve(t *testing.T, max int, release chan struct{}) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, max)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /block", func(w http.ResponseWriter, r *http.Request) { <-release })
	srv := &http.Server{Handler: mux, ConnState: l.ConnState, ReadHeaderTimeout: time.Hour, IdleTimeout: time.Hour}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { close(release); srv.Close() })
	return l, "http://" + ln.Addr().String()
}

func get(url string) error {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// TestIdleFloodDoesNotStarveNewConnections fills the limit with silent
// connections, then shows that new callers are served, one idle
// connection being closed for each.
func TestIdleFloodDoesNotStarveNewConnections(t *testing.T) {
	l, url := serve(t, 4, make(chan struct{}))
	var idle []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", url[len("http://"):])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	for i := range 3 {
		if err := get(url + "/ok"); err != nil {
			t.Fatalf("honest request %d with the limit full of idle connections: %v", i, err)
		}
	}
	if l.Evicted() == 0 {
		t.Fatal("no idle connection was closed to make room")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Metric("test"))
	families, err := reg.Gather()
	if err != nil || len(families) != 1 || families[0].GetName() != "test_connections_closed_for_room_total" ||
		families[0].GetMetric()[0].GetCounter().GetValue() != float64(l.Evicted()) {
		t.Fatalf("metric %v %v, want test_connections_closed_for_room_total = %d", families, err, l.Evicted())
	}
	// The oldest idle connection is the one closed first.
	_ = idle[0].SetReadDeadline(time.Now().Add(time.Minute))
	if n, err := idle[0].Read(make([]byte, 1)); err == nil {
		t.Fatalf("the oldest idle connection is still open (read %d bytes)", n)
	}
}

// TestBusyConnectionsAreNotEvicted holds the limit with requests in
// progress: a further caller waits for one to finish, and no busy
// connection is closed.
func TestBusyConnectionsAreNotEvicted(t *testing.T) {
	release := make(chan struct{})
	l, url := serve(t, 2, release)
	busy := make(chan error, 2)
	for range 2 {
		go func() { busy <- get(url + "/block") }()
	}
	// Wait until both are in their handler: a third connection is then
	// over the limit with nothing idle.
	for {
		l.mu.Lock()
		n, idle := l.open, l.idle.Len()+l.fresh.Len()
		l.mu.Unlock()
		if n == 2 && idle == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	third := make(chan error, 1)
	go func() { third <- get(url + "/ok") }()
	select {
	case err := <-third:
		t.Fatalf("a caller beyond a limit full of busy connections was served (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	release <- struct{}{}
	if err := <-busy; err != nil {
		t.Fatalf("busy request: %v", err)
	}
	if err := <-third; err != nil {
		t.Fatalf("once a busy request finished: %v", err)
	}
	release <- struct{}{}
	if err := <-busy; err != nil {
		t.Fatalf("busy request: %v", err)
	}
	if l.Evicted() != 0 {
		t.Fatalf("%d busy connections were closed", l.Evicted())
	}
}

// TestCloseEndsAWaitingAccept closes the listener while Accept waits for
// a slot.
func TestCloseEndsAWaitingAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, 1)
	go func() {
		for range 2 {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err == nil {
				defer c.Close()
			}
		}
		time.Sleep(100 * time.Millisecond)
		l.Close()
	}()
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	l.ConnState(first, http.StateActive) // busy: not evictable
	if _, err := l.Accept(); err == nil {
		t.Fatal("Accept over a full, busy limit returned a connection")
	}
	first.Close()
}

// TestFreshConnectionsGoFirst holds a served keep-alive connection and
// then fills the limit with silent ones: room for a new caller is made by
// closing a silent connection, not the one that was served.
func TestFreshConnectionsGoFirst(t *testing.T) {
	l, url := serve(t, 3, make(chan struct{}))
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	served := &http.Client{Transport: tr}
	resp, err := served.Get(url + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for range 2 {
		c, err := net.Dial("tcp", url[len("http://"):])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for i := range 5 {
		if err := get(url + "/ok"); err != nil {
			t.Fatalf("new caller %d: %v", i, err)
		}
	}
	// The served client's connection is still the one it holds.
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, url+"/ok", nil)
	resp, err = served.Do(req)
	if err != nil {
		t.Fatalf("served client: %v", err)
	}
	resp.Body.Close()
	if !reused || l.Evicted() == 0 {
		t.Fatalf("keep-alive connection reused %v, %d evicted: a silent connection should have gone instead", reused, l.Evicted())
	}
}
