package group

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
)

// The records of __consumer_offsets, in Kafka's formats so that Kafka's own
// tools read them:
//
//	key   = int16 version | OffsetCommitKey      (version 0 or 1; we write 1)
//	      | int16 version | GroupMetadataKey     (version 2)
//	value = int16 version | OffsetCommitValue    (we write 3, or 1 with an
//	                                              expire timestamp)
//	      | int16 version | GroupMetadataValue   (we write 3)
//	      | null                                 (a tombstone: delete the key)
//
// Key versions 3 and up belong to Kafka's newer group types; this
// coordinator skips them.
const (
	offsetKeyVersion         = 1
	groupKeyVersion          = 2
	offsetValueVersion       = 3
	offsetValueExpireVersion = 1
	groupValueVersion        = 3
)

var (
	// errForeignRecord marks a record of a kind this coordinator does not
	// keep (a key version of Kafka's newer group types).
	errForeignRecord = errors.New("group: record of another group type")
	// errBadRecord marks a record that cannot be decoded.
	errBadRecord = errors.New("group: undecodable record")
)

// topicPartition names a committed offset within a group.
type topicPartition struct {
	topic     string
	partition int32
}

// offsetEntry is one committed offset.
type offsetEntry struct {
	offset      int64
	leaderEpoch int32 // -1: none
	metadata    string
	commitTime  int64 // ms
	expireTime  int64 // ms; -1: none (offsets.retention applies)
}

// op is one record of __consumer_offsets in decoded form. Replaying ops in
// log order rebuilds the offsets, both on load and as writes complete.
type op struct {
	group   string
	isGroup bool
	tp      topicPartition               // offset records
	offset  *offsetEntry                 // offset records; nil is a tombstone
	meta    *protocol.GroupMetadataValue // group records; nil is a tombstone
}

// kv is an encoded record.
type kv struct{ key, value []byte }

// encodeOp returns the key and value of o; a nil value is a tombstone.
func encodeOp(o op) kv {
	if o.isGroup {
		k := protocol.GroupMetadataKey{Group: o.group}
		key := k.AppendTo(binary.BigEndian.AppendUint16(nil, groupKeyVersion), groupKeyVersion)
		if o.meta == nil {
			return kv{key: key}
		}
		value := o.meta.AppendTo(binary.BigEndian.AppendUint16(nil, groupValueVersion), groupValueVersion)
		return kv{key: key, value: value}
	}
	k := protocol.OffsetCommitKey{Group: o.group, Topic: o.tp.topic, Partition: o.tp.partition}
	key := k.AppendTo(binary.BigEndian.AppendUint16(nil, offsetKeyVersion), offsetKeyVersion)
	if o.offset == nil {
		return kv{key: key}
	}
	v := protocol.OffsetCommitValue{
		Offset:          o.offset.offset,
		LeaderEpoch:     o.offset.leaderEpoch,
		Metadata:        o.offset.metadata,
		CommitTimestamp: o.offset.commitTime,
		ExpireTimestamp: o.offset.expireTime,
	}
	version := int16(offsetValueVersion)
	if o.offset.expireTime >= 0 {
		version = offsetValueExpireVersion
	}
	value := v.AppendTo(binary.BigEndian.AppendUint16(nil, uint16(version)), version)
	return kv{key: key, value: value}
}

// decodeOp decodes a record. Byte fields of the result are copies, so key
// and value may be reused afterwards. Errors wrap errForeignRecord or
// errBadRecord.
func decodeOp(key, value []byte) (op, error) {
	if len(key) < 2 {
		return op{}, fmt.Errorf("%w: key of %d bytes", errBadRecord, len(key))
	}
	kver := int16(binary.BigEndian.Uint16(key))
	switch kver {
	case 0, 1:
		var k protocol.OffsetCommitKey
		if err := k.Decode(key[2:], kver); err != nil {
			return op{}, fmt.Errorf("%w: offset key: %w", errBadRecord, err)
		}
		o := op{group: k.Group, tp: topicPartition{k.Topic, k.Partition}}
		if value == nil {
			return o, nil
		}
		e, err := decodeOffsetValue(value)
		if err != nil {
			return op{}, err
		}
		o.offset = e
		return o, nil
	case groupKeyVersion:
		var k protocol.GroupMetadataKey
		if err := k.Decode(key[2:], kver); err != nil {
			return op{}, fmt.Errorf("%w: group key: %w", errBadRecord, err)
		}
		o := op{group: k.Group, isGroup: true}
		if value == nil {
			return o, nil
		}
		m, err := decodeGroupValue(value)
		if err != nil {
			return op{}, err
		}
		o.meta = m
		return o, nil
	}
	if kver < 0 {
		return op{}, fmt.Errorf("%w: key version %d", errBadRecord, kver)
	}
	return op{}, fmt.Errorf("%w: key version %d", errForeignRecord, kver)
}

func decodeOffsetValue(value []byte) (*offsetEntry, error) {
	if len(value) < 2 {
		return nil, fmt.Errorf("%w: offset value of %d bytes", errBadRecord, len(value))
	}
	var v protocol.OffsetCommitValue
	if err := v.Decode(value[2:], int16(binary.BigEndian.Uint16(value))); err != nil {
		return nil, fmt.Errorf("%w: offset value: %w", errBadRecord, err)
	}
	return &offsetEntry{
		offset:      v.Offset,
		leaderEpoch: v.LeaderEpoch,
		metadata:    v.Metadata,
		commitTime:  v.CommitTimestamp,
		expireTime:  v.ExpireTimestamp,
	}, nil
}

func decodeGroupValue(value []byte) (*protocol.GroupMetadataValue, error) {
	if len(value) < 2 {
		return nil, fmt.Errorf("%w: group value of %d bytes", errBadRecord, len(value))
	}
	var v protocol.GroupMetadataValue
	if err := v.Decode(value[2:], int16(binary.BigEndian.Uint16(value))); err != nil {
		return nil, fmt.Errorf("%w: group value: %w", errBadRecord, err)
	}
	for i := range v.Members {
		m := &v.Members[i]
		m.Subscription = clone(m.Subscription)
		m.Assignment = clone(m.Assignment)
		m.UnknownTags = nil
	}
	v.UnknownTags = nil
	return &v, nil
}

// clone copies b, keeping nil as nil.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// buildBatch builds one uncompressed v2 batch of records, offsets from 0,
// with no producer, stamped nowMs.
func buildBatch(records []kv, nowMs int64) ([]byte, error) {
	b := record.NewBuilder(record.CodecNone)
	b.BaseTimestamp = nowMs
	for i, r := range records {
		b.Append(int32(i), 0, r.key, r.value)
	}
	out, err := b.Build(nil)
	if err != nil {
		return nil, fmt.Errorf("build batch of %d records: %w", len(records), err)
	}
	return out, nil
}

// forEachRecord calls fn with the key and value of every record in data,
// which holds whole batches back to back (normally one). A batch that fails
// its checks (framing, CRC, records) is reported to bad and skipped;
// control batches are skipped silently.
func forEachRecord(data []byte, fn func(key, value []byte), bad func(error)) {
	it := record.NewBatches(data)
	for it.Next() {
		batch := it.Batch()
		if _, err := record.Validate(batch, record.Options{}); err != nil {
			bad(fmt.Errorf("batch at offset %d: %w", it.Header().BaseOffset, err))
			continue
		}
		if it.Header().Attributes.IsControl() {
			continue
		}
		var rs record.Records
		if err := rs.Reset(batch, record.Options{}); err != nil {
			bad(fmt.Errorf("batch at offset %d: %w", it.Header().BaseOffset, err))
			continue
		}
		for rs.Next() {
			r := rs.Record()
			fn(r.Key, r.Value)
		}
		if err := rs.Err(); err != nil {
			bad(fmt.Errorf("batch at offset %d: %w", it.Header().BaseOffset, err))
		}
		rs.Close()
	}
	if err := it.Err(); err != nil {
		bad(fmt.Errorf("batches from byte %d: %w", it.Offset(), err))
	}
}
