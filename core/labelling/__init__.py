"""Labelling: sort a folder of unlabelled images, ask about those that teach the model most, grow a new dataset.

The contract the command line and the window use (docs in each module): :class:`LabellingSession`,
:func:`suggest`, :func:`import_labels`, :func:`read_labels_csv` and the records they pass around.
"""

from __future__ import annotations

from foveal.core.labelling.importer import import_labels
from foveal.core.labelling.records import (
    LABELS_CSV,
    Answer,
    ImportSummary,
    LabelRow,
    Round,
    Status,
    Suggestion,
    read_labels_csv,
)
from foveal.core.labelling.session import LabellingSession, suggest

__all__ = ["LABELS_CSV", "Answer", "ImportSummary", "LabelRow", "LabellingSession", "Round", "Status", "Suggestion",
           "import_labels", "read_labels_csv", "suggest"]
