package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health answers /healthz and /readyz.
type Health struct {
	// Healthy returns nil while the node works, else why not.
	Healthy func() error
	// NotReady returns why the broker cannot serve yet; none when ready.
	NotReady func() []string
}

// Server is one of a node's HTTP listeners: metrics.listen's, or the
// profiles of `sluice serve --debug-addr`. Its owner stops it with Close.
type Server struct {
	ln  net.Listener
	srv *http.Server
	wg  sync.WaitGroup
}

// Listen serves /metrics from m, and /healthz and /readyz from h, on
// addr.
func Listen(addr string, m *Metrics, h Health, logger *slog.Logger) (*Server, error) {
	return Serve("metrics", addr, Handler(m, h), logger)
}

// Serve serves h on addr until Close; what names the listener in errors
// and logs.
func Serve(what, addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener %s: %w", what, addr, err)
	}
	s := &Server{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http listener stopped", "serves", what, "err", err)
		}
	}()
	logger.Info("http listening", "serves", what, "addr", ln.Addr().String())
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the listener and waits for its goroutine; requests under
// way (a scrape, a profile streaming) get a second to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	s.wg.Wait()
	return err
}

// Handler is the HTTP handler of /metrics, /healthz and /readyz.
func Handler(m *Metrics, h Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if h.Healthy != nil {
			if err := h.Healthy(); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if h.Healthy != nil {
			if err := h.Healthy(); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		if h.NotReady != nil {
			if why := h.NotReady(); len(why) > 0 {
				http.Error(w, "not ready: "+strings.Join(why, "; "), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
