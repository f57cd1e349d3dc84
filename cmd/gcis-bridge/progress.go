package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newProgress returns a progress bar on w (counts, rate, ETA) for total
// items of the given unit, or a bar that draws nothing when visible is
// false (w is not a terminal, so redraws would only litter a log).
func newProgress(w io.Writer, total int, desc, unit string, visible bool) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}
