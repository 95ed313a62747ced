// Package server accepts Kafka clients and runs the per-connection request
// loop: framing, request headers, limits, ordering and the protocol's rules
// for versions. What a request means is the Handler's business.
//
// # The connection model
//
// Every accepted connection has three goroutines, owned by the Server
// (Close and Shutdown stop and wait for them):
//
//	socket ──▶ reader ──(request)──▶ processor ──(response)──▶ writer ──▶ socket
//	             │   Handler.Handle, one at a time,   │  Response.Wait, then
//	             │   in arrival order                 │  encode and write, in order
//	             └──────── in-flight slots (MaxInFlight) ◀───── released after write
//
// In detail:
//
//   - The reader takes an in-flight slot, then reads one frame: a 4-byte
//     size, checked against [8, MaxFrameBytes] before anything is allocated,
//     then the body. It checks the API key and version against
//     Config.Versions before decoding anything (PeekRequestKey), decodes the
//     header and body, and queues the request. When all MaxInFlight slots
//     are taken it stops reading: TCP pushes back on the client and memory
//     stays bounded by MaxInFlight frames per connection.
//   - The processor calls Handler.Handle sequentially, so the effects of a
//     request happen before those of the next one. A Handle that panics is
//     recovered: the panic is logged at Error and the connection is closed.
//   - The writer takes responses in request order, calls Response.Wait if
//     the handler deferred the answer (a produce waiting for replication
//     while the next request is already being processed), encodes the
//     response with the request's correlation id and the response header
//     version of the request's API and version, and writes it. Only then is
//     the request's frame buffer released: decoded messages alias it.
//   - A response may carry record sets left in files (protocol.FileRecords,
//     a fetch's batches in their segment files). The writer writes the
//     encoded bytes around them and sends each range with sendfile(2) on
//     a socket with a descriptor (or reads it through one reused buffer:
//     Config.NoSendfile, or a file without a descriptor), so a fetched
//     batch is never assembled in memory; TCP_CORK keeps the pieces in
//     full packets. Every file range is released once written, or when
//     the response is dropped (an aborted connection releases what was
//     queued). A file shorter than promised closes the connection.
//
// # Protocol rules
//
//   - A frame larger than MaxFrameBytes or smaller than the smallest request
//     header (8 bytes) closes the connection (one Warn line).
//   - ApiVersions at a version we do not serve is answered before its body
//     is decoded (a newer body may not decode) with an ApiVersions v0
//     response carrying UNSUPPORTED_VERSION and the version ranges we serve,
//     so the client can retry with a version we know (KIP-511). Kafka
//     lists only the ApiVersions range there; the full table is a superset
//     that Java, librdkafka and franz-go clients all read correctly.
//   - Any other API key we do not serve, or a version outside the served
//     range, closes the connection (one Info line), as Kafka does.
//   - A header or body that does not decode closes the connection.
//   - A connection with nothing in flight that receives no bytes for
//     IdleTimeout is closed. When a request is in flight at the deadline,
//     the reader re-arms for another IdleTimeout, so an idle connection is
//     closed between IdleTimeout and twice that after its last activity.
//     A write that makes no progress for IdleTimeout (a client that never
//     reads) also closes the connection.
//   - Beyond MaxConnections open connections, a new one is closed at once.
//
// # What handlers must do
//
// Handle must return a Response: a ready Msg, a Wait that produces it, or
// None (no response, e.g. an acks=0 produce). Close closes the connection
// after the response (or at once for None) and stops processing the
// requests behind it. The request message aliases the frame; it stays valid
// until the response is written (None: until Handle returns), so a handler
// that keeps bytes for longer must copy them. Wait runs on the writer
// goroutine and should honour its context, which is cancelled when the
// connection closes; a nil message from Wait closes the connection, since
// the client waits for a response to every request it did not mark as
// one-way. Conn.Context is cancelled when the connection closes, for work a
// handler starts on the connection's behalf. Close waits for Handle and
// Wait to return, so both must return once their context is cancelled.
//
// # Shutdown
//
// Close stops accepting, closes every connection and waits for all the
// goroutines. Shutdown stops accepting and stops every reader (a partially
// read frame is dropped), lets the requests already read be handled and
// their responses written, then closes; if its context ends first it falls
// back to Close.
package server
