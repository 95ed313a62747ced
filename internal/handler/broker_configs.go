package handler

import (
	"strconv"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// cfgBrokerCheck is what Kafka's broker checks of a broker resource before
// it hands the change to the controller (ConfigAdminManager.preprocess):
// a named resource must be this broker, where admin clients send it; and
// a change to the log cleaner's dynamic keys must suit the cleaner this
// broker runs (config.CheckCleanerChange). next is the resource's whole
// dynamic configuration after the change (nil when the changes do not
// apply: only the name is checked then). It returns nil to let the
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
	if next == nil || err != nil {
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
