// Package buildinfo reports the version of the running profdiff build, which
// every snapshot records so a baseline says which profdiff produced it.
package buildinfo

import "runtime/debug"

// version is set at link time with -ldflags "-X .../internal/buildinfo.version=v1.2.3".
var version = ""

// Version returns the link-time version, else the module version Go recorded,
// else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
