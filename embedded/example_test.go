package embedded_test

import (
	"context"
	"fmt"
	"log"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-mq/sluice/embedded"
)

// Example starts a broker, creates a topic, produces a record with a
// Kafka client and reads it back.
func Example() {
	ctx := context.Background()
	b, err := embedded.Start(embedded.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic(ctx, "greetings", 1, nil); err != nil {
		log.Fatal(err)
	}

	client, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()),
		kgo.DefaultProduceTopic("greetings"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"greetings": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := client.ProduceSync(ctx, &kgo.Record{Value: []byte("hello, sluice")}).FirstErr(); err != nil {
		log.Fatal(err)
	}
	record := client.PollFetches(ctx).Records()[0]
	fmt.Printf("%s at offset %d\n", record.Value, record.Offset)
	// Output: hello, sluice at offset 0
}
