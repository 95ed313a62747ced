package replica

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/record"
)

// TestAppendAsLeaderNeverFollowsARoleChange flips a partition between
// leading and following while two producers append as its leader: once
// the image that makes it a follower is applied, the log ends where the
// follower's fetch state starts (nothing lands behind the fetcher's
// back), and every record carries an epoch in which the broker led.
func TestAppendAsLeaderNeverFollowsARoleChange(t *testing.T) {
	l := epochLogs(t, 1)[0]
	p := &Partition{Log: l}
	now := time.Now()
	image := func(leader, epoch int32) metadata.Partition {
		return metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: leader, LeaderEpoch: epoch, PartitionEpoch: epoch}
	}
	ledIn := map[int32]bool{0: true}
	p.applyImage(image(1, 0), 1, now)
	b := record.NewBuilder(record.CodecNone)
	b.Append(0, 0, nil, []byte("v"))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var appended int
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, epoch, err := p.AppendAsLeader(slices.Clone(batch)) // Append writes offsets into its input
				switch {
				case err == nil:
					mu.Lock()
					appended++
					if !ledIn[epoch] {
						t.Errorf("appended in epoch %d, which the broker did not lead", epoch)
					}
					mu.Unlock()
				case !errors.Is(err, ErrNotLeader):
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range int32(200) {
		follow := 2*i + 1
		_, fs := p.applyImage(image(2, follow), 1, now)
		time.Sleep(50 * time.Microsecond) // producers try meanwhile
		p.mu.Lock()
		from := fs.fetchOffset
		p.mu.Unlock()
		if end := l.EndOffset(); end != from {
			t.Fatalf("round %d: the follower fetches from %d but its log ends at %d", i, from, end)
		}
		mu.Lock()
		ledIn[follow+1] = true
		mu.Unlock()
		p.applyImage(image(1, follow+1), 1, now)
		time.Sleep(50 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	if appended == 0 {
		t.Fatal("no append went through")
	}
}
