"""A per-agent reference implementation of the firm rules, for benchmarks and equivalence tests.

`PerAgentRules` has the four methods of `model.firm_rules.FirmRules` (`innovate`, `grow`,
`settle`, `certify`) and plugs into `ClusterModel(..., rules=PerAgentRules())`, the documented
seam between the schedule and the firm rules. Everything else (the start population, the
schedule, policy effects, funders, major projects, entry, talent, records) is ClusterModel's
own code, unchanged; no private method of ClusterModel is overridden.

Inside each method the rules are written the idiomatic Mesa way: the firm agents
(`model.agents_by_type[Firm]`) are visited in random order with `shuffle_do`, and each agent
runs its rule as scalar Python (`math`, one scalar draw at a time from the model's mechanism
streams `model.streams["innovation" | "growth" | "certify"]`, which FirmRules leaves unused:
it draws per row with `model.row_draws`). Model-level choices inside a phase (which firms get
the quarter's technology vice-presidents or incubation places) are weighted draws in scalar
Python over the agents, from the streams FirmRules uses for them ("vp", "incubation").

Where a firm's state lives: ClusterModel's funders, entry, talent and records read and write
the firm column store (model/state.py), so the rules read a firm's values from it by the
agent's `row` and write them back. To keep the per-agent arithmetic on plain Python floats,
as with state held in agent attributes, each phase takes the columns it needs as Python lists
once (`ndarray.tolist()`), the agents read and write their own entries, and the changed
columns are copied back at the end of the phase. The two copies are a few C-speed passes over
the columns (a few percent of the reference's time); per-agent list indexing costs about what
attribute access would, so this reference is not slowed by its state layout.

The rules are the same as FirmRules's, firm by firm; only the random draws come in another
order, so for the same seed the two give statistically equal, not identical, results
(tests/test_reference_equivalence.py checks 2025 outputs with a KS test).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from model.agents import Firm
from model.cluster_model import ClusterModel
from model.data import facts
from model.firm_rules import STARTUP_QUARTERS
from model.mechanisms.growth import MAX_STEP_SD, REF_OUTPUT
from model.sectors import SECTOR_INDEX

if TYPE_CHECKING:
    from mesa.agent import AgentSet

    from model.params import Params
    from model.policy import YearPolicy
    from model.scenario import Scenario
    from model.state import ColumnStore

SQRT2 = math.sqrt(2.0)
OTHER = SECTOR_INDEX["other"]


def _read(f: ColumnStore, names: Sequence[str]) -> SimpleNamespace:
    """The firm columns `names` as Python lists indexed by row."""
    return SimpleNamespace(**{name: getattr(f, name).tolist() for name in names})


def _write(f: ColumnStore, c: SimpleNamespace, names: Sequence[str]) -> None:
    """Copy the lists `names` of `c` back into the firm columns."""
    for name in names:
        getattr(f, name)[:] = getattr(c, name)


def pick_weighted(rng: np.random.Generator, items: list[Any], weights: list[float], k: int) -> list[Any]:
    """`k` distinct items drawn with probability proportional to `weights` (Efraimidis-Spirakis
    keys, one scalar draw per positive weight); the scalar twin of population.pick_weighted."""
    keyed = [(math.log(1.0 - rng.random()) / w, i) for i, w in enumerate(weights) if w > 0.0]
    return [items[i] for _, i in heapq.nlargest(k, keyed)]


class PerAgentRules:
    """FirmRules, applied by each firm agent to itself in scalar Python (see the module docstring)."""

    def __init__(self) -> None:
        self._limit: list[float] = []  # credit limit of each row this step, set in grow, used in settle
        rules_ht = facts()["rules"]["high_tech_rd_thresholds"]
        self._ht_bounds = [float(b) for b in rules_ht["revenue_bounds_yuan"]]
        self._ht_min_rd = [float(t) for t in rules_ht["min_rd_intensity"]]

    @property
    def limit(self) -> np.ndarray:
        """Credit limit (yuan) of each firm row this step, 0 for rows not alive at `grow`; its
        sum is the `credit_limit` record (records.py reads `model.rules.limit`, as FirmRules's)."""
        return np.asarray(self._limit)

    @staticmethod
    def _firms(m: ClusterModel) -> AgentSet:
        return m.agents_by_type[Firm]

    def _threshold(self, output_zone: float) -> float:
        """R&D intensity the high-tech rule requires at `output_zone` (yuan/yr, zone units)."""
        return self._ht_min_rd[bisect_left(self._ht_bounds, output_zone)]

    # ------------------------------------------------------------------ R&D and innovation
    INNOVATE_READ = ("sector", "output", "productivity", "rd_intensity", "base_rd", "has_vp", "innovations", "rd_year")
    INNOVATE_WRITE = ("output", "productivity", "rd_intensity", "has_vp", "innovations", "rd_year")

    def innovate(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Technology VPs placed; each firm draws its innovation, moves its R&D intensity and
        books the quarter's R&D spending."""
        f, p, vp = m.firms, m.params, m.streams["vp"]
        c = _read(f, self.INNOVATE_READ)
        firms = self._firms(m)
        n_vp = vp.poisson(eff.vp_per_year * m.dt * m.scale)
        if n_vp:
            agents = list(firms)
            w = [c.rd_intensity[a.row] if c.sector[a.row] != OTHER and not c.has_vp[a.row] else 0.0 for a in agents]
            for a in pick_weighted(vp, agents, w, n_vp):
                c.has_vp[a.row] = True
        reward = eff.rd_reward_rate * m.feedback.rd_payout_ratio * (1.0 - p.deadweight_rd_reward)
        k = SimpleNamespace(
            rng=m.streams["innovation"],
            dt=m.dt,
            mult=eff.innovation_multiplier.tolist(),
            vp=1.0 + p.vp_effect,
            hazard=p.innovation_hazard,
            rd_ref=m.pop["hightech_rd_ref"],
            elasticity=p.innovation_rd_elasticity,
            jump=1.0 + p.innovation_jump,
            rd_factor=[1.0 + p.rd_reward_elasticity * reward * t for t in eff.targeted.tolist()],
            rd_decay=math.exp(-p.rd_adjust_rate * m.dt),
            hits=0,
        )
        firms.shuffle_do(self._innovate_firm, c, k)
        _write(f, c, self.INNOVATE_WRITE)
        m.tally["innovations"] += k.hits

    @staticmethod
    def _innovate_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace) -> None:
        r = a.row
        s = c.sector[r]
        rd = c.rd_intensity[r]
        hazard = k.hazard * (max(rd, 0.0) / k.rd_ref) ** k.elasticity * k.mult[s] * (k.vp if c.has_vp[r] else 1.0)
        if k.rng.random() < -math.expm1(-hazard * k.dt):
            c.productivity[r] *= k.jump
            c.output[r] *= k.jump
            c.innovations[r] += 1
            k.hits += 1
        target = c.base_rd[r] * k.rd_factor[s]
        rd = c.rd_intensity[r] = target + (rd - target) * k.rd_decay
        c.rd_year[r] += rd * c.output[r] * k.dt  # R&D spent this quarter, yuan

    # ------------------------------------------------------------------ growth and its finance
    GROW_READ = (
        "sector",
        "output",
        "cash",
        "debt",
        "age",
        "rd_intensity",
        "base_rd",
        "margin",
        "anchor",
        "ramp_left",
        "ramp_target",
        "ramp_quarters",
    )
    GROW_WRITE = ("output", "cash", "debt", "ramp_left")

    def grow(self, m: ClusterModel, eff: YearPolicy, drift: np.ndarray, demand_shift: np.ndarray) -> None:
        """Each firm plans its growth, finances it from cash and bank credit, is held back by
        talent, and ramps up if it is a major project."""
        f, p, bank = m.firms, m.params, m.bank
        c = _read(f, self.GROW_READ)
        self._limit = c.limit = [0.0] * f.n
        coverage = (m.feedback.interest_coverage * (1.0 - p.deadweight_interest)).tolist()
        k = SimpleNamespace(
            rng=m.streams["growth"],
            dt=m.dt,
            sqrt_dt=math.sqrt(m.dt),
            scale=m.scale,
            sigma_floor=p.sigma_floor,
            sigma_ref=p.sigma_ref,
            beta=p.vol_size_beta,
            drift=drift.tolist(),
            shift=demand_shift.tolist(),
            penalty=p.startup_margin_penalty,
            rate=[bank.rate * (1.0 - cov) for cov in coverage],
            ltv=bank.loan_to_value,
            capital=bank.capital_intensity,
            intangible=bank.intangible_per_rd,
            amortisation=bank.amortisation,
            dscr=bank.dscr_min,
            talent_fill=[t**p.talent_constraint for t in m.feedback.talent_fill.tolist()],
            buffer=p.precautionary_cash_years,
            credit=0.0,
            investment=0.0,
            constrained=0,
        )
        firms = self._firms(m)
        firms.shuffle_do(self._grow_firm, c, k)
        _write(f, c, self.GROW_WRITE)
        m.tally["credit_granted"] += k.credit
        m.tally["investment"] += k.investment
        m.tally["constrained_firm_quarters"] += k.constrained
        m.tally["firm_quarters"] += len(firms)

    @staticmethod
    def _grow_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace) -> None:
        r = a.row
        s = c.sector[r]
        out = c.output[r]
        rd = c.rd_intensity[r]
        ramping = c.ramp_left[r] > 0
        if ramping:
            lg = 0.0  # major projects follow their ramp-up
        else:  # sector drift + demand shift + size-dependent Laplace shock, mean-corrected
            sigma = max(k.sigma_floor, k.sigma_ref * (max(out * k.scale, 1.0) / REF_OUTPUT) ** -k.beta)
            sd = min(sigma * k.sqrt_dt, MAX_STEP_SD)
            b = sd / SQRT2
            lg = k.drift[s] * k.dt + math.log1p(-b * b) + sd * k.rng.laplace(0.0, 1.0 / SQRT2) + k.shift[s]
        # the bank's limit: collateral (tangible assets) and serviceable cash flow
        young = c.age[r] < STARTUP_QUARTERS and not c.anchor[r]
        margin = c.margin[r] - (k.penalty if young else 0.0) - (rd - c.base_rd[r])
        tangible = 1.0 - min(max(k.intangible * rd, 0.0), 0.9)
        limit = min(
            k.ltv * tangible * k.capital * out,
            max(margin * out, 0.0) / ((k.rate[s] + k.amortisation) * k.dscr),
        )
        c.limit[r] = limit
        # finance and talent constraints on positive growth; cash is spent only above a buffer
        cash, debt = c.cash[r], c.debt[r]
        internal = max(cash - k.buffer * out, 0.0)
        have = internal + max(limit - debt, 0.0)
        need = k.capital * out * max(math.expm1(lg), 0.0)
        fin_fill = min(1.0, have / need) if need > 0.0 else 1.0
        if lg > 0.0:
            lg *= min(fin_fill, k.talent_fill[s])
        spend = k.capital * out * max(math.expm1(lg), 0.0)
        k.investment += spend
        new = out * math.exp(lg)
        if ramping:  # arrives financed by its investors
            new += c.ramp_target[r] / max(c.ramp_quarters[r], 1)
            c.ramp_left[r] -= 1
        else:
            from_cash = min(spend, internal)  # spend is within what the firm can finance (fill above)
            c.cash[r] = cash - from_cash
            c.debt[r] = debt + (spend - from_cash)
            k.credit += spend - from_cash
            if fin_fill < 1.0 - 1e-9:
                k.constrained += 1
        c.output[r] = new

    # ------------------------------------------------------------------ cash flow and exit
    SETTLE_READ = (
        "output",
        "cash",
        "debt",
        "distress",
        "age",
        "rd_intensity",
        "base_rd",
        "margin",
        "anchor",
        "ramp_left",
    )
    SETTLE_WRITE = ("cash", "debt", "distress")

    def settle(self, m: ClusterModel) -> np.ndarray:
        """Each firm books its cash flow and debt service, draws credit for a shortfall, and
        decides whether it is still viable; returns the rows of firms that exit."""
        f, p, bank = m.firms, m.params, m.bank
        c = _read(f, self.SETTLE_READ)
        c.limit = self._limit
        k = SimpleNamespace(
            dt=m.dt,
            penalty=p.startup_margin_penalty,
            rate=bank.rate,
            amortisation=bank.amortisation,
            patience=p.distress_quarters,
            anchor_patience=p.distress_quarters * p.anchor_patience,
            min_viable=p.min_viable_output * m.size_unit,
            cash_target=p.cash_target_years,
            credit=0.0,
            written_off=0.0,
            gone=[],
        )
        self._firms(m).shuffle_do(self._settle_firm, c, k)
        _write(f, c, self.SETTLE_WRITE)
        m.tally["credit_granted"] += k.credit
        m.tally["debt_written_off"] += k.written_off
        return np.array(sorted(k.gone), dtype=np.int64)

    @staticmethod
    def _settle_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace) -> None:
        r = a.row
        out = c.output[r]
        young = c.age[r] < STARTUP_QUARTERS and not c.anchor[r]
        margin = c.margin[r] - (k.penalty if young else 0.0) - (c.rd_intensity[r] - c.base_rd[r])
        limit, debt = c.limit[r], c.debt[r]
        # interest on all debt at the bank's rate (subsidies came as cash); debt above the limit is called in
        principal = min(max(debt - limit, 0.0), k.amortisation * debt * k.dt)
        cash = c.cash[r] + margin * out * k.dt - k.rate * debt * k.dt - principal
        debt -= principal
        draw = min(max(-cash, 0.0), max(limit - debt, 0.0))
        cash += draw
        debt += draw
        k.credit += draw
        distress = c.distress[r] + 1 if cash < 0.0 else 0
        c.distress[r] = distress
        patience = k.anchor_patience if c.anchor[r] else k.patience
        if not young:  # cash above the target leaves the firm; start-ups keep theirs for the burn
            cash -= max(cash - k.cash_target * out, 0.0)
        c.cash[r] = cash
        c.debt[r] = debt
        if (distress >= patience or out < k.min_viable) and c.ramp_left[r] == 0:
            k.gone.append(r)
            k.written_off += debt

    # ------------------------------------------------------------------ certification
    CERTIFY_READ = ("output", "rd_intensity", "base_rd", "innovations", "age", "high_tech", "cert_age")
    CERTIFY_WRITE = ("rd_intensity", "base_rd", "high_tech", "cert_age")

    def certify(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Incubation places lift some innovating firms to the R&D threshold; each firm applies
        for, keeps, renews or loses its high-tech certificate."""
        f, p, inc = m.firms, m.params, m.streams["incubation"]
        c = _read(f, self.CERTIFY_READ)
        firms = self._firms(m)
        n_inc = inc.poisson(eff.incubation_per_year * m.dt * m.scale)
        if n_inc:
            agents = list(firms)
            thresholds = [self._threshold(c.output[a.row] * m.scale) for a in agents]
            w = [
                1.0 if not c.high_tech[a.row] and c.rd_intensity[a.row] < t and c.innovations[a.row] > 0 else 0.0
                for a, t in zip(agents, thresholds, strict=True)
            ]
            by_agent = dict(zip(agents, thresholds, strict=True))
            for a in pick_weighted(inc, agents, w, n_inc):
                c.base_rd[a.row] = max(c.base_rd[a.row], by_agent[a])
                c.rd_intensity[a.row] = c.base_rd[a.row]
        k = SimpleNamespace(
            rng=m.streams["certify"],
            scale=m.scale,
            threshold=self._threshold,
            p_gain=-math.expm1(-p.certification_rate * m.dt),
            renewal=p.renewal_pass_rate,
            validity=m.ht_validity_quarters,
        )
        firms.shuffle_do(self._certify_firm, c, k)
        _write(f, c, self.CERTIFY_WRITE)

    @staticmethod
    def _certify_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace) -> None:
        r = a.row
        eligible = c.rd_intensity[r] >= k.threshold(c.output[r] * k.scale) and c.innovations[r] > 0 and c.age[r] >= 4
        u = k.rng.random()
        if c.high_tech[r]:
            age = c.cert_age[r] + 1
            if age >= k.validity:  # the certificate expires: renew or lose it
                c.high_tech[r] = eligible and u < k.renewal
                age = 0
            c.cert_age[r] = age
        elif eligible and u < k.p_gain:
            c.high_tech[r] = True
            c.cert_age[r] = 0
        else:
            c.cert_age[r] = 0


def reference_model(scenario: Scenario | None = None, params: Params | None = None, **kwargs: Any) -> ClusterModel:
    """ClusterModel with the per-agent rules (same arguments as ClusterModel, except `rules`)."""
    return ClusterModel(scenario, params, rules=PerAgentRules(), **kwargs)


def run_reference_chunk(scenario: Any, seeds: list[np.random.SeedSequence], scale: float = 1.0) -> list[Any]:
    """Run reference replications (for ensemble benchmarks in worker processes); returns the
    tidy tables of model.ensemble.record_tables, as ClusterModel ensembles produce."""
    from model.ensemble import record_tables

    return [record_tables(i, reference_model(scenario, rng=s, scale=scale).run()) for i, s in enumerate(seeds)]


__all__: list[str] = ["PerAgentRules", "pick_weighted", "reference_model", "run_reference_chunk"]
