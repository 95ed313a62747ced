package verify

import (
	"fmt"
	"os/exec"
	"strings"
)

// netns puts each node of a cluster run in its own network namespace,
// joined by a bridge in the root namespace, so that a partition is real:
// a node cut off (its link down) reaches nobody and nobody reaches it,
// clients included, while it runs on. It needs root and iproute2.
type netns struct {
	tag    string // names: <tag>br, <tag>N, <tag>hN / <tag>nN
	nodes  int
	subnet string // the first three octets
}

// hostAddr is node i's address (i from 1).
func (n *netns) hostAddr(i int) string { return fmt.Sprintf("%s.%d", n.subnet, 10+i) }

func (n *netns) nsName(i int) string { return fmt.Sprintf("%s%d", n.tag, i) }

// prefix is the command prefix that runs a program in node i's namespace.
func (n *netns) prefix(i int) []string { return []string{"ip", "netns", "exec", n.nsName(i)} }

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupNetns creates the bridge and one namespace per node, removing
// what a previous run with the same tag may have left.
func setupNetns(tag string, nodes int, subnet string) (*netns, error) {
	n := &netns{tag: tag, nodes: nodes, subnet: subnet}
	n.close()
	br := tag + "br"
	steps := [][]string{
		{"link", "add", br, "type", "bridge"},
		{"addr", "add", subnet + ".1/24", "dev", br},
		{"link", "set", br, "up"},
	}
	for i := 1; i <= nodes; i++ {
		ns, h, c := n.nsName(i), fmt.Sprintf("%sh%d", tag, i), fmt.Sprintf("%sn%d", tag, i)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", h, "type", "veth", "peer", "name", c},
			[]string{"link", "set", c, "netns", ns},
			[]string{"link", "set", h, "master", br},
			[]string{"link", "set", h, "up"},
			[]string{"-n", ns, "addr", "add", n.hostAddr(i) + "/24", "dev", c},
			[]string{"-n", ns, "link", "set", c, "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			n.close()
			return nil, fmt.Errorf("network namespaces (cluster runs need root and iproute2): %w", err)
		}
	}
	return n, nil
}

// isolate cuts node i off (up false) or brings it back.
func (n *netns) isolate(i int, cut bool) error {
	state := "up"
	if cut {
		state = "down"
	}
	return ip("link", "set", fmt.Sprintf("%sh%d", n.tag, i), state)
}

// close removes the namespaces and the bridge (the veths go with them).
func (n *netns) close() {
	for i := 1; i <= n.nodes; i++ {
		_ = exec.Command("ip", "netns", "del", n.nsName(i)).Run()
		_ = exec.Command("ip", "link", "del", fmt.Sprintf("%sh%d", n.tag, i)).Run()
	}
	_ = exec.Command("ip", "link", "del", n.tag+"br").Run()
}
