// This module is never built. It pins the upstream modules whose CustomResourceDefinitions the test
// bed loads into its API server (and the unit tests validate against), so that `go mod download -json`
// fetches them, checked against go.sum, and testbed/crds.ts reads their manifests from the module
// cache, as envtest users do. Do not run `go mod tidy` here: with no Go code it would drop them all.
// Keep versions equal to what plinth deploys (src/catalog pins the charts to these).
module plinth.dev/testbed/crds

go 1.26.7

require (
	github.com/cert-manager/cert-manager v1.21.2
	github.com/cloudnative-pg/cloudnative-pg v1.28.2
	github.com/cloudnative-pg/plugin-barman-cloud v0.15.0
	github.com/k3s-io/helm-controller v0.17.9
	github.com/traefik/traefik/v3 v3.7.13
)
