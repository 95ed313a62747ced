package handler

import (
	"maps"
	"strconv"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// cfgBrokerCheck is what Kafka's broker checks of a broker resource before
// it hands the change to the controller (ConfigAdminManager.preprocess):
// a named resource must be this broker, where admin clients send it; and
// a change to the log cleaner's dynamic keys must suit the cleaner this
// broker runs (config.CheckCleanerChange). next is the resource's whole
// dynamic configuration after the change. It returns nil to let the
// resource go on to the controller, which checks the keys and values.
func (h *Handler) cfgBrokerCheck(name string, next map[string]string) *cfgAlterResult {
	if name != "" {
		id, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			return cfgRefused(protocol.ErrInvalidRequest, "Node id must be an integer, but it is: "+name)
		}
		if int32(id) != h.cfg.NodeID {
			return cfgRefused(protocol.ErrInvalidRequest,
				"Unexpected broker id, expected "+strconv.Itoa(int(h.cfg.NodeID))+", but received "+name)
		}
	}
	checked, err := config.CheckDynamicBrokerConfigs(next)
	if err != nil {
		return nil // the controller refuses it, in Kafka's words
	}
	img := h.image()
	def, own := img.BrokerDefaultConfigs(), img.BrokerConfigs(h.cfg.NodeID)
	static := h.configSource().StaticCleaner()
	cur := static.With(def, own)
	if name == "" {
		def = checked
	} else {
		own = checked
	}
	if after := static.With(def, own); after != cur {
		if err := config.CheckCleanerChange(cur, after); err != nil {
			return cfgRefused(protocol.ErrInvalidRequest, err.Error())
		}
	}
	return nil
}

// cfgIncrementalNext returns a broker resource's dynamic configuration
// once r's SET and DELETE operations apply to what the metadata holds
// (the controller refuses the others for broker keys).
func (h *Handler) cfgIncrementalNext(r *protocol.IncrementalAlterConfigsRequestAlterConfigsResource) map[string]string {
	next := maps.Clone(h.image().Configs.Resource(metadata.ConfigResource{Type: metadata.ResourceBroker, Name: r.ResourceName}))
	if next == nil {
		next = map[string]string{}
	}
	for _, c := range r.Configs {
		switch controller.ConfigOp(c.ConfigOperation) {
		case controller.ConfigSet:
			if c.Value != nil {
				next[c.Name] = *c.Value
			}
		case controller.ConfigDelete:
			delete(next, c.Name)
		}
	}
	return next
}
