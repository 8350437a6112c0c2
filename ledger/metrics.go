package ledger

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the log's Prometheus instruments.
type metrics struct {
	appends        *prometheus.CounterVec
	batchSize      prometheus.Histogram
	commitSeconds  prometheus.Histogram
	batchSeconds   prometheus.Histogram
	commitFailures prometheus.Counter
	checkpoints    prometheus.Counter
	treeSize       prometheus.Gauge
	gcRounds       prometheus.Counter
	gcRewrites     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, l *Log) *metrics {
	m := &metrics{
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_appends_total",
			Help: "Entries submitted to the sequencer, by result (appended or duplicate).",
		}, []string{"result"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_batch_entries",
			Help:    "Entries per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_commit_fsync_seconds",
			Help:    "Time to commit one batch to Badger, including the fsync.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_batch_seconds",
			Help:    "Time to integrate and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_commit_failures_total",
			Help: "Batches whose commit failed; none of their entries were acknowledged.",
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_checkpoints_published_total",
			Help: "Checkpoints signed and stored.",
		}),
		treeSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledger_tree_size",
			Help: "Committed entries in the log.",
		}),
		gcRounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_value_log_gc_rounds_total",
			Help: "Value-log GC rounds run.",
		}),
		gcRewrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_value_log_gc_rewrites_total",
			Help: "Value-log files rewritten by GC.",
		}),
	}
	m.treeSize.Set(float64(l.Size()))
	if reg != nil {
		reg.MustRegister(m.appends, m.batchSize, m.commitSeconds, m.batchSeconds,
			m.commitFailures, m.checkpoints, m.treeSize, m.gcRounds, m.gcRewrites,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ledger_checkpoint_age_seconds",
				Help: "Seconds since the latest checkpoint was signed.",
			}, func() float64 {
				_, _, at := l.Checkpoint()
				if at.IsZero() {
					return 0
				}
				return time.Since(at).Seconds()
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ledger_storage_failed",
				Help: "1 once the log refuses appends until restarted (a commit failed after reaching the store), else 0.",
			}, func() float64 {
				if l.Err() != nil {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ledger_checkpoint_size",
				Help: "Tree size of the latest published checkpoint.",
			}, func() float64 {
				_, size, _ := l.Checkpoint()
				return float64(size)
			}),
		)
	}
	return m
}

func (m *metrics) observeBatch(batch, added int, fsync, total time.Duration, size uint64) {
	m.appends.WithLabelValues("appended").Add(float64(added))
	m.appends.WithLabelValues("duplicate").Add(float64(batch - added))
	m.batchSize.Observe(float64(batch))
	m.commitSeconds.Observe(fsync.Seconds())
	m.batchSeconds.Observe(total.Seconds())
	m.treeSize.Set(float64(size))
}
