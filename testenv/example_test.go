package testenv_test

import (
	"fmt"

	"github.com/profdiff/profdiff/testenv"
)

// What a stack and its load will run with, before any is started: how a
// calibration describes its setup.
func ExampleOptions_WithDefaults() {
	o, err := testenv.Options{CPURate: 250}.WithDefaults()
	if err != nil {
		panic(err)
	}
	load := testenv.LoadOptions{}.WithDefaults(o.UploadInterval)
	fmt.Println(o.Backend, len(o.Services), "services,", o.CPURate, "Hz,", o.UploadInterval, "windows")
	fmt.Println(load.Rate, "req/s for", load.Duration, "after", load.Warmup)
	// Output:
	// local 7 services, 250 Hz, 5s windows
	// 500 req/s for 1m0s after 5s
}
