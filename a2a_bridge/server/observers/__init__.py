"""What watches calls and turns: the metrics of /metrics, the spans of handler calls, the cost recorder."""
