// Command gcis-bridge is the event bridge between Gentrack's billing systems
// (Velocity, Junifer) on NATS JetStream and each tenant's Salesforce org.
//
// Exit codes: 0 success, 1 runtime failure (including an invalid
// configuration file), 2 bad invocation (unknown command or flag, bad flag
// value).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if isUsage(err) {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		c, _, ferr := root.Find(args)
		if ferr != nil || c == nil {
			c = root
		}
		fmt.Fprintln(stderr)
		fmt.Fprint(stderr, c.UsageString())
		return 2
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	return 1
}

// flagError marks cobra's own usage errors (unknown flag, bad value).
type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }

// isUsage reports whether err is a bad invocation (exit 2).
func isUsage(err error) bool {
	var fe flagError
	var ue usageError
	if errors.As(err, &fe) || errors.As(err, &ue) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument", "accepts ", "requires at least", "requires exactly", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "gcis-bridge",
		Short: "Bridge Gentrack billing events on NATS JetStream to tenants' Salesforce orgs",
		Long: `gcis-bridge reads Velocity and Junifer business events from NATS JetStream,
reshapes them into the managed-package events of the Salesforce package gtx_bu,
and delivers them to each tenant's own Salesforce org. Events that cannot be
delivered go to a dead-letter stream that operators inspect and replay.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
	root.AddCommand(newServeCmd(), newDemoCmd(), newPublishCmd(), newDLQCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "gcis-bridge %s\n", version)
			return nil
		},
	}
}
