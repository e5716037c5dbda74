// Command controlplane is one multi-call binary holding every server of the test bed's Kubernetes
// control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and the k3s
// helm-controller. One binary instead of six means one link step (each server alone links for about a
// minute on two cores) and one copy of the shared dependencies on disk; the servers themselves come
// unchanged from their upstream Go modules, called as libraries.
//
// Usage: controlplane <server> [flags of that server]. The first argument may also be given as the
// program name (a symlink named after the server).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "time/tzdata"

	"github.com/k3s-io/helm-controller/pkg/app"
	_ "github.com/rancher/wrangler/v3/pkg/generated/controllers/apiextensions.k8s.io"
	_ "github.com/rancher/wrangler/v3/pkg/generated/controllers/networking.k8s.io"
	wranglersignals "github.com/rancher/wrangler/v3/pkg/signals"
	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	kwoksignals "sigs.k8s.io/kwok/pkg/utils/signals"
)

// sourceHash is set by the test bed's build (-ldflags -X) to a hash of this folder's sources, so that
// changing them changes the build's cache key; `controlplane version` prints it.
var sourceHash = "dev"

var servers = map[string]func(args []string) int{
	"etcd": func(args []string) int {
		// etcdmain.Main parses os.Args itself; it exits the process on its own.
		etcdmain.Main(append([]string{"etcd"}, args...))
		return 0
	},
	"kube-apiserver": func(args []string) int {
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	},
	"kube-controller-manager": func(args []string) int {
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	},
	"kube-scheduler": func(args []string) int {
		cmd := scheduler.NewSchedulerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	},
	"kwok":            runKwok,
	"helm-controller": runHelmController,
	"pki":             runPKI,
	"version": func([]string) int {
		fmt.Println(sourceHash)
		return 0
	},
}

// runKwok mirrors sigs.k8s.io/kwok/cmd/kwok's main (a package main, so it cannot be imported).
func runKwok(args []string) int {
	// Kubernetes' packages register global flags (among them a non-boolean --version) on
	// pflag.CommandLine at init; cobra merges that set into every command, where it clashes with
	// kwok's own --version. kwok's upstream binary does not link them, so start from an empty set.
	pflag.CommandLine = pflag.NewFlagSet("kwok", pflag.ExitOnError)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}
	// kwok's config and log flags are read from os.Args by these helpers.
	os.Args = append([]string{"kwok"}, args...)
	ctx := kwoksignals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		logger.Error("Init config flags", "err", err)
		return 1
	}
	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	command.SetArgs(args)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		return 1
	}
	return 0
}

// runHelmController mirrors github.com/k3s-io/helm-controller's main (a package main).
func runHelmController(args []string) int {
	a := app.New()
	ctx := wranglersignals.SetupSignalContext()
	if err := a.RunContext(ctx, append([]string{"helm-controller"}, args...)); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "helm-controller:", err)
		return 1
	}
	return 0
}

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if _, ok := servers[name]; !ok && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	run, ok := servers[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: controlplane etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok|helm-controller|pki|version [flags]")
		os.Exit(2)
	}
	os.Exit(run(args))
}
