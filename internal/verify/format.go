package verify

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// FormatCluster writes one properties file per combined broker and
// controller node under dir (nodeN.properties, data in dir/nodeN): node
// i+1 serves clients on clients[i] and votes on controllers[i], with
// settings appended. It formats every data directory with bin's
// `format` under one new cluster id and returns the files' paths.
func FormatCluster(bin, dir string, clients, controllers, settings []string) ([]string, error) {
	out, err := exec.Command(bin, "random-cluster-id").Output()
	if err != nil {
		return nil, fmt.Errorf("random-cluster-id: %w", err)
	}
	clusterID := strings.TrimSpace(string(out))
	voters := make([]string, len(controllers))
	for i, c := range controllers {
		voters[i] = fmt.Sprintf("%d@%s", i+1, c)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	confs := make([]string, len(clients))
	for i := range clients {
		props := []string{
			"node.id=" + strconv.Itoa(i+1),
			"process.roles=broker,controller",
			fmt.Sprintf("listeners=PLAINTEXT://%s,CONTROLLER://%s", clients[i], controllers[i]),
			"controller.listener.names=CONTROLLER",
			"controller.quorum.voters=" + strings.Join(voters, ","),
			"log.dir=" + filepath.Join(dir, fmt.Sprintf("node%d", i+1)),
		}
		props = append(props, settings...)
		confs[i] = filepath.Join(dir, fmt.Sprintf("node%d.properties", i+1))
		if err := os.WriteFile(confs[i], []byte(strings.Join(props, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
		if out, err := exec.Command(bin, "format", "--cluster-id", clusterID, "--config", confs[i]).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("format node %d: %w: %s", i+1, err, out)
		}
	}
	return confs, nil
}
