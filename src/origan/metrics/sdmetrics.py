"""SDMetrics' quality report for synthetic tables (optional extra: ``pip install 'origan[sdmetrics]'``).

The same score CTGAN and SDV users report (``sdmetrics.reports.QualityReport``): *Column Shapes*
(per column, the complement of the Kolmogorov-Smirnov statistic for numbers and of the total-variation
distance for categories), *Column Pair Trends* (per pair of columns, the similarity of their correlation or
contingency table) and the overall score, their mean; every score is in [0, 1], higher is closer.

``origan eval`` runs it on table runs when sdmetrics is installed: as many decoded samples as training rows
against the decoded training rows, numeric columns as SDMetrics' ``numerical`` and one-hot columns as
``categorical`` (the run's codec decides which), beside origan's own ``table_fidelity`` report.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from torch import Tensor

from ..data.tables import TableCodec
from ..errors import ConfigError
from .registry import MetricContext, register_metric

__all__ = ["INSTALL", "installed", "quality_report", "table_frame", "table_metadata"]

INSTALL = "pip install 'origan[sdmetrics]'"
TABLE = "table"


def installed() -> bool:
    """Whether the sdmetrics package is installed (found without importing it: the import takes seconds)."""
    return importlib.util.find_spec("sdmetrics") is not None


def table_frame(codec: TableCodec, x: Any) -> Any:
    """A pandas DataFrame of encoded rows ``x`` ``(n, width)`` decoded to the table's columns."""
    import pandas as pd

    return pd.DataFrame(dict(zip(codec.names, codec.decode(x), strict=True)))


def table_metadata(codec: TableCodec) -> dict[str, Any]:
    """SDMetrics' single-table metadata: one-hot columns ``categorical``, the others ``numerical``."""
    kinds = {"categorical": "categorical", "numeric": "numerical"}
    return {"columns": {c.name: {"sdtype": kinds[c.kind]} for c in codec.columns}}


def quality_report(real: Any, synthetic: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """SDMetrics' QualityReport of two DataFrames (``metadata``: single-table, ``{"columns": ...}``): overall score
    and property scores."""
    if not installed():
        raise ConfigError(f"--metrics sdmetrics: needs the package sdmetrics ({INSTALL})")
    from sdmetrics.reports import QualityReport

    report = QualityReport()  # SDMetrics' current report takes named tables: here one
    report.generate({TABLE: real}, {TABLE: synthetic}, {"tables": {TABLE: metadata}}, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return {
        "score": float(report.get_score()),
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
        "n_real": len(real),
        "n_synthetic": len(synthetic),
    }


@register_metric(
    "sdmetrics",
    kinds=("table",),
    description="for tables, when sdmetrics is installed: SDMetrics' QualityReport (overall score, Column "
    "Shapes, Column Pair Trends; 1 = identical) of as many decoded samples as training rows",
    applies=lambda data: "codec" in data.info,
    default=installed(),
)
def sdmetrics_metric(samples: Tensor, reference: Any, ctx: MetricContext) -> dict[str, Any]:
    """The quality report of ``len(train)`` samples against the decoded training rows (the codec of
    ``reference``, the dataset; ``ctx`` is not used)."""
    codec = TableCodec.from_json(reference.info["codec"])
    real = table_frame(codec, reference.train)
    synthetic = table_frame(codec, samples[: len(reference.train)])
    return quality_report(real, synthetic, table_metadata(codec))
