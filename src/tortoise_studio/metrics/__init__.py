"""Watch: the metrics schema and its writer for the trainer (writer.py, no pandas), and the reading side:
any metrics source incrementally and the `metrics` command (reader.py), what a viewer draws (series.py),
the predecessor's DLAS / ai-voice-cloning logs (dlas_logs.py). The reading side imports writer.py,
never the other way."""
