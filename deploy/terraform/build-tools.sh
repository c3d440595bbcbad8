#!/usr/bin/env bash
# Builds OpenTofu and the kreuzwerker/docker provider from the Go module proxy
# and installs the provider into a filesystem mirror, for machines that reach
# no Terraform registry. Both are cached: a second run with the same versions
# builds nothing. Prints the environment to use, e.g.
#
#   eval "$(deploy/terraform/build-tools.sh)"
#   tofu -chdir=deploy/terraform init
#
# Neither tag of the provider's v4 line is a Go module version (its module
# path has no /v4 and its go.mod names github.com/terraform-providers/...), so
# the proxy serves only pseudo-versions of its default branch; the newest is
# the commit after v4.6.0 below, installed as 4.6.0. OpenTofu's go.mod has a
# replace directive, so `go install ...@version` refuses it; both are built
# from a throwaway module that requires them instead.
#
# Measured on a 2-core machine: OpenTofu 17.5 CPU-minutes, the provider 9.6
# (downloads included); cached runs take under a second.
set -euo pipefail

TOFU_VERSION=v1.12.6
PROVIDER_MODULE=github.com/kreuzwerker/terraform-provider-docker
PROVIDER_PSEUDO=v0.0.0-20260916201441-96d331c98ff4
PROVIDER_VERSION=4.6.0
HCL_REPLACE='github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828'

cache=${PROFDIFF_TOFU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/profdiff/terraform}
bin=$cache/bin
mirror=$cache/plugins
platform=$(go env GOOS)_$(go env GOARCH)
pdir=$mirror/registry.opentofu.org/kreuzwerker/docker/$PROVIDER_VERSION/$platform
pbin=$pdir/terraform-provider-docker_v$PROVIDER_VERSION
mkdir -p "$bin" "$pdir"

stamp() { [ -x "$1" ] && [ "$(cat "$1.version" 2>/dev/null)" = "$2" ]; }

build() { # name wantpath moduleblock pkg tags ldflags
  local name=$1 out=$2 gomod=$3 pkg=$4 tags=$5 ldflags=$6 dir
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  printf '%s\n' "$gomod" > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$dir/tools.go"
  echo "build-tools: building $name (slow the first time: several CPU-minutes)" >&2
  local start=$SECONDS
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy >&2 &&
    CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg" >&2)
  mv "$out.tmp" "$out"
  echo "build-tools: built $name in $((SECONDS - start)) s" >&2
}

if ! stamp "$bin/tofu" "$TOFU_VERSION"; then
  build "OpenTofu $TOFU_VERSION" "$bin/tofu" "module profdiff.local/tofubuild

go 1.26

require github.com/opentofu/opentofu $TOFU_VERSION

replace $HCL_REPLACE" github.com/opentofu/opentofu/cmd/tofu "" "-X github.com/opentofu/opentofu/version.dev=no"
  echo "$TOFU_VERSION" > "$bin/tofu.version"
fi

if ! stamp "$pbin" "$PROVIDER_PSEUDO"; then
  # no_compose leaves out the provider's docker_compose resource and its
  # large dependency tree; the module uses containers, networks, volumes.
  build "terraform-provider-docker $PROVIDER_VERSION ($PROVIDER_PSEUDO)" "$pbin" "module profdiff.local/providerbuild

go 1.25.8

require github.com/terraform-providers/terraform-provider-docker $PROVIDER_PSEUDO

replace github.com/terraform-providers/terraform-provider-docker => $PROVIDER_MODULE $PROVIDER_PSEUDO" \
    github.com/terraform-providers/terraform-provider-docker no_compose "-X main.version=$PROVIDER_VERSION"
  echo "$PROVIDER_PSEUDO" > "$pbin.version"
fi

# A CLI configuration that installs providers only from the mirror.
cat > "$cache/tofurc" <<EOC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.opentofu.org/kreuzwerker/docker"]
  }
}
EOC
echo "export PATH=\"$bin:\$PATH\" TF_CLI_CONFIG_FILE=\"$cache/tofurc\""
