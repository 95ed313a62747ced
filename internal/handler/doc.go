// Package handler answers Kafka requests, one file per API: it validates
// a request, calls into the replica manager, the controller or storage,
// and maps their errors to Kafka's error codes — the only place besides
// the protocol package where those codes appear.
//
// Handlers read cluster metadata from the latest image the broker has
// applied; changes (topic creation, configs) go to the controller as
// commands and the reply waits until the broker's image holds them.
package handler
