package handler

import (
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
)

// checkProducedBatches applies Kafka's rules for a partition's records in
// Produce v3 and later (ProduceRequest.validateRecords): exactly one
// batch, of magic 2, and zstd only from v7. Framing the storage layer
// judges (CORRUPT_MESSAGE) is left to it, as are the legacy formats of
// v0-2.
func checkProducedBatches(version int16, records []byte) (protocol.ErrorCode, *string) {
	if version < 3 {
		return protocol.ErrNone, nil
	}
	it := record.NewBatches(records)
	n := 0
	for it.Next() {
		if n++; n > 1 {
			return protocol.ErrInvalidRecord, ptr(fmt.Sprintf("Produce requests with version %d are only allowed to contain exactly one record batch per partition", version))
		}
		if h := it.Header(); h.Attributes.Codec() == record.CodecZstd && version < 7 {
			return protocol.ErrUnsupportedCompressionType, ptr(fmt.Sprintf("Produce requests with version %d cannot carry zstd-compressed records (version 7 and later can)", version))
		}
	}
	switch err := it.Err(); {
	case errors.Is(err, record.ErrLegacyFormat):
		return protocol.ErrInvalidRecord, ptr(fmt.Sprintf("Produce requests with version %d are only allowed to contain record batches with magic version 2", version))
	case n == 0 && err == nil:
		return protocol.ErrInvalidRecord, ptr(fmt.Sprintf("Produce requests with version %d must have at least one record batch per partition", version))
	}
	return protocol.ErrNone, nil
}
