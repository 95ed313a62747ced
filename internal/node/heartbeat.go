package node

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// heartbeat keeps the broker's session with the active controller alive,
// every broker.heartbeat.interval.ms, until the node stops. A broker the
// controller fenced (it missed its session, say after a pause) catches up
// with the metadata log and asks to be unfenced; one whose registration
// is gone or stale registers again.
func (n *Node) heartbeat(listener config.Listener) {
	defer n.wg.Done()
	every := n.cfg.HeartbeatInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(n.bg, every)
		err := n.heartbeatOnce(ctx, listener)
		cancel()
		if err != nil && n.bg.Err() == nil {
			n.logger.Warn("broker heartbeat failed", "err", err)
		}
	}
}

func (n *Node) heartbeatOnce(ctx context.Context, listener config.Listener) error {
	if n.leaving.Load() {
		return nil // shutting down: stay fenced
	}
	id, epoch := n.cfg.NodeID, n.epoch.Load()
	_, reply, err := n.ctl.Execute(ctx, controller.BrokerHeartbeat(id, epoch))
	if errors.Is(err, protocol.ErrStaleBrokerEpoch) || errors.Is(err, protocol.ErrBrokerIDNotRegistered) {
		n.logger.Warn("broker registration lost; registering again", "broker_epoch", epoch, "err", err)
		return n.register(listener)
	}
	if err != nil {
		return err
	}
	r := reply.(controller.HeartbeatReply)
	if !r.Fenced {
		return nil
	}
	if err := n.ctl.WaitFor(ctx, r.MetadataOffset); err != nil {
		return err
	}
	if n.leaving.Load() {
		return nil
	}
	n.logger.Info("fenced by the controller; caught up, asking to be unfenced", "broker_epoch", epoch)
	_, _, err = n.ctl.Execute(ctx, controller.UnfenceBroker(id, epoch))
	return err
}

// leaveCluster fences the broker before it stops (Kafka's controlled
// shutdown), so that its leaderships move at once rather than after its
// session times out. The embedded single node skips it: there is
// nowhere to move them. Best effort: the session timeout fences it
// anyway.
func (n *Node) leaveCluster(ctx context.Context) {
	if n.ctl == nil || n.epoch.Load() == 0 || n.cfg.Profile() == config.ProfileSingleNode {
		return
	}
	// The heartbeat loop must not unfence the broker again.
	n.leaving.Store(true)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, _, err := n.ctl.Execute(ctx, controller.FenceBroker(n.cfg.NodeID, n.epoch.Load())); err != nil {
		n.logger.Warn("controlled shutdown: fencing failed; the session timeout will fence the broker", "err", err)
		return
	}
	n.logger.Info("controlled shutdown: broker fenced, its leaderships moved")
}
