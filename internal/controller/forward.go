package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/internal/ctxtime"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// forwardAnswer is a forwarded command's outcome as it travels back.
type forwardAnswer struct {
	Offset int64           `json:"offset"`
	Reply  json.RawMessage `json:"reply,omitempty"`
	// Code and Message carry a *CommandError; Err any other error.
	Code          int16  `json:"code,omitempty"`
	Message       string `json:"message,omitempty"`
	Err           string `json:"err,omitempty"`
	NotController bool   `json:"not_controller,omitempty"`
}

// serveForwarded runs a command another voter forwarded (the transport's
// forward handler) and encodes its outcome.
func (c *Controller) serveForwarded(ctx context.Context, req []byte) []byte {
	var a forwardAnswer
	cmd, err := DecodeCommand(req)
	if err == nil {
		var reply any
		if cmd.hops == 0 {
			// From a broker-only node, which may not know the leader:
			// run it here or forward it once more.
			a.Offset, reply, err = c.Execute(ctx, cmd)
		} else {
			a.Offset, reply, err = c.Submit(ctx, cmd)
		}
		if err == nil {
			a.Reply, err = json.Marshal(reply)
		}
	}
	var ce *CommandError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		a.Code, a.Message = int16(ce.Code), ce.Message
	case errors.Is(err, ErrNotController), errors.Is(err, ErrStopped):
		// A voter stopping is, to the sender, one that does not lead:
		// it tries another.
		a.NotController, a.Err = true, err.Error()
	default:
		a.Err = err.Error()
	}
	b, _ := json.Marshal(a)
	return b
}

// forward sends cmd to voter to and decodes the outcome.
func (c *Controller) forward(ctx context.Context, to uint64, cmd Command) (int64, any, error) {
	cmd.hops++
	req, err := EncodeCommand(cmd)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.cfg.Transport.Forward(ctx, to, req)
	if err != nil {
		return 0, nil, err
	}
	return decodeAnswer(cmd, resp, fmt.Sprint(to))
}

// decodeAnswer decodes the answer to a forwarded cmd from voter from.
func decodeAnswer(cmd Command, resp []byte, from string) (int64, any, error) {
	var a forwardAnswer
	if err := json.Unmarshal(resp, &a); err != nil {
		return 0, nil, fmt.Errorf("%w: bad answer from %s: %w", ErrUnreachable, from, err)
	}
	switch {
	case a.NotController:
		return 0, nil, fmt.Errorf("%w: %s", ErrNotController, a.Err)
	case a.Code != 0:
		return 0, nil, &CommandError{Code: protocol.ErrorCode(a.Code), Message: a.Message}
	case a.Err != "":
		return 0, nil, fmt.Errorf("controller %s: %s", from, a.Err)
	}
	reply, err := decodeReplyOf(cmd.op, a.Reply)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: bad reply from %s: %w", ErrUnreachable, from, err)
	}
	return a.Offset, reply, nil
}

// Execute runs cmd on the active controller, wherever it is: here if this
// voter leads (or an election is under way), else forwarded to the
// leader. NOT_CONTROLLER answers, from a leader that just lost its
// leadership, and unreachable leaders are retried until ctx ends, so the
// caller sees the command's own outcome or ctx's error. The offset is the
// metadata log offset holding the command's records, the same on every
// voter. Commands made with CommandFunc run only on a leading voter.
//
// A forwarded command whose answer is lost on the way back is sent again,
// so it may run twice, as a client's retried request may in Kafka: a
// second registration gets a newer broker epoch, a second CreateTopics
// TOPIC_ALREADY_EXISTS.
func (c *Controller) Execute(ctx context.Context, cmd Command) (int64, any, error) {
	backoff := 20 * time.Millisecond
	for {
		leader := c.Leader()
		var off int64
		var reply any
		var err error
		if leader == 0 || leader == c.cfg.NodeID || c.cfg.Transport == nil || cmd.op == "" || cmd.hops > 0 {
			off, reply, err = c.Submit(ctx, cmd)
		} else {
			off, reply, err = c.forward(ctx, leader, cmd)
		}
		if !errors.Is(err, ErrNotController) && !errors.Is(err, ErrUnreachable) {
			return off, reply, err
		}
		if (cmd.op == "" || cmd.hops > 0) && leader != 0 && leader != c.cfg.NodeID {
			return 0, nil, err
		}
		if err := ctxtime.Sleep(ctx, backoff); err != nil {
			return 0, nil, err
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}
