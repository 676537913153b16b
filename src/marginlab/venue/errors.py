"""Rejections of the venue in Binance's terms: a negative ``code`` and Binance's own ``msg``.

The front end maps these (and the engine's own errors) to HTTP in one place (``marginlab.api.errors``).
"""

from __future__ import annotations

from marginlab.errors import MarginLabError

MESSAGES: dict[int, str] = {
    -1003: "Too many requests; current limit is {limit} requests per minute.",
    -1000: "An unknown error occured while processing the request.",
    -1020: "This operation is not supported.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1102: "Mandatory parameter '{param}' was not sent, was empty/null, or malformed.",
    -1111: "Precision is over the maximum defined for this asset.",
    -1116: "Invalid orderType.",
    -1117: "Invalid side.",
    -1121: "Invalid symbol.",
    -1130: "Invalid data sent for a parameter.",
    -2011: "Unknown order sent.",
    -2014: "API-key format invalid.",
    -2015: "Invalid API-key, IP, or permissions for action.",
    -2013: "Order does not exist.",
    -2019: "Margin is insufficient.",
    -2021: "Order would immediately trigger.",
    -2022: "ReduceOnly Order is rejected.",
    -2027: "Exceeded the maximum allowable position at current leverage.",
    -4028: "Leverage {leverage} is not valid",
    -4046: "No need to change margin type.",
    -4047: "Margin type cannot be changed if there exists open orders.",
    -4048: "Margin type cannot be changed if there exists position.",
    -4049: "Add margin only support for isolated position.",
    -4050: "Cross balance insufficient.",
    -4051: "Isolated balance insufficient.",
    -4054: "Cannot add position margin: position is 0.",
    -4055: "Amount must be positive.",
    -4059: "No need to change position side.",
    -4061: "Order's position side does not match user's setting.",
    -4067: "Position side cannot be changed if there exists open orders.",
    -4068: "Position side cannot be changed if there exists position.",
    -4116: "ClientOrderId is duplicated.",
    -4164: "Order's notional must be no smaller than {notional} (unless you choose reduce only).",
    -5022: "Due to the order could not be executed as maker, the Post Only order will be rejected.",
}


class VenueError(MarginLabError):
    """A request the venue refuses, with Binance's code and message.

    Parameters
    ----------
    code : int
        Binance error code (negative).
    detail : str or None
        Extra explanation appended in parentheses (the engine's reason); never a secret.
    **fields
        Values for the placeholders of the message (``param``, ``leverage``, …).
    """

    def __init__(self, code: int, detail: str | None = None, **fields: object) -> None:
        template = MESSAGES.get(code, "An unknown error occured while processing the request.")
        message = template.format(**fields) if fields else template
        if detail and code not in (
            -4046,
        ):  # -4046 needs Binance's exact text for ccxt's MarginModeAlreadySet
            message = f"{message} ({detail})"
        super().__init__(message)
        self.code = code
        self.msg = message


def missing(param: str) -> VenueError:
    """Return the -1102 error for a missing or malformed parameter."""
    return VenueError(-1102, param=param)
