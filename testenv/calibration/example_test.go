package calibration_test

import (
	"fmt"

	"github.com/profdiff/profdiff/testenv/calibration"
)

// Thresholds per profile group or type, as `bankstack calibrate
// --thresholds` reads them to evaluate the whole gate on a calibration's
// runs; "off" leaves a type ungated.
func ExampleParseThresholds() {
	th, err := calibration.ParseThresholds("cpu=10%,lock=0.5,mutex_count=off")
	if err != nil {
		panic(err)
	}
	fmt.Println(th["cpu"], th["lock"], th["mutex_count"])
	// Output: 0.1 0.5 +Inf
}
