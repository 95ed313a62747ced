package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-mq/sluice/internal/admin"
)

// adminCmd is one run of an admin command (`sluice topic list …`): its
// names for messages, its flags and its output.
type adminCmd struct {
	noun, cmd      string // "topic", "list"
	usage          string
	fs             *flag.FlagSet
	af             adminFlags
	stdout, stderr io.Writer
}

// newAdminCmd takes the subcommand from args[0], with the flags every
// admin command has; nil after printing the usage when there is none.
func newAdminCmd(noun, usage string, args []string, stdout, stderr io.Writer) *adminCmd {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return nil
	}
	a := &adminCmd{noun: noun, cmd: args[0], usage: usage, stdout: stdout, stderr: stderr}
	a.fs = flag.NewFlagSet(noun+" "+a.cmd, flag.ContinueOnError)
	a.fs.SetOutput(stderr)
	a.af.register(a.fs)
	return a
}

// unknown reports an unknown subcommand; the exit code is 2.
func (a *adminCmd) unknown() int {
	fmt.Fprintf(a.stderr, "sluice %s: unknown command %q\n\n%s", a.noun, a.cmd, a.usage)
	return 2
}

// usageErr reports a usage error; the exit code is 2.
func (a *adminCmd) usageErr(format string, args ...any) int {
	return usageFailure(a.stderr, a.noun+" "+a.cmd, a.usage, format, args...)
}

// commandFlags is the flag set of command name (as in "sluice name"):
// errors and usage go to stderr.
func commandFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { io.WriteString(stderr, usage) }
	return fs
}

// usageFailure reports a usage error of command name, then its usage;
// the exit code is 2.
func usageFailure(stderr io.Writer, name, usage, format string, args ...any) int {
	fmt.Fprintf(stderr, "sluice %s: %s\n\n%s", name, fmt.Sprintf(format, args...), usage)
	return 2
}

// names parses the flags and the names among them, of which want are
// needed: 0 none, 1 exactly one, -1 at least one. ok=false after a usage
// error.
func (a *adminCmd) names(args []string, want int) ([]string, bool) {
	names, err := parseInterleaved(a.fs, args)
	if err != nil {
		return nil, false
	}
	if (want == 0 && len(names) > 0) || (want == 1 && len(names) != 1) || (want < 0 && len(names) == 0) {
		a.usageErr("wrong number of %s names (%d)", a.noun, len(names))
		return nil, false
	}
	return names, true
}

// dial connects to the cluster; nil after reporting the failure.
func (a *adminCmd) dial() *admin.Client {
	cl, err := a.af.dial()
	if err != nil {
		a.fail(err)
		return nil
	}
	return cl
}

// fail reports err; the exit code is 1.
func (a *adminCmd) fail(err error) int {
	fmt.Fprintf(a.stderr, "sluice %s %s: %v\n", a.noun, a.cmd, err)
	return 1
}

// emit prints v as JSON with --json, else as table prints it.
func (a *adminCmd) emit(v any, table func(io.Writer)) int {
	if a.af.json {
		writeJSON(a.stdout, v)
	} else {
		table(a.stdout)
	}
	return 0
}

// emitFound prints what a describe found (n things; nothing when none),
// then reports err if there is one: some names may describe while
// others fail.
func (a *adminCmd) emitFound(n int, v any, table func(io.Writer), err error) int {
	if n > 0 {
		a.emit(v, table)
	}
	if err != nil {
		return a.fail(err)
	}
	return 0
}

// done reports a change made to the named things: a line of text, or
// with --json {"ok": true, "<noun>s": names}.
func (a *adminCmd) done(names []string, msg string, args ...any) int {
	return a.emit(map[string]any{"ok": true, a.noun + "s": names}, func(w io.Writer) { fmt.Fprintf(w, msg+"\n", args...) })
}

// joinNames lists names for a message.
func joinNames(names []string) string { return strings.Join(names, ", ") }
