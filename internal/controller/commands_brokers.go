package controller

import (
	"math"
	"slices"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// ProducerIDBlockSize is the number of producer ids AllocateProducerIDs
// hands out at once (Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE).
const ProducerIDBlockSize = 1000

// ProducerIDBlock is AllocateProducerIDs' reply: ids Start..Start+Len-1
// belong to the broker.
type ProducerIDBlock struct {
	Start int64
	Len   int32
}

// AllocateProducerIDs hands broker brokerID, which must be registered
// with brokerEpoch (STALE_BROKER_EPOCH otherwise), the next block of
// producer ids; the reply is a ProducerIDBlock. Each block starts where
// the previous one ended, uncommitted blocks included, so no id is handed
// out twice.
func AllocateProducerIDs(brokerID int32, brokerEpoch int64) Command {
	return newCommand(opAllocateProducerIDs, allocateProducerIDsArgs{brokerID, brokerEpoch}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		b, ok := img.Broker(brokerID)
		if !ok {
			return nil, nil, cmdErr(protocol.ErrStaleBrokerEpoch, "No broker registration found for broker %d", brokerID)
		}
		if b.Epoch != brokerEpoch {
			return nil, nil, cmdErr(protocol.ErrStaleBrokerEpoch,
				"Expected broker epoch %d for broker %d, but got broker epoch %d", b.Epoch, brokerID, brokerEpoch)
		}
		start := img.ProducerIDs.NextProducerID
		if start > math.MaxInt64-ProducerIDBlockSize {
			return nil, nil, cmdErr(protocol.ErrUnknownServerError, "Exhausted all producerIds.")
		}
		rec := &protocol.ProducerIdsRecord{BrokerID: brokerID, BrokerEpoch: brokerEpoch, NextProducerID: start + ProducerIDBlockSize}
		return []metadata.Record{metadata.NewRecord(rec)}, ProducerIDBlock{Start: start, Len: ProducerIDBlockSize}, nil
	})
}

// BrokerRegistration is a broker's registration request.
type BrokerRegistration struct {
	ID            int32
	IncarnationID protocol.UUID
	Endpoints     []metadata.Endpoint
	Rack          *string
	// Features are the feature level ranges the broker supports; it must
	// support every finalized feature's level.
	Features []metadata.SupportedFeature
	LogDirs  []protocol.UUID
}

// RegisterBroker registers a broker, fenced, with a new broker epoch
// greater than any it had; the reply is that epoch (int64). A new
// registration replaces the previous one, whatever its incarnation, and
// takes the broker out of service as fencing does (see leaveBroker).
func RegisterBroker(reg BrokerRegistration) Command {
	return newCommand(opRegisterBroker, reg, func(img *metadata.Image) ([]metadata.Record, any, error) {
		if reg.ID < 0 {
			return nil, nil, cmdErr(protocol.ErrInvalidRequest, "Invalid broker id %d.", reg.ID)
		}
		if reg.IncarnationID == (protocol.UUID{}) {
			return nil, nil, cmdErr(protocol.ErrInvalidRequest, "Broker %d has no incarnation id.", reg.ID)
		}
		rec := &protocol.RegisterBrokerRecord{
			BrokerID:      reg.ID,
			IncarnationID: reg.IncarnationID,
			Rack:          reg.Rack,
			Fenced:        true,
			LogDirs:       slices.Clone(reg.LogDirs),
		}
		names := map[string]bool{}
		for _, e := range reg.Endpoints {
			if names[e.Name] {
				return nil, nil, cmdErr(protocol.ErrInvalidRequest, "Broker %d lists listener %s twice.", reg.ID, e.Name)
			}
			names[e.Name] = true
			rec.EndPoints = append(rec.EndPoints, protocol.RegisterBrokerRecordBrokerEndpoint{
				Name: e.Name, Host: e.Host, Port: e.Port, SecurityProtocol: e.SecurityProtocol,
			})
		}
		supported := map[string]metadata.SupportedFeature{}
		for _, f := range reg.Features {
			if _, dup := supported[f.Name]; dup {
				return nil, nil, cmdErr(protocol.ErrInvalidRequest, "Broker %d lists feature %s twice.", reg.ID, f.Name)
			}
			supported[f.Name] = f
			rec.Features = append(rec.Features, protocol.RegisterBrokerRecordBrokerFeature{
				Name: f.Name, MinSupportedVersion: f.Min, MaxSupportedVersion: f.Max,
			})
		}
		for _, name := range img.Features.Names() {
			level, _ := img.Feature(name)
			f, ok := supported[name]
			if !ok && level == 0 || ok && f.Min <= level && level <= f.Max {
				continue
			}
			return nil, nil, cmdErr(protocol.ErrUnsupportedVersion,
				"Unable to register because the broker does not support finalized version %d of %s.", level, name)
		}
		epoch := img.Offset + 1
		if prev, ok := img.Broker(reg.ID); ok {
			epoch = max(epoch, prev.Epoch+1)
		}
		rec.BrokerEpoch = epoch
		recs := []metadata.Record{metadata.NewRecord(rec)}
		if _, ok := img.Broker(reg.ID); ok {
			// The broker registers fenced: a new process (its log may be
			// behind) or one whose registration went stale leaves every
			// ISR it was in (but the last member's place) and leads
			// nothing until it is unfenced.
			recs = append(recs, leaveBroker(img, reg.ID)...)
		}
		return recs, epoch, nil
	})
}

// UnfenceBroker unfences broker id at epoch: BROKER_ID_NOT_REGISTERED for
// an unknown broker, STALE_BROKER_EPOCH for another epoch. Unfencing an
// unfenced broker writes nothing. The broker becomes the leader of every
// partition that has none and holds it in its ISR.
func UnfenceBroker(id int32, epoch int64) Command {
	return newCommand(opUnfenceBroker, brokerEpochArgs{id, epoch}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		b, err := brokerAt(img, id, epoch)
		if err != nil {
			return nil, nil, err
		}
		if !b.Fenced {
			return nil, nil, nil
		}
		recs := []metadata.Record{metadata.NewRecord(&protocol.UnfenceBrokerRecord{ID: id, Epoch: epoch})}
		return append(recs, electOffline(img, id)...), nil, nil
	})
}

// FenceBroker fences broker id at epoch, with UnfenceBroker's errors.
// Fencing a fenced broker writes nothing. The broker leaves every ISR
// where it is not the last member, and its leaderships move to other ISR
// members (see leaveBroker).
func FenceBroker(id int32, epoch int64) Command {
	return newCommand(opFenceBroker, brokerEpochArgs{id, epoch}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		b, err := brokerAt(img, id, epoch)
		if err != nil {
			return nil, nil, err
		}
		if b.Fenced {
			return nil, nil, nil
		}
		recs := []metadata.Record{metadata.NewRecord(&protocol.FenceBrokerRecord{ID: id, Epoch: epoch})}
		return append(recs, leaveBroker(img, id)...), nil, nil
	})
}

func brokerAt(img *metadata.Image, id int32, epoch int64) (metadata.Broker, error) {
	b, ok := img.Broker(id)
	if !ok {
		return b, cmdErr(protocol.ErrBrokerIDNotRegistered, "Broker %d is not registered.", id)
	}
	if b.Epoch != epoch {
		return b, cmdErr(protocol.ErrStaleBrokerEpoch, "Expected broker epoch %d for broker %d, but got %d.", b.Epoch, id, epoch)
	}
	return b, nil
}
