package faultproxy

import (
	"log/slog"
	"time"
)

// Option configures a Proxy in Listen.
type Option func(*options)

type options struct {
	logger      *slog.Logger
	listenAddr  string
	dialTimeout time.Duration
}

func defaultOptions() options {
	return options{
		listenAddr:  "127.0.0.1:0",
		dialTimeout: 5 * time.Second,
	}
}

// WithLogger sets the logger for connection events and cuts (Debug) and
// failures to accept or dial (Warn). A nil logger discards, as does the
// default.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithListenAddr sets the address to listen on instead of 127.0.0.1:0, for
// example to reuse a port across proxy restarts.
func WithListenAddr(addr string) Option {
	return func(o *options) { o.listenAddr = addr }
}

// WithDialTimeout bounds how long dialling the target may take for one
// connection (5s by default). A connection whose dial fails is closed.
func WithDialTimeout(d time.Duration) Option {
	return func(o *options) { o.dialTimeout = d }
}
