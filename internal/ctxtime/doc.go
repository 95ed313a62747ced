// Package ctxtime holds the time helpers that honour a context: waits
// that end early, with the context's error, when it ends.
package ctxtime
