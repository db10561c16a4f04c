"""Error codes (``codes``), the exception tree (``exceptions``) and retry with backoff (``retry``)."""

from basiskit.errors.codes import REGISTRY, ErrorCode, Policy, Severity, lookup
from basiskit.errors.exceptions import (BasiskitError, DecisionFailed, DuplicateOrderId, FeedUnavailable,
                                        IllegalTransition, InternalError, InvalidInput, OrderGenerationFailed,
                                        OrderRejected, RetryWithBackoff, RunConflict, RunFilesMissing, RunInterrupted,
                                        RunNotFound, SkipDecision, StopRun, StoreUnavailable, VenueUnavailable)

__all__ = ["REGISTRY", "ErrorCode", "Policy", "Severity", "lookup", "BasiskitError", "StopRun", "InvalidInput",
           "RunNotFound", "RunConflict", "RunInterrupted", "RunFilesMissing", "InternalError", "SkipDecision", "DecisionFailed",
           "OrderGenerationFailed", "OrderRejected", "IllegalTransition", "DuplicateOrderId", "RetryWithBackoff",
           "VenueUnavailable", "FeedUnavailable", "StoreUnavailable"]
