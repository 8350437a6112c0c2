package ledger

// Faults lets tests outside the package (the HTTP layer's, through
// package ledger_test) inject storage faults into a log's batch commits.
type Faults struct{ store *faultyStore }

// OpenWithFaults opens a log whose batch commits go through a fault
// injector wrapping the real Badger commit.
func OpenWithFaults(opts Options) (*Log, *Faults, error) {
	f := &faultyStore{}
	opts.store = f
	l, err := Open(opts)
	if err != nil {
		return nil, nil, err
	}
	f.db = l.db
	return l, &Faults{store: f}, nil
}

// DiskFull makes every commit fail with ENOSPC before writing anything,
// until DiskFull(false).
func (f *Faults) DiskFull(on bool) {
	if on {
		f.store.setSticky(diskFull)
	} else {
		f.store.setSticky(nil)
	}
}

// FailNextSync lets the next commit reach Badger and then fail with EIO,
// as a failed fsync of Badger's write-ahead log does.
func (f *Faults) FailNextSync() { f.store.queue(syncFailed) }

// StallNext holds the next commit until release is called, then lets it
// through to Badger.
func (f *Faults) StallNext() (release func()) {
	ch := make(chan struct{})
	f.store.queue(stallUntil(ch))
	return func() { close(ch) }
}
