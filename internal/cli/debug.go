package cli

import (
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/sluice-mq/sluice/internal/metrics"
)

// startDebug serves Go's profiles (net/http/pprof) under /debug/pprof/ on
// addr, a listener of their own, off by default. Its owner stops it with
// Close.
func startDebug(addr string, logger *slog.Logger) (*metrics.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return metrics.Serve("debug", addr, mux, logger)
}
