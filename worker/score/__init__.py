"""Score: the scorecard document and its pure scorer, scoring the store, and scorecard versions."""
