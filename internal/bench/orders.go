package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/verified"
)

// OrdersOptions sizes the order benchmark.
type OrdersOptions struct {
	Orders      int    // orders to place
	Concurrency int    // orders in flight
	CPUProfile  string // where to write a CPU profile of the run, if set
}

// OrdersResult is the outcome of the order benchmark.
type OrdersResult struct {
	Orders      int           `json:"orders"`
	Concurrency int           `json:"concurrency"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	PerSecond   float64       `json:"orders_per_second"`
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	Entries     uint64        `json:"ledger_entries_written"`
	Cores       int           `json:"cores"`
}

// WriteText prints r for a person.
func (r OrdersResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "orders: %d orders, %d in flight, %d cores (%s/%s)\n", r.Orders, r.Concurrency, r.Cores, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "  throughput   %8.0f orders/s\n", r.PerSecond)
	fmt.Fprintf(w, "  latency      p50 %v  p99 %v\n", r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
	fmt.Fprintf(w, "  ledger       %d entries written (%.1f per order)\n", r.Entries, float64(r.Entries)/float64(r.Orders))
}

// startStack brings up the seed's stack in process, in a temporary
// directory, with stock that never runs out. stop shuts it down and
// removes the directory.
func startStack(ctx context.Context, name string) (s *stack.Stack, stop func(), err error) {
	tmp, err := os.MkdirTemp("", "ledger-bench-"+name+"-")
	if err != nil {
		return nil, nil, err
	}
	s, err = stack.Start(ctx, stack.Config{Dir: filepath.Join(tmp, "log"), Origin: "bench.agentledger.local/log",
		Stock: map[string]int64{"tea-earl-grey": 1 << 40, "mug-blue": 1 << 40}})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	return s, func() { s.Stop(); os.RemoveAll(tmp) }, nil
}

// Orders brings up the stack and has storefront clients place o.Orders
// orders, o.Concurrency in flight. Every order must complete; the first
// that does not ends the run with its error.
func Orders(ctx context.Context, o OrdersOptions) (OrdersResult, error) {
	if o.Orders < 1 || o.Concurrency < 1 {
		return OrdersResult{}, fmt.Errorf("orders and concurrency must be positive")
	}
	s, stop, err := startStack(ctx, "orders")
	if err != nil {
		return OrdersResult{}, err
	}
	defer stop()
	before := ledgerSize(ctx, s.Ledger)

	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return OrdersResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return OrdersResult{}, err
		}
		defer pprof.StopCPUProfile()
	}
	n := o.Orders
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range o.Concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr.Load() != nil {
					return
				}
				body := stack.OrderBody(fmt.Sprintf("bench-%06d", i), "GB", "4242424242424242", "tea-earl-grey", "mug-blue")
				t0 := time.Now()
				got, err := s.Agents.PlaceOrder(ctx, body)
				if err == nil && (got.Status != http.StatusCreated || got.Body["status"] != "completed") {
					err = fmt.Errorf("order %d: %d %v %v", i, got.Status, got.Body["status"], got.Body["reason"])
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return OrdersResult{}, *e
	}
	slices.Sort(lat)
	return OrdersResult{Orders: n, Concurrency: o.Concurrency, Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds(),
		P50: lat[n/2], P99: lat[n*99/100], Entries: ledgerSize(ctx, s.Ledger) - before, Cores: runtime.GOMAXPROCS(0)}, nil
}

// ledgerSize is the ledger's size per its latest checkpoint.
func ledgerSize(ctx context.Context, l *stack.Ledger) uint64 {
	time.Sleep(100 * time.Millisecond) // let the checkpoint catch up with the last appends
	cp, err := verified.Checkpoint(ctx, l.Client, l.LogKey)
	if err != nil {
		return 0
	}
	return cp.Size
}
