package storage

import (
	"sync"
)

// Flusher is a bounded pool of goroutines that sync logs. A log asks for a
// sync after an append; if it is already queued the request is absorbed,
// so while one fsync runs, every append to that log piles up behind the
// next one (group commit), and different logs sync concurrently, up to the
// pool's size.
type Flusher struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*Log
	stopped bool
	wg      sync.WaitGroup
}

// NewFlusher starts a pool of n goroutines; Close stops them.
func NewFlusher(n int) *Flusher {
	f := &Flusher{}
	f.cond = sync.NewCond(&f.mu)
	for range max(n, 1) {
		f.wg.Add(1)
		go f.run()
	}
	return f
}

func (f *Flusher) request(l *Log) {
	if !l.syncPending.CompareAndSwap(false, true) {
		return
	}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		l.syncPending.Store(false)
		l.Sync()
		return
	}
	f.queue = append(f.queue, l)
	f.mu.Unlock()
	f.cond.Signal()
}

func (f *Flusher) run() {
	defer f.wg.Done()
	for {
		f.mu.Lock()
		for len(f.queue) == 0 && !f.stopped {
			f.cond.Wait()
		}
		if len(f.queue) == 0 {
			f.mu.Unlock()
			return
		}
		l := f.queue[0]
		f.queue[0] = nil
		f.queue = f.queue[1:]
		f.mu.Unlock()
		// Clear the flag first: an append that lands during this sync
		// queues the log again for the next one.
		l.syncPending.Store(false)
		l.Sync()
	}
}

// Close drains the queue and stops the goroutines.
func (f *Flusher) Close() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.cond.Broadcast()
	f.wg.Wait()
}
