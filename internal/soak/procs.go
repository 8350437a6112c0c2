package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc supervises one process of the soak's stack (the ledger or an
// agent): it starts it on a fixed loopback address, SIGKILLs it, restarts
// it on the same address, and records any exit it did not cause.
type proc struct {
	name    string
	binary  string
	args    []string
	addr    string // host:port, the same across restarts
	logDir  string
	started time.Duration // how long to wait for /healthz

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	killing    bool
	starts     int
	kills      int
	pauses     int
	logs       []string // one file per start
	unexpected []string // exits the supervisor did not cause
	peakRSS    uint64   // bytes, the highest sampled
}

// freeLoopbackAddrs returns n distinct loopback addresses whose ports are
// free now and lie below the kernel's ephemeral range, so that no
// outgoing connection of any process can take one while its server is
// down between a kill and its restart. All are held open until all are
// found, so no two are the same.
func freeLoopbackAddrs(n int, rng *rand.Rand) ([]string, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 2048 {
				low = v
			}
		}
	}
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	var addrs []string
	for tries := 0; len(addrs) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("no %d free loopback ports below %d", n, low)
		}
		port := 1024 + rng.IntN(low-1024)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		held = append(held, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// start runs the process and waits until it has bound its address (it
// writes the address to a file of this start's own) and its /healthz
// answers: another process answering on the address is never taken for
// it.
func (p *proc) start(ctx context.Context) error {
	p.mu.Lock()
	p.starts++
	logPath := filepath.Join(p.logDir, fmt.Sprintf("%s.%d.log", p.name, p.starts))
	addrFile := filepath.Join(p.logDir, fmt.Sprintf("%s.%d.addr", p.name, p.starts))
	p.logs = append(p.logs, logPath)
	p.mu.Unlock()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.binary, append(append([]string(nil), p.args...), "--addr-file", addrFile)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.killing = cmd, exited, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		if !p.killing {
			p.unexpected = append(p.unexpected, fmt.Sprintf("%s exited on its own (%v); log %s", p.name, err, logPath))
		}
		p.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(p.started)
	for {
		if _, err := os.Stat(addrFile); err == nil {
			resp, err := http.Get("http://" + p.addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting; see %s", p.name, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer on %s within %v; see %s", p.name, p.addr, p.started, logPath)
		}
	}
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return
	}
	p.killing = true
	p.kills++
	p.mu.Unlock()
	p.sampleRSS()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// pause stops the process (SIGSTOP) for d, then lets it go on (SIGCONT):
// a process that hangs rather than dies, so its callers' timeouts and
// its own clocks are put to the test.
func (p *proc) pause(d time.Duration) {
	p.mu.Lock()
	cmd := p.cmd
	p.pauses++
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGCONT)
}

// stop ends the process gracefully (SIGTERM), then by force.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.killing = true
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// sampleRSS records the process's resident set size if it is the highest
// seen. Only Linux reports it (from /proc); elsewhere it stays zero.
func (p *proc) sampleRSS() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				p.mu.Lock()
				p.peakRSS = max(p.peakRSS, kb<<10)
				p.mu.Unlock()
			}
		}
	}
}

// procFacts is what the supervisor saw of one process.
type procFacts struct {
	starts, kills, pauses int
	logs                  []string // one file per start
	unexpected            []string // exits the supervisor did not cause
	peakRSS               uint64
}

// facts returns what the supervisor saw, under its lock.
func (p *proc) facts() procFacts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return procFacts{starts: p.starts, kills: p.kills, pauses: p.pauses, logs: append([]string(nil), p.logs...),
		unexpected: append([]string(nil), p.unexpected...), peakRSS: p.peakRSS}
}
