"""Firm finance: a debt stock with interest and repayment, bank credit rationed on cash flow and
collateral, and the finance constraint on growth.

Banks lend up to the smaller of two limits: a loan-to-value share of the firm's tangible
assets (fixed assets are `capital_intensity` x output; R&D-heavy firms hold more intangible
assets, which banks do not take as collateral) and what the firm's operating cash flow can
service at the required debt-service coverage. Young firms that still burn cash, small firms
and R&D-heavy firms therefore get little credit, and their growth is limited by their cash and
the equity they raise. Loan-interest subsidies lower the rate a firm pays, which raises both
its cash flow and its cash-flow limit. Amounts are yuan, flows yuan per year, rates per year.
"""

from __future__ import annotations

import numpy as np


def tangible_share(rd_intensity: np.ndarray, intangible_per_rd: float) -> np.ndarray:
    """Share of a firm's assets banks accept as collateral: 1 - intangible share, where the
    intangible share rises with R&D intensity (intangible_per_rd x R&D/output, at most 0.9)."""
    return 1.0 - np.clip(intangible_per_rd * rd_intensity, 0.0, 0.9)


def credit_limit(
    output: np.ndarray,
    margin: np.ndarray,
    tangible: np.ndarray,
    capital_intensity: float,
    loan_to_value: float,
    rate: np.ndarray | float,
    amortisation: float,
    dscr_min: float,
) -> np.ndarray:
    """Largest debt (yuan) banks allow a firm.

    output: yuan/year; margin: operating margin after the firm's own costs (cash flow before
    interest per yuan of output); tangible: collateral share of assets (tangible_share);
    rate: interest rate the firm pays after subsidies (1/yr); amortisation: share of debt
    repaid a year; dscr_min: required cash flow / debt service.
    """
    collateral = loan_to_value * tangible * capital_intensity * output
    serviceable = np.maximum(margin * output, 0.0) / ((rate + amortisation) * dscr_min)
    return np.minimum(collateral, serviceable)


def finance_growth(
    cash: np.ndarray, debt: np.ndarray, limit: np.ndarray, need: np.ndarray, cash_floor: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How a firm pays for the investment its planned growth needs.

    need: investment (yuan); internal funds are cash above `cash_floor` (yuan), then new bank
    credit up to the limit. Returns (fill, from_cash, borrowed): fill in [0, 1] is the share of
    the need financed; from_cash + borrowed = fill x need.
    """
    internal = np.maximum(cash - cash_floor, 0.0)
    headroom = np.maximum(limit - debt, 0.0)
    have = internal + headroom
    with np.errstate(divide="ignore", invalid="ignore"):
        fill = np.where(need > 0.0, np.minimum(1.0, have / need), 1.0)
    spend = fill * need
    from_cash = np.minimum(spend, internal)
    return fill, from_cash, spend - from_cash


def split_funding(spend: np.ndarray, cash: np.ndarray, cash_floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(from_cash, borrowed): an investment (yuan) paid from cash above `cash_floor` first, the
    rest borrowed (the caller keeps `spend` within what finance_growth found financeable)."""
    from_cash = np.minimum(spend, np.maximum(cash - cash_floor, 0.0))
    return from_cash, spend - from_cash


def debt_service(
    debt: np.ndarray, limit: np.ndarray, rate: np.ndarray | float, amortisation: float, dt: float
) -> tuple:
    """(interest, principal) due in a step of `dt` years (yuan). Credit within the bank's limit
    is rolled over (only interest is due); debt above the limit is called in at `amortisation`
    of the debt a year."""
    principal = np.minimum(np.maximum(debt - limit, 0.0), amortisation * debt * dt)
    return rate * debt * dt, principal


def cover_shortfall(cash: np.ndarray, debt: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """New credit (yuan) drawn to bring negative cash back to zero, within the limit."""
    return np.minimum(np.maximum(-cash, 0.0), np.maximum(limit - debt, 0.0))


def excess_cash(cash: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Cash above `target` (yuan) that leaves the firm (dividends, the parent's treasury)."""
    return np.maximum(cash - target, 0.0)


def constrained(fill: np.ndarray) -> np.ndarray:
    """Firms whose planned investment could not be fully financed this step."""
    return fill < 1.0 - 1e-9
