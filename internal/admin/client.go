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
	cl, err := kgo.NewClient(append(ClientOpts(bootstrap, timeout), kgo.RequestRetries(2), kgo.RetryTimeout(timeout))...)
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

// ClientOpts are the connection options of every command's client: the
// brokers to bootstrap from, and a dial bounded by timeout (5 s at most).
func ClientOpts(bootstrap []string, timeout time.Duration) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(bootstrap...), kgo.DialTimeout(min(timeout, 5*time.Second))}
}

// Reach names the cluster at bootstrap when err says no broker answered
// (a dial that failed, or a deadline); other errors are returned as
// they are.
func Reach(bootstrap []string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || isDial(err) {
		return fmt.Errorf("cannot reach the cluster at %s: %w", strings.Join(bootstrap, ","), err)
	}
	return err
}

// wrap names what failed, and the cluster when the request never got an
// answer.
func (c *Client) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, Reach(c.bootstrap, err))
}

// isDial reports a connection that could not be made (kgo wraps the
// dialer's *net.OpError).
func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// ProducerOpts are the options of a producer's acks (all or -1, 1, 0;
// below all the producer is not idempotent, which needs all) and batch
// compression (none or empty, gzip, snappy, lz4, zstd).
func ProducerOpts(acks, compression string) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("acks %q: all, 1 or 0", acks)
	}
	var codec kgo.CompressionCodec
	switch compression {
	case "", "none":
		codec = kgo.NoCompression()
	case "gzip":
		codec = kgo.GzipCompression()
	case "snappy":
		codec = kgo.SnappyCompression()
	case "lz4":
		codec = kgo.Lz4Compression()
	case "zstd":
		codec = kgo.ZstdCompression()
	default:
		return nil, fmt.Errorf("compression %q: none, gzip, snappy, lz4 or zstd", compression)
	}
	return append(opts, kgo.ProducerBatchCompression(codec)), nil
}
