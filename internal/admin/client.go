package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Client is an admin connection to a cluster.
type Client struct {
	bootstrap []string
	kgo       *kgo.Client
	adm       *kadm.Client
	timeout   time.Duration
}

// Dial prepares a client for the brokers at bootstrap; it connects on
// first use. timeout bounds each operation.
func Dial(bootstrap []string, timeout time.Duration) (*Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.RequestRetries(2),
		kgo.RetryTimeout(timeout), kgo.DialTimeout(min(timeout, 5*time.Second)))
	if err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", strings.Join(bootstrap, ","), err)
	}
	return &Client{bootstrap: bootstrap, kgo: cl, adm: kadm.NewClient(cl), timeout: timeout}, nil
}

// Close closes the connections.
func (c *Client) Close() { c.kgo.Close() }

func (c *Client) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, c.timeout)
}

// wrap names the cluster when the request never got an answer.
func (c *Client) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || isDial(err) {
		return fmt.Errorf("%s: cannot reach the cluster at %s: %w", what, strings.Join(c.bootstrap, ","), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isDial reports a connection that could not be made (kgo wraps the
// dialer's *net.OpError).
func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
