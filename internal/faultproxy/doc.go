// Package faultproxy is a fault-injecting TCP proxy for reliability tests.
//
// A Kafka client connects to the proxy; for every accepted connection the
// proxy dials the target (a broker) and forwards bytes both ways, unchanged,
// until a fault fires. Faults cut connections at chosen or random points or
// delay forwarding. The interesting cut is the one that drops a response: the
// broker has received the request and acted on it (appended the records), but
// the client never sees the answer and must retry on a new connection.
//
// # The connection model
//
// Every proxied connection has two goroutines, one per direction, called
// pumps:
//
//	client ──▶ up pump   (requests)  ──▶ broker
//	client ◀── down pump (responses) ◀── broker
//
// A pump reads a chunk from its source, decides what the faults let through
// (see Faults below), optionally sleeps (delay), writes that part to its
// destination, and cuts the connection if a fault says so.
//
// Ownership:
//
//   - The Proxy owns the accept loop and, for every accepted connection, one
//     goroutine that dials the target and then runs the up pump. Close closes
//     the listener and the sockets of every connection, then waits for all of
//     them (a sync.WaitGroup), so no goroutine outlives Close.
//   - That connection goroutine owns the down pump: it starts it once the
//     target is dialled and waits for it before returning.
//   - A pump stops when its source reports EOF (it half-closes its
//     destination so the peer sees EOF too; the other direction goes on),
//     when a read or write fails or a fault fires (it closes both sockets,
//     which stops the other pump), or when Close or CutAll closes the sockets.
//
// No lock is held across network I/O: the fault settings are an immutable
// snapshot swapped atomically by the setters and read once per chunk, rules
// are called without any lock, and sockets are closed outside the locks that
// track them.
//
// # Frames
//
// Kafka frames are a 4-byte big-endian size followed by that many bytes. Each
// pump splits its stream into frames as it goes, whatever the read
// boundaries: a frame may span several reads and a read may hold several
// frames. The proxy never changes or buffers bytes for this; a frame is "seen"
// when its size prefix is complete, and that is when frame rules are asked.
// A negative size means the stream is not Kafka framing: from there on the
// stream is forwarded byte for byte and no more frames are reported. A huge
// size is just a long frame. Nothing is allocated from a size.
//
// # Faults
//
// All faults can be set, changed and cleared at any time, from any goroutine,
// while connections are open:
//
//   - CutAfter and CutEachAfter cut a connection once a number of bytes has
//     been forwarded in a direction, counted from the call over all
//     connections (once), or per connection from its start (every time).
//   - DropResponse asks a rule at the start of every response frame; when it
//     says so, that response is discarded and the connection cut.
//   - TruncateRequest asks a rule at the start of every request frame how much
//     of it to forward before cutting; the broker sees a truncated frame.
//   - Delay holds every forwarded chunk in a direction for a fixed or random
//     time.
//   - Random draws these faults with per-frame probabilities from seeded
//     math/rand/v2 sources, one per connection and direction, derived from
//     the seed, the connection number and the direction. The decisions for a
//     connection thus depend only on the seed and on the frames it carries,
//     not on how reads or other connections interleave: a test that drives
//     its connections in a fixed order sees the same faults on every run.
//
// A cut closes both sockets of the connection. When it happens in the middle
// of a direction, that direction's destination is half-closed first, so the
// bytes forwarded before the cut arrive ahead of the end of stream. If a
// prefix of a frame was forwarded by an earlier read before its size was
// complete (at most 3 bytes), a drop cannot recall them; the peer sees those
// bytes and then the end of the connection.
//
// Stats counts connections, cuts by kind, bytes, frames and delays, so that
// tests can assert that the faults they asked for were exercised.
package faultproxy
