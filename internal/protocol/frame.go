package protocol

import (
	"encoding/binary"
	"fmt"
)

// A Kafka frame is a 4-byte big-endian size followed by that many bytes:
//
//	request:  size int32 | request header (v0, v1 or v2) | request body
//	response: size int32 | response header (v0 or v1)    | response body
//
// Header versions follow the API and version (RequestHeaderVersion,
// ResponseHeaderVersion). Frame sizes are limited by the server
// (socket.request.max.bytes), not here.

// ErrFrameTooShort is returned for a request too short to hold a header.
var ErrFrameTooShort = fmt.Errorf("%w: request shorter than its header", ErrMalformed)

// PeekRequestKey returns the API key and version that open a request
// (after the size prefix) without decoding anything else.
func PeekRequestKey(req []byte) (APIKey, int16, error) {
	if len(req) < 4 {
		return 0, 0, ErrFrameTooShort
	}
	return APIKey(binary.BigEndian.Uint16(req)), int16(binary.BigEndian.Uint16(req[2:])), nil
}

// ParseRequestHeader decodes the header that opens req (a frame without
// its size prefix) and returns it with the body that follows, which
// aliases req. Header fields alias nothing: the client id is copied.
func ParseRequestHeader(req []byte) (RequestHeader, []byte, error) {
	var h RequestHeader
	key, version, err := PeekRequestKey(req)
	if err != nil {
		return h, nil, err
	}
	r := Reader{buf: req}
	h.decode(&r, RequestHeaderVersion(key, version))
	if r.err != nil {
		return h, nil, fmt.Errorf("request header: %w", r.err)
	}
	return h, r.buf, nil
}

// AppendRequestHeader appends the header of a request for key at version.
func AppendRequestHeader(dst []byte, key APIKey, version int16, correlationID int32, clientID *string) []byte {
	h := RequestHeader{RequestApiKey: int16(key), RequestApiVersion: version, CorrelationID: correlationID, ClientID: clientID}
	return h.appendTo(dst, RequestHeaderVersion(key, version))
}

// AppendResponseHeader appends a response header of the given version.
func AppendResponseHeader(dst []byte, correlationID int32, headerVersion int16) []byte {
	dst = appendInt32(dst, correlationID)
	if headerVersion >= 1 {
		dst = append(dst, 0) // no tagged fields
	}
	return dst
}

// ParseResponseHeader decodes a response header of the given version from
// the start of resp (a frame without its size prefix) and returns the
// correlation id and the body that follows.
func ParseResponseHeader(resp []byte, headerVersion int16) (int32, []byte, error) {
	var h ResponseHeader
	r := Reader{buf: resp}
	h.decode(&r, headerVersion)
	if r.err != nil {
		return 0, nil, fmt.Errorf("response header: %w", r.err)
	}
	return h.CorrelationID, r.buf, nil
}

// BeginFrame reserves the 4-byte size prefix of a frame at the end of dst
// and returns the extended slice and the prefix's position, for FinishFrame.
func BeginFrame(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0), len(dst)
}

// FinishFrame writes the size of the frame that starts at pos.
func FinishFrame(dst []byte, pos int) []byte {
	binary.BigEndian.PutUint32(dst[pos:], uint32(len(dst)-pos-4))
	return dst
}

// AppendRequest appends a whole request frame: size, header and body.
func AppendRequest(dst []byte, m Message, version int16, correlationID int32, clientID *string) []byte {
	dst, pos := BeginFrame(dst)
	dst = AppendRequestHeader(dst, m.APIKey(), version, correlationID, clientID)
	dst = m.AppendTo(dst, version)
	return FinishFrame(dst, pos)
}

// AppendResponse appends a whole response frame: size, header and body.
// A message carrying FileRecords needs EncodeResponse instead (this
// would leave their bytes out); AppendResponse panics on one.
func AppendResponse(dst []byte, m Message, version int16, correlationID int32) []byte {
	dst, pos := BeginFrame(dst)
	dst = AppendResponseHeader(dst, correlationID, ResponseHeaderVersion(m.APIKey(), version))
	if fc, ok := m.(fileCarrier); ok && len(fc.appendFiles(nil)) > 0 {
		panic("protocol: AppendResponse given a message with FileRecords; use EncodeResponse")
	}
	dst = m.AppendTo(dst, version)
	return FinishFrame(dst, pos)
}

// DecodeRequest decodes a whole request (a frame without its size prefix):
// header, then the body as the message its key names. An unknown key or a
// version the message does not define returns ErrBadVersion-wrapped or
// ErrUnknownAPI-wrapped errors, which a server answers by closing the
// connection (ApiVersions excepted, see KIP-511).
func DecodeRequest(req []byte) (RequestHeader, Message, error) {
	h, body, err := ParseRequestHeader(req)
	if err != nil {
		return h, nil, err
	}
	m := NewRequest(APIKey(h.RequestApiKey))
	if m == nil {
		return h, nil, fmt.Errorf("%w: %d", ErrUnknownAPI, h.RequestApiKey)
	}
	if err := m.Decode(body, h.RequestApiVersion); err != nil {
		return h, nil, fmt.Errorf("%s v%d: %w", APIKey(h.RequestApiKey), h.RequestApiVersion, err)
	}
	return h, m, nil
}

// ErrUnknownAPI is returned for an API key the codec does not define.
var ErrUnknownAPI = fmt.Errorf("protocol: unknown api key")
