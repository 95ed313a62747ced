package controller

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/ctxtime"
	"github.com/sluice-mq/sluice/internal/metadata"
)

// An image fetch (stream 'I' of the controller listener) asks a voter for
// the committed metadata past an offset:
//
//	request:  offset int64
//	answer:   leader uint64 | offset int64 | the image's records (encodeImage), when offset is past the request's
//
// The voter holds the request until its image passes the offset or
// imagePoll passes, so an observer learns of a change at once.
const imagePoll = time.Second

// forwardAttempt bounds one attempt of an observer's command at one voter.
const forwardAttempt = 3 * time.Second

// serveImage answers an observer's image fetch.
func (c *Controller) serveImage(ctx context.Context, req []byte) []byte {
	if len(req) != 8 {
		return nil
	}
	have := int64(binary.BigEndian.Uint64(req))
	timer := time.NewTimer(imagePoll)
	defer timer.Stop()
	for {
		ch := c.Updated()
		img := c.Image()
		if img.Offset > have {
			out := binary.BigEndian.AppendUint64(nil, c.Leader())
			out = binary.BigEndian.AppendUint64(out, uint64(img.Offset))
			return append(out, encodeImage(img)...)
		}
		select {
		case <-ch:
		case <-timer.C:
			out := binary.BigEndian.AppendUint64(nil, c.Leader())
			return binary.BigEndian.AppendUint64(out, uint64(img.Offset))
		case <-ctx.Done():
			return nil
		case <-c.done:
			return nil
		}
	}
}

// Observer follows the metadata quorum from a node that is not one of its
// voters (a broker-only node): it fetches the committed image from the
// voters, holding each fetch until the image changes, and forwards
// commands to them (a voter that is not the active controller forwards
// such a command once more). It has the methods of a Controller a broker
// uses.
type Observer struct {
	ids    []uint64 // the voters, ascending
	addrs  []string // their controller listeners
	logger *slog.Logger

	image  atomic.Pointer[metadata.Image]
	notify atomic.Pointer[chan struct{}]
	leader atomic.Uint64
	next   atomic.Int64 // index into addrs of the voter to ask next

	cancel context.CancelFunc
	done   chan struct{}
}

// NewObserver starts following the voters (id → controller listener
// host:port).
func NewObserver(voters map[uint64]string, logger *slog.Logger) *Observer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ids := make([]uint64, 0, len(voters))
	for id := range voters {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	o := &Observer{logger: logger, done: make(chan struct{})}
	for _, id := range ids {
		o.ids = append(o.ids, id)
		o.addrs = append(o.addrs, voters[id])
	}
	o.image.Store(&metadata.Image{})
	ch := make(chan struct{})
	o.notify.Store(&ch)
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	go o.run(ctx)
	return o
}

// Image returns the latest metadata image received.
func (o *Observer) Image() *metadata.Image { return o.image.Load() }

// Updated returns a channel closed when the image next changes.
func (o *Observer) Updated() <-chan struct{} { return *o.notify.Load() }

// Leader returns the active controller's id as a voter last said, 0 if
// unknown.
func (o *Observer) Leader() uint64 { return o.leader.Load() }

// IsLeader is false: an observer never leads.
func (o *Observer) IsLeader() bool { return false }

// Close stops following.
func (o *Observer) Close() error {
	o.cancel()
	<-o.done
	return nil
}

// WaitFor blocks until the image reaches offset.
func (o *Observer) WaitFor(ctx context.Context, offset int64) error {
	for {
		ch := o.Updated()
		if o.Image().Offset >= offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-o.done:
			return ErrStopped
		}
	}
}

func (o *Observer) run(ctx context.Context) {
	defer close(o.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		i := int(o.next.Load()) % len(o.addrs)
		have := o.Image().Offset
		fctx, cancel := context.WithTimeout(ctx, imagePoll+5*time.Second)
		resp, err := callTCP(fctx, o.addrs[i], streamImage, binary.BigEndian.AppendUint64(nil, uint64(have)))
		cancel()
		if err == nil && len(resp) < 16 {
			err = errors.New("short answer")
		}
		if err != nil {
			if ctx.Err() == nil {
				o.logger.Debug("metadata fetch failed", "voter", o.addrs[i], "err", err)
			}
			o.next.Store(int64(i + 1))
			if ctxtime.Sleep(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		leader := binary.BigEndian.Uint64(resp)
		o.leader.Store(leader)
		offset := int64(binary.BigEndian.Uint64(resp[8:]))
		if leader == 0 {
			// This voter knows no leader: it may be cut off from the
			// quorum, its image frozen. Ask another.
			o.next.Store(int64(i + 1))
		}
		if offset <= have || len(resp) == 16 {
			continue
		}
		img, err := decodeImage(resp[16:], offset)
		if err != nil {
			o.logger.Error("bad metadata image from a voter", "voter", o.addrs[i], "err", err)
			o.next.Store(int64(i + 1))
			continue
		}
		o.image.Store(img)
		ch := make(chan struct{})
		close(*o.notify.Swap(&ch))
	}
}

// Execute sends cmd to a voter, retrying others until one answers with
// the command's outcome or ctx ends (see Controller.Execute).
func (o *Observer) Execute(ctx context.Context, cmd Command) (int64, any, error) {
	req, err := EncodeCommand(cmd)
	if err != nil {
		return 0, nil, err
	}
	backoff := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		// The leader if known, else the voter in turn; each attempt is
		// bounded, so that a voter cut off from the quorum, which holds
		// the command waiting for a leader, does not hold it for long.
		i := int(o.next.Load()) % len(o.addrs)
		if l := slices.Index(o.ids, o.leader.Load()); l >= 0 && attempt%2 == 0 {
			i = l
		}
		actx, cancel := context.WithTimeout(ctx, forwardAttempt)
		resp, err := callTCP(actx, o.addrs[i], streamForward, req)
		cancel()
		if err == nil {
			var off int64
			var reply any
			off, reply, err = decodeAnswer(cmd, resp, o.addrs[i])
			if !errors.Is(err, ErrNotController) && !errors.Is(err, ErrUnreachable) {
				return off, reply, err
			}
		}
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		o.next.Store(int64(i + 1))
		if serr := ctxtime.Sleep(ctx, backoff); serr != nil {
			return 0, nil, fmt.Errorf("%w (last: %v)", serr, err)
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}
