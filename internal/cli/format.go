package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// setFlags collects repeated --set key=value flags.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("--set wants key=value, got %q", v)
	}
	*s = append(*s, v)
	return nil
}

// m is the settings as a map (a later key=value wins).
func (s setFlags) m() map[string]string {
	out := map[string]string{}
	for _, kv := range s {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// configFlags are the flags every command that reads the broker
// configuration takes.
type configFlags struct {
	file    string
	sets    setFlags
	dataDir string
	nodeID  int
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.file, "config", "", "server.properties file with Kafka's key names")
	fs.Var(&c.sets, "set", "override one configuration key: --set key=value (repeatable)")
	fs.StringVar(&c.dataDir, "data-dir", "", "data directory (log.dir)")
	fs.IntVar(&c.nodeID, "node-id", -1, "node id (node.id)")
}

// load reads the configuration: Kafka's defaults, the single-node
// profile when no file is given, the file, then --set and the shortcuts.
func (c *configFlags) load() (*config.Broker, error) {
	overrides := append([]string(nil), c.sets...)
	if c.dataDir != "" {
		overrides = append(overrides, "log.dir="+c.dataDir)
	}
	if c.nodeID >= 0 {
		overrides = append(overrides, "node.id="+strconv.Itoa(c.nodeID))
	}
	if c.file != "" {
		return config.LoadFile(c.file, overrides, config.ProfileKafka)
	}
	return config.Load(nil, overrides, config.ProfileSingleNode)
}

// runFormat writes meta.properties into a node's data and metadata
// directories so it can join a cluster; it refuses a directory that is
// already formatted.
func runFormat(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("format", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var cf configFlags
	cf.register(fset)
	clusterID := fset.String("cluster-id", "", "the cluster id, a base64 UUID (see sluice random-cluster-id)")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if *clusterID == "" {
		fmt.Fprintln(stderr, "sluice format: --cluster-id is required (generate one with: sluice random-cluster-id)")
		return 2
	}
	if _, err := storage.ParseUUID(*clusterID); err != nil {
		fmt.Fprintf(stderr, "sluice format: --cluster-id %q is not a base64 UUID: %v\n", *clusterID, err)
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		fmt.Fprintf(stderr, "sluice format: %v\n", err)
		return 1
	}
	dirs := []string{cfg.LogDir}
	if cfg.MetadataLogDir != cfg.LogDir {
		dirs = append(dirs, cfg.MetadataLogDir)
	}
	for _, dir := range dirs {
		mp, err := storage.ReadMetaProperties(vfs.Default, dir)
		switch {
		case err == nil:
			fmt.Fprintf(stderr, "sluice format: %s is already formatted (cluster.id %s, node.id %d); refusing to overwrite it\n", dir, mp.ClusterID, mp.NodeID)
			return 1
		case !errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stderr, "sluice format: %s: %v\n", dir, err)
			return 1
		}
	}
	for _, dir := range dirs {
		if err := storage.FormatDir(vfs.Default, dir, *clusterID, cfg.NodeID); err != nil {
			fmt.Fprintf(stderr, "sluice format: %s: %v\n", dir, err)
			return 1
		}
		fmt.Fprintf(stdout, "formatted %s: cluster.id %s, node.id %d\n", dir, *clusterID, cfg.NodeID)
	}
	return 0
}

func runRandomClusterID(stdout io.Writer) int {
	fmt.Fprintln(stdout, storage.UUIDString(storage.RandomUUID()))
	return 0
}
