package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestMainCommands(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{args: nil, code: 2, inStderr: "usage: sluice"},
		{args: []string{"version"}, code: 0, inStdout: "sluice " + Version},
		{args: []string{"bogus"}, code: 2, inStderr: `unknown command "bogus"`},
		{args: []string{"help"}, code: 0, inStdout: "commands:"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(c.args, strings.NewReader(""), &out, &errb)
		if code != c.code {
			t.Errorf("Main(%q) = %d, want %d", c.args, code, c.code)
		}
		if c.inStdout != "" && !strings.Contains(out.String(), c.inStdout) {
			t.Errorf("Main(%q) stdout %q lacks %q", c.args, out.String(), c.inStdout)
		}
		if c.inStderr != "" && !strings.Contains(errb.String(), c.inStderr) {
			t.Errorf("Main(%q) stderr %q lacks %q", c.args, errb.String(), c.inStderr)
		}
	}
}
