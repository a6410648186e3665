"""Self-contained HTML reports: the tearsheet of a replay run and the page of a validation scorecard."""
