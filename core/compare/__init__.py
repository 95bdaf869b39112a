"""Which backbone suits my images: each candidate's frozen features scored with the automatic head by
cross-validation, ranked, with a recommendation (``foveal compare``; the window's *Compare backbones*)."""

from foveal.core.compare.candidates import Candidate, default_candidates, parse_candidates
from foveal.core.compare.result import Comparison, Row
from foveal.core.compare.run import (
    CandidateDone,
    CandidateProgress,
    CompareFinished,
    CompareStarted,
    compare_backbones,
    default_compare_path,
)

__all__ = ["Candidate", "CandidateDone", "CandidateProgress", "CompareFinished", "CompareStarted", "Comparison",
           "Row", "compare_backbones", "default_candidates", "default_compare_path", "parse_candidates"]
