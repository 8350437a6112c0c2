package ledger

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

var sustainedEntries = flag.Int("sustained", 0,
	"entries BenchmarkSustainedAppend appends (0 skips it); run each sub-benchmark in its own process")

// previousBadgerOptions is the Badger sizing the log used before
// badgerOptions bounded its memory, kept to measure against.
func previousBadgerOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(nil).
		WithDetectConflicts(false).
		WithValueThreshold(1 << 20).
		WithMemTableSize(64 << 20).
		WithBlockCacheSize(64 << 20).
		WithIndexCacheSize(32 << 20).
		WithNumVersionsToKeep(1)
}

// BenchmarkSustainedAppend appends -sustained distinct 400-byte entries
// (unsigned) from 64 writers and reports throughput and peak memory: the
// live Go heap (as of each GC's mark), all memory the Go runtime holds
// from the OS (which GOGC and GOMEMLIMIT govern), and the
// process's resident set (all of it, and the anonymous part, which leaves
// out Badger's memory-mapped files). Peaks are sampled every 10 ms; the
// resident peak also comes from the kernel's high-water mark, reset at the
// start. Run one sub-benchmark per process, so one's memory cannot count
// against the other:
//
//	go test -run '^$' -bench 'SustainedAppend/previous' -benchtime 1x ./ledger/ -args -sustained 1000000
//	go test -run '^$' -bench 'SustainedAppend/current' -benchtime 1x ./ledger/ -args -sustained 1000000
func BenchmarkSustainedAppend(b *testing.B) {
	if *sustainedEntries <= 0 {
		b.Skip("set -sustained N to run")
	}
	for _, c := range []struct {
		name string
		opts func(string) badger.Options
	}{{"previous", previousBadgerOptions}, {"current", badgerOptions}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				sustainedAppend(b, c.opts, *sustainedEntries)
			}
		})
	}
}

func sustainedAppend(b *testing.B, opts func(string) badger.Options, n int) {
	tl := newTestLog(b, time.Hour)
	tl.Close()
	l, err := Open(Options{Dir: tl.dir, Signer: tl.signer, badger: opts})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset the resident high-water mark
	var peak memPeak
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak.sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				e := make([]byte, 400)
				binary.BigEndian.PutUint64(e, uint64(i))
				if _, err := l.Append(context.Background(), e); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	close(stop)
	<-sampled
	peak.sample()
	if hwm := procStatus("VmHWM"); hwm > peak.rss {
		peak.rss = hwm
	}
	const mib = 1 << 20
	b.ReportMetric(float64(n)/took.Seconds(), "entries/s")
	b.ReportMetric(float64(peak.heap)/mib, "peak-live-heap-MiB")
	b.ReportMetric(float64(peak.goHeld)/mib, "peak-go-MiB")
	b.ReportMetric(float64(peak.rss)/mib, "peak-rss-MiB")
	b.ReportMetric(float64(peak.rssAnon)/mib, "peak-rss-anon-MiB")
}

// memPeak keeps the largest memory figures seen.
type memPeak struct {
	heap, goHeld, rss, rssAnon uint64
}

var memSamples = []rtmetrics.Sample{
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

func (p *memPeak) sample() {
	s := make([]rtmetrics.Sample, len(memSamples))
	copy(s, memSamples)
	rtmetrics.Read(s)
	p.heap = max(p.heap, s[0].Value.Uint64())
	p.goHeld = max(p.goHeld, s[1].Value.Uint64()-s[2].Value.Uint64())
	p.rss = max(p.rss, procStatus("VmRSS"))
	p.rssAnon = max(p.rssAnon, procStatus("RssAnon"))
}

// procStatus reads a size field of /proc/self/status in bytes (0 where
// there is no such file).
func procStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
