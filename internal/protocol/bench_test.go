package protocol

import (
	"fmt"
	"testing"
)

// produceBody encodes a Produce request carrying 1 MiB of record bytes
// split over partitions.
func produceBody(b *testing.B, version int16, partitions int) []byte {
	records := make([]byte, (1<<20)/partitions)
	req := &ProduceRequest{Acks: -1, TimeoutMs: 30000, TopicData: []ProduceRequestTopicProduceData{{Name: "bench"}}}
	for p := range partitions {
		req.TopicData[0].PartitionData = append(req.TopicData[0].PartitionData,
			ProduceRequestPartitionProduceData{Index: int32(p), Records: records})
	}
	body := req.AppendTo(nil, version)
	var check ProduceRequest
	if err := check.Decode(body, version); err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkDecodeProduceRequest decodes a Produce request holding 1 MiB of
// records. Records alias the frame, so the cost is independent of their
// size; the allocations are the topic and partition slices and the name.
func BenchmarkDecodeProduceRequest(b *testing.B) {
	for _, c := range []struct {
		version    int16
		partitions int
	}{{9, 1}, {9, 16}, {7, 16}} {
		b.Run(fmt.Sprintf("v%d/partitions=%d", c.version, c.partitions), func(b *testing.B) {
			body := produceBody(b, c.version, c.partitions)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var req ProduceRequest
			for b.Loop() {
				if err := req.Decode(body, c.version); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeFetchResponse encodes a Fetch response of 16 partitions
// holding 64 KiB of records each into a reused buffer.
func BenchmarkEncodeFetchResponse(b *testing.B) {
	records := make([]byte, 64<<10)
	resp := &FetchResponse{Responses: []FetchResponseFetchableTopicResponse{{Topic: "bench", TopicID: UUID{1}}}}
	for p := range 16 {
		var part FetchResponsePartitionData
		part.Default()
		part.PartitionIndex = int32(p)
		part.HighWatermark = 1 << 20
		part.Records = records
		resp.Responses[0].Partitions = append(resp.Responses[0].Partitions, part)
	}
	for _, version := range []int16{4, 12, 16} {
		b.Run(fmt.Sprintf("v%d", version), func(b *testing.B) {
			buf := resp.AppendTo(nil, version)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = resp.AppendTo(buf[:0], version)
			}
		})
	}
}

// BenchmarkDecodeMetadataResponse decodes a Metadata response describing
// 100 topics of 16 partitions, the largest routine response a client reads.
func BenchmarkDecodeMetadataResponse(b *testing.B) {
	resp := &MetadataResponse{Brokers: []MetadataResponseMetadataResponseBroker{{NodeID: 1, Host: "127.0.0.1", Port: 9092}}}
	for i := range 100 {
		topic := MetadataResponseMetadataResponseTopic{Name: ptr(fmt.Sprintf("topic-%d", i))}
		for p := range 16 {
			topic.Partitions = append(topic.Partitions, MetadataResponseMetadataResponsePartition{
				PartitionIndex: int32(p), LeaderID: 1, ReplicaNodes: []int32{1}, IsrNodes: []int32{1}})
		}
		resp.Topics = append(resp.Topics, topic)
	}
	body := resp.AppendTo(nil, 12)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var m MetadataResponse
	for b.Loop() {
		if err := m.Decode(body, 12); err != nil {
			b.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
