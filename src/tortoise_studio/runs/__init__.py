"""Runs: starting, finding, stopping and listing training runs (launch.py: the RunService the CLI and the
UI share), a run's state read from its folder (status.py), process groups via /proc (process.py), the
checkpoint and fine-tune listing (checkpoints.py) and the TensorBoard servers a UI owns (tensorboards.py)."""
