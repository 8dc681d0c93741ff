package stabilize_test

import (
	"errors"
	"slices"
)

func slicesSort(s []string) { slices.Sort(s) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
