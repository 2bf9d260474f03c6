"""Turning metric columns into what a viewer draws: fewer points, smoothed curves, an overfitting warning."""

from __future__ import annotations

import numpy as np
import pandas as pd

VALIDATIONS_RISING = 3  # the warning needs this many validations in a row with rising mel loss


def downsample(df: pd.DataFrame, x: str = "step", columns: list[str] | None = None,
               max_points: int = 2000) -> pd.DataFrame:
    """At most about `max_points` rows of `df`, keeping each bucket's min and max of every column.

    Peaks and dips survive (a loss spike stays visible) and the first and last rows are always kept,
    so a 1,000,000-step run draws as fast as a small one and looks the same.
    """
    n = len(df)
    if n <= max_points:
        return df
    columns = [c for c in (columns or df.columns) if c != x and c in df and _numeric(df[c])]
    buckets = max(1, (max_points - 2) // (2 * max(1, len(columns))))
    bucket = np.arange(n) * buckets // n
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    keep = [np.array([0, n - 1])]
    for column in columns:
        values = df[column].to_numpy(dtype="float64", na_value=np.nan)
        for reduce in (np.fmin, np.fmax):  # fmin/fmax skip NaN, so a gap does not swallow a bucket
            extreme = reduce.reduceat(values, starts)
            hits = np.flatnonzero(values == extreme[bucket])
            if len(hits):
                _, first = np.unique(bucket[hits], return_index=True)
                keep.append(hits[first])
    return df.iloc[np.unique(np.concatenate(keep))]


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def ema_smooth(values, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased so the curve starts at the data.

    last = last * weight + (1 - weight) * v, divided by (1 - weight ** count) -- which is exactly pandas'
    `ewm(alpha=1 - weight, adjust=True)`; non-finite values are skipped as TensorBoard skips them.
    """
    values = np.asarray(values, dtype="float64")
    if weight <= 0 or len(values) == 0:
        return values
    weight = min(float(weight), 0.999)
    finite = np.isfinite(values)
    smoothed = values.copy()
    smoothed[finite] = pd.Series(values[finite]).ewm(alpha=1.0 - weight, adjust=True).mean().to_numpy()
    return smoothed


def overfitting_warning(train_df: pd.DataFrame, val_df: pd.DataFrame, *, loss: str = "loss_mel_ce") -> str | None:
    """A warning when validation `loss` rose over the last 3 validations while training `loss` fell."""
    if loss not in val_df or loss not in train_df:
        return None
    val = val_df[["step", loss]].dropna()
    train = train_df[["step", loss]].dropna()
    if len(val) < VALIDATIONS_RISING or train.empty:
        return None
    last = val.tail(VALIDATIONS_RISING)
    steps, losses = last["step"].to_numpy(), last[loss].to_numpy()
    if not np.all(np.diff(losses) > 0):
        return None
    # training loss around the first and the last of those validations (mean of the rows up to each)
    before = val["step"].iloc[-VALIDATIONS_RISING - 1] if len(val) > VALIDATIONS_RISING else -np.inf
    early = train[(train["step"] > before) & (train["step"] <= steps[0])][loss]
    late = train[(train["step"] > steps[-2]) & (train["step"] <= steps[-1])][loss]
    if early.empty or late.empty or not late.mean() < early.mean():
        return None
    best = val.loc[val[loss].idxmin()]
    return (f"Possible overfitting: validation mel loss rose over the last {VALIDATIONS_RISING} validations "
            f"({' → '.join(f'{v:.3f}' for v in losses)}, steps {steps[0]}–{steps[-1]}) while training mel loss fell "
            f"({early.mean():.3f} → {late.mean():.3f}). The best validation so far was at step {int(best['step'])}.")


# The best checkpoint by the evaluator's scores (docs/training.md): the lowest CER among checkpoints within
# SIMILARITY_BAND of the best voice similarity.
SIMILARITY_BAND = 0.02
WORSE_IN_A_ROW = 2  # the warning needs this many evaluations after the best that are clearly worse
CLEARLY_WORSE_CER = 0.05


def _scored(rows: pd.DataFrame) -> pd.DataFrame:
    """The last row of each checkpoint step (an evaluation done again replaces the earlier one)."""
    if rows is None or rows.empty or not {"step", "cer", "similarity"} <= set(rows.columns):
        return pd.DataFrame(columns=["step", "cer", "similarity"])
    rows = rows.dropna(subset=["cer", "similarity"]).drop_duplicates("step", keep="last")
    return rows[rows["step"] > 0].sort_values("step")


def best_step(rows: pd.DataFrame) -> int | None:
    """The best checkpoint's step by the rule above, or None before any checkpoint was evaluated."""
    scored = _scored(rows)
    if scored.empty:
        return None
    band = scored[scored["similarity"] >= scored["similarity"].max() - SIMILARITY_BAND]
    ranked = band.assign(neg_sim=-band["similarity"]).sort_values(["cer", "neg_sim", "step"])
    return int(ranked["step"].iloc[0])


def candidate_steps(rows: pd.DataFrame) -> set[int]:
    """Checkpoints that can still become the best as more are evaluated: those no other checkpoint
    beats on both scores (any one that is beaten is never chosen while the one beating it exists)."""
    scored = _scored(rows)
    keep = set()
    for row in scored.itertuples():
        beaten = scored[(scored["similarity"] >= row.similarity) & (scored["cer"] <= row.cer)
                        & ((scored["similarity"] > row.similarity) | (scored["cer"] < row.cer))]
        if beaten.empty:
            keep.add(int(row.step))
    return keep


def eval_warning(rows: pd.DataFrame) -> str | None:
    """The overfitting warning from the scores: the last evaluations after the best are all clearly less
    intelligible than it (its CER + CLEARLY_WORSE_CER or more)."""
    scored = _scored(rows)
    best = best_step(rows)
    if best is None:
        return None
    after = scored[scored["step"] > best]
    if len(after) < WORSE_IN_A_ROW:
        return None
    best_cer = float(scored.loc[scored["step"] == best, "cer"].iloc[0])
    last = after.tail(WORSE_IN_A_ROW)
    if not (last["cer"] >= best_cer + CLEARLY_WORSE_CER).all():
        return None
    shown = ", ".join(f"{c:.2f} at step {int(s)}" for s, c in zip(last["step"], last["cer"]))
    return (f"Checkpoints after step {best} are less intelligible: CER {best_cer:.2f} at step {best}, then {shown}. "
            f"The model may be overfitting; step {best} is marked best.")
