package ledger

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// counter reads a counter from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// openWith reopens tl's directory with the given GC interval and Badger
// options, registering metrics in a fresh registry.
func (tl *testLog) openWith(t *testing.T, gc time.Duration, bopts func(string) badger.Options) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	l, err := Open(Options{Dir: tl.dir, Signer: tl.signer, CheckpointInterval: time.Hour,
		ValueLogGCInterval: gc, Registerer: reg, badger: bopts})
	if err != nil {
		t.Fatal(err)
	}
	tl.Log = l
	t.Cleanup(func() { l.Close() })
	return reg
}

func TestValueLogGCRunsAndStopsWithClose(t *testing.T) {
	tl := newTestLog(t, time.Hour)
	tl.Close()
	reg := tl.openWith(t, time.Millisecond, nil)

	// Appends and GC rounds run together until a few rounds have run.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if _, err := tl.Append(context.Background(), entryN(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for counter(t, reg, "ledger_value_log_gc_rounds_total") < 3 {
		if time.Now().After(deadline) {
			t.Fatal("value-log GC did not run")
		}
		time.Sleep(time.Millisecond)
	}
	close(done)
	wg.Wait()

	// Close waits for the GC goroutine before it closes Badger: once Close
	// has returned, no round starts.
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	rounds := counter(t, reg, "ledger_value_log_gc_rounds_total")
	time.Sleep(20 * time.Millisecond) // twenty GC intervals
	if got := counter(t, reg, "ledger_value_log_gc_rounds_total"); got != rounds {
		t.Fatalf("GC rounds went from %v to %v after Close", rounds, got)
	}
}

// TestValueLogGCReclaimsRewrittenTiles puts tiles in the value log (a low
// value threshold) so that every batch leaves garbage there, and checks
// that a GC round rewrites value-log files and the log still reads back.
func TestValueLogGCReclaimsRewrittenTiles(t *testing.T) {
	tl := newTestLog(t, time.Hour)
	tl.Close()
	small := func(dir string) badger.Options {
		return badgerOptions(dir).WithValueThreshold(1024).WithValueLogFileSize(1 << 20).WithMemTableSize(1 << 20)
	}
	reg := tl.openWith(t, time.Hour, small)
	appendAllFrom(t, tl.Log, 0, 20000)
	if err := tl.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	vlogs := func() int {
		m, _ := filepath.Glob(filepath.Join(tl.dir, "*.vlog"))
		return len(m)
	}
	before := vlogs()
	n := tl.valueLogGC()
	after := vlogs()
	if n == 0 || after >= before || counter(t, reg, "ledger_value_log_gc_rewrites_total") != float64(n) {
		t.Fatalf("GC rewrote %d value-log files; %d files before, %d after", n, before, after)
	}
	checkTree(t, tl.Log)
}

// TestOpensStoreWrittenWithPreviousOptions opens a store whose tables were
// written with the previous sizing (Snappy-compressed, doubling table
// sizes) under the current one, and reads and grows it.
func TestOpensStoreWrittenWithPreviousOptions(t *testing.T) {
	tl := newTestLog(t, time.Hour)
	tl.Close()
	tl.openWith(t, time.Hour, previousBadgerOptions)
	appendAllFrom(t, tl.Log, 0, 3000)
	head := tl.Head()
	if err := tl.Close(); err != nil { // flushes the memtable into a Snappy table
		t.Fatal(err)
	}
	if tables, _ := filepath.Glob(filepath.Join(tl.dir, "*.sst")); len(tables) == 0 {
		t.Fatal("no table written under the previous options")
	}
	tl.reopen(t, time.Hour)
	if tl.Head() != head {
		t.Fatalf("head %+v under the current options, want %+v", tl.Head(), head)
	}
	checkTree(t, tl.Log)
	appendAllFrom(t, tl.Log, 3000, 1000)
	checkTree(t, tl.Log)
}
