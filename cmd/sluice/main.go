// Command sluice is the Sluice broker and its tools in one binary.
package main

import (
	"os"

	"github.com/sluice-mq/sluice/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
