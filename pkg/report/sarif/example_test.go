package sarif_test

import (
	"fmt"

	"github.com/profdiff/profdiff/pkg/report/sarif"
)

// Profiles name source files as the build saw them; Rel turns them into the
// repository paths code scanning and annotations need.
func ExampleLocator_Rel() {
	loc := sarif.Locator{Root: "/home/runner/work/shop/shop", Module: "github.com/acme/shop"}
	for _, file := range []string{
		"/home/runner/work/shop/shop/cart/total.go", // built in the checkout
		"github.com/acme/shop/cart/total.go",        // built with -trimpath
		"/src/github.com/acme/shop/cart/total.go",   // built in a container's GOPATH
		"runtime/malloc.go",                         // the Go runtime: not in the repository
	} {
		rel, ok := loc.Rel(file)
		fmt.Println(rel, ok)
	}
	// Output:
	// cart/total.go true
	// cart/total.go true
	// cart/total.go true
	// runtime/malloc.go false
}
