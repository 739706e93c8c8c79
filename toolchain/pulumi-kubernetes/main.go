// Command pulumi-resource-kubernetes serves pulumi-kubernetes' provider. Upstream's own main
// (provider/cmd/pulumi-resource-kubernetes) embeds schema files its Makefile generates, which the
// module proxy's copy lacks, so this one embeds the committed schema.json that the toolchain
// build copies beside it, and serves the same provider package.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var pulumiSchema []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, nil)
}
