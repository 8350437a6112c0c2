package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/payment"
	"github.com/agentledger/agentledger/internal/stack"
)

// placedOrder is one order the soak placed and what became of it.
type placedOrder struct {
	ID       string
	Declined bool          // placed with a card the processor declines
	Attempts int           // calls until it settled
	Settle   time.Duration // from the first call to a final answer
	View     *order.View   // the final answer; nil if it never settled
	LastErr  string        // the last failure, when it never settled
}

// placeOrders has conc storefront clients place orders until placing is
// done, each retrying its order (same id, same body) until the order
// agent gives a final state or settle runs out. Every 20th order uses a
// card the processor declines, so compensation runs too.
func (s *processes) placeOrders(ctx, placing context.Context, conc int, settle time.Duration, placed *atomic.Int64) []*placedOrder {
	var mu sync.Mutex
	var all []*placedOrder
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for placing.Err() == nil {
				i := next.Add(1)
				o := &placedOrder{ID: fmt.Sprintf("soak-%07d", i), Declined: i%20 == 0}
				card := "4242424242424242"
				if o.Declined {
					card = payment.CardDeclined
				}
				s.settleOrder(ctx, o, stack.OrderBody(o.ID, "GB", card, "tea-earl-grey", "mug-blue"), settle)
				placed.Add(1)
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return all
}

// settleOrder calls until the order has a final state, settle has passed,
// or ctx ends (an interrupt). A transport error, a guard's refusal (no
// order state in the answer) or "processing" all mean: call again with
// the same order, which resumes it. An order being settled when placing
// ends is still settled: placing only stops new orders.
func (s *processes) settleOrder(parent context.Context, o *placedOrder, body []byte, settle time.Duration) {
	start := time.Now()
	delay := 100 * time.Millisecond
	for time.Since(start) < settle && parent.Err() == nil {
		o.Attempts++
		ctx, cancel := context.WithTimeout(parent, 60*time.Second)
		resp, err := s.storefront.Call(ctx, http.MethodPost, s.url("order")+"/v1/orders", s.ids["order-agent"].DID, "order:create", body)
		if err == nil {
			var v order.View
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch jerr := json.Unmarshal(raw, &v); {
			case jerr != nil:
				o.LastErr = fmt.Sprintf("%d: unreadable answer", resp.StatusCode)
			case v.Status != "" && v.Status != order.StatusProcessing:
				cancel()
				o.View, o.Settle = &v, time.Since(start)
				return
			default:
				o.LastErr = fmt.Sprintf("%d %s %s", resp.StatusCode, v.Status, v.Error)
			}
		} else {
			o.LastErr = err.Error()
		}
		cancel()
		time.Sleep(delay)
		delay = min(2*delay, 2*time.Second)
	}
}

// chaos strikes a random process of the stack every so often (uniform in
// [minGap, maxGap]) until ctx ends. Three times in four it SIGKILLs the
// process and restarts it on its address after a random pause of up to a
// second; before an agent restarts, the checkpoint its persisted view
// holds is kept for the verdict. Otherwise it freezes the process
// (SIGSTOP) for up to three seconds.
func (s *processes) chaos(ctx context.Context, rng *rand.Rand, minGap, maxGap time.Duration, seen *checkpointLog, errs chan<- error) {
	names := append([]string{"ledger"}, roles()...)
	for {
		gap := minGap + time.Duration(rng.Int64N(int64(maxGap-minGap)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(gap):
		}
		p := s.procs[names[rng.IntN(len(names))]]
		if rng.IntN(4) == 0 {
			p.pause(time.Duration(rng.Int64N(int64(3 * time.Second))))
			continue
		}
		p.kill()
		if p.name != "ledger" {
			if b, err := os.ReadFile(filepath.Join(s.dir, "agents", p.name, "view", "view.json")); err == nil {
				var v struct {
					Checkpoint string `json:"checkpoint"`
				}
				if json.Unmarshal(b, &v) == nil && v.Checkpoint != "" {
					seen.add(p.name+" (persisted view)", []byte(v.Checkpoint))
				}
			}
		}
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		// Restart even if the run is ending: the verdict needs every process.
		if err := p.start(context.Background()); err != nil {
			errs <- err
			return
		}
	}
}

// watch samples, every interval until ctx ends, the checkpoint each agent
// acts under and the ledger's latest, and each process's memory.
func (s *processes) watch(ctx context.Context, interval time.Duration, seen *checkpointLog) {
	hc := &http.Client{Timeout: time.Second}
	get := func(url string) []byte {
		resp, err := hc.Get(url)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		return b
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, role := range roles() {
			if b := get(s.url(role) + "/v1/checkpoint"); b != nil {
				seen.add(role, b)
			}
		}
		if b := get(s.url("ledger") + "/checkpoint"); b != nil {
			seen.add("ledger", b)
		}
		for _, p := range s.procs {
			p.sampleRSS()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkpointLog is every distinct signed checkpoint seen, with who
// served it first.
type checkpointLog struct {
	mu    sync.Mutex
	notes map[string]string // note -> source
}

func (l *checkpointLog) add(source string, note []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.notes == nil {
		l.notes = map[string]string{}
	}
	if _, ok := l.notes[string(note)]; !ok && len(l.notes) < 1_000_000 {
		l.notes[string(note)] = source
	}
}

func (l *checkpointLog) all() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.notes))
	for k, v := range l.notes {
		out[k] = v
	}
	return out
}
