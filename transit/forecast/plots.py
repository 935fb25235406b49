"""PNG plots of an evaluation: error of every method, predicted vs actual, interval coverage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from transit.forecast.evaluate import EvaluationResult


def write_plots(result: EvaluationResult, stem: Path) -> list[Path]:
    """Write ``<stem>_errors.png``, ``<stem>_predicted_vs_actual.png``, ``<stem>_coverage.png``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    report = result.report
    lstm = report["lstm"]
    test = result.test
    written: list[Path] = []

    fig = errors_figure(report)
    written.append(_save(fig, stem, "errors"))

    prediction = result.predictions[lstm]
    fig = predicted_vs_actual_figure(
        (test.sched_minutes + test.tt_resid, test.sched_minutes + prediction.tt_resid),
        (test.arr_delay, prediction.arr_delay), lstm,
    )
    written.append(_save(fig, stem, "predicted_vs_actual"))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    assert prediction.arr_q10 is not None and prediction.arr_q90 is not None
    assert prediction.tt_q10 is not None and prediction.tt_q90 is not None
    width = prediction.arr_q90 - prediction.arr_q10
    edges = np.unique(np.percentile(width, np.linspace(0, 100, 11)))
    bins = np.clip(np.digitize(width, edges[1:-1]), 0, len(edges) - 2)
    inside = (test.arr_delay >= prediction.arr_q10) & (test.arr_delay <= prediction.arr_q90)
    inside_tt = (test.tt_resid >= prediction.tt_q10) & (test.tt_resid <= prediction.tt_q90)
    share = [float(inside[bins == b].mean()) if (bins == b).any() else np.nan
             for b in range(len(edges) - 1)]
    ax.plot(range(1, len(share) + 1), share, marker="o", label="arrival, by range width decile")
    ax.axhline(float(inside.mean()), color="C0", linestyle="--", label=f"arrival overall {inside.mean():.1%}")
    ax.axhline(float(inside_tt.mean()), color="C1", linestyle="--",
               label=f"travel time overall {inside_tt.mean():.1%}")
    ax.axhspan(0.75, 0.85, color="green", alpha=0.1, label="target 75-85%")
    ax.set_ylim(0, 1)
    ax.set_xlabel("decile of the forecast 10-90% range width")
    ax.set_ylabel("share of test trips inside the range")
    ax.set_title("Interval coverage")
    ax.legend(loc="lower right")
    fig.tight_layout()
    written.append(_save(fig, stem, "coverage"))
    return written


def errors_figure(report: dict[str, Any]) -> Any:
    """MAE and RMSE of every method, each bar labelled with its value (methods often differ
    by hundredths of a minute), the legend above the bars rather than over the last ones."""
    import matplotlib.pyplot as plt

    names = list(report["methods"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, key, title in ((axes[0], "tt", "Travel time"), (axes[1], "arr", "Arrival delay")):
        mae = [report["methods"][n][f"{key}_mae"] for n in names]
        rmse = [report["methods"][n][f"{key}_rmse"] for n in names]
        x = np.arange(len(names))
        for offset, values, label in ((-0.2, mae, "MAE"), (0.2, rmse, "RMSE")):
            bars = ax.bar(x + offset, values, 0.4, label=label)
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_ylabel("minutes")
        # Room above the tallest bar for its label and the legend.
        ax.set_ylim(0, max([*mae, *rmse, 0.0]) * 1.32 or 1.0)
        ax.set_title(f"{title}: error on {report['test_rows']:,} test trips")
        ax.legend(loc="upper center", ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def predicted_vs_actual_figure(
    travel: tuple[np.ndarray, np.ndarray], arrival: tuple[np.ndarray, np.ndarray], method: str
) -> Any:
    """Forecast against actual, on the same scale on both axes (the diagonal is a perfect
    forecast), limited to the middle 99% of the actual values; the title says how many trips
    lie beyond the axes and how many are drawn."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.4))
    for ax, (actual, predicted), title in (
        (axes[0], travel, "Travel time (minutes)"),
        (axes[1], arrival, "Arrival delay (minutes)"),
    ):
        sample = _sample(len(actual))
        ax.scatter(actual[sample], predicted[sample], s=2, alpha=0.3)
        low = float(np.percentile(actual, 0.5))
        high = float(np.percentile(actual, 99.5))
        if high <= low:
            low, high = low - 1.0, high + 1.0
        ax.plot([low, high], [low, high], color="black", linewidth=1)
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal", adjustable="box")
        beyond = int(np.count_nonzero((actual < low) | (actual > high) | (predicted < low)
                                      | (predicted > high)))
        ax.set_xlabel("actual")
        ax.set_ylabel(f"forecast ({method}, median)")
        shown = f"{len(sample):,} of {len(actual):,} trips drawn" if len(sample) < len(actual) \
            else f"{len(actual):,} trips"
        ax.set_title(f"{title}\n{shown}; {beyond:,} beyond the axes", fontsize=10)
    fig.tight_layout()
    return fig


def _sample(n: int, size: int = 20_000) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size, replace=False))


def _save(fig: object, stem: Path, name: str) -> Path:
    import matplotlib.pyplot as plt

    path = stem.parent / f"{stem.name}_{name}.png"
    fig.savefig(path, dpi=110)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return path
