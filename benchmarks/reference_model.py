"""A per-agent reference implementation of the firm rules, for benchmarks and equivalence tests.

`PerAgentRules` has the methods of `model.firm_rules.FirmRules` (`innovate`, `compete`, `plan`,
`invest`, `settle`, `ramp_up`, `certify`), exposes the same public attributes the rest of the
model reads after a phase (`weight`, `young`, `desired`, `need`, `gap`, `target`, `rate`,
`limit`, `margin`: NumPy arrays with one value per firm-store row, 0 for rows of firms that
have closed and not yet been compacted away; `limit_total` after `settle`), and
plugs into `ClusterModel(..., rules=PerAgentRules())`, the documented seam between the schedule
and the firm rules. Everything else (the start population, the schedule, markets and prices,
the funders, major projects, entry, talent, records, the accounts) is ClusterModel's own code,
unchanged; no private method of ClusterModel is overridden.

Inside each method the rules are written the idiomatic Mesa way: the firm agents
(`model.agents_by_type[Firm]`) are visited in random order with `shuffle_do`, and each agent
runs its rule on itself as scalar Python (`math`, one scalar draw at a time from the model's
mechanism streams `model.streams["innovation" | "growth" | "certify"]`, which FirmRules leaves
unused: it draws per firm id with `model.uniforms` / `model.laplace`). Sector-level aggregates a rule needs (the
CES denominator A_s = sum of weight x attraction, the sales the government buys, the market a
finished plant's offtake joins) are sums in plain Python loops over the agents, once per phase;
model-level choices (which firms get the step's technology vice-presidents or incubation places)
are weighted draws in scalar Python over the agents, from the streams FirmRules uses for them
("vp", "incubation"). Each agent stands for `weight` identical firms, as in FirmRules: its
values are one firm's, and the totals it adds to (payments, counts) are multiplied by its weight.

Where a firm's state lives: ClusterModel's funders, entry, talent and records read and write
the firm column store (model/state.py), so the rules read a firm's values from it by the
agent's `row` and write them back. To keep the per-agent arithmetic on plain Python floats,
as with state held in agent attributes, each phase takes the columns it needs as Python lists
once (`ndarray.tolist()`), the agents read and write their own entries, and the changed
columns are copied back at the end of the phase. What one phase leaves for the next (each
firm's desired sales, plan, margin, rate and credit limit) is kept as per-row Python lists,
and turned into the public arrays at the end of the phase that sets it. The copies are a few
C-speed passes over the columns; per-agent list indexing costs about what attribute access
would, so this reference is not slowed by its state layout.

The rules are the same as FirmRules's, firm by firm; only the random draws come in another
order, so for the same seed the two give statistically equal, not identical, results
(tests/test_reference_equivalence.py checks the state step by step with constant draws, and
the 2025 outputs of small ensembles with a KS test).
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
from model.mechanisms.growth import MAX_STEP_SD, REF_OUTPUT
from model.sectors import N_SECTORS, SECTOR_INDEX

if TYPE_CHECKING:
    from mesa.agentset import AgentSet

    from model.params import Params
    from model.policy import YearPolicy
    from model.scenario import Scenario
    from model.state import ColumnStore

SQRT2 = math.sqrt(2.0)
OTHER = SECTOR_INDEX["other"]
PLAN = ("desired", "target", "need", "gap", "margin", "rate", "limit")
"""What a step's plan holds per firm (per-row lists internally, public arrays aligned with `rows`)."""
SETTLE_FLOWS = ("sales", "operating_costs", "interest", "repayment", "credit", "dividends", "liquidation", "bad_debts")
"""Payments firms make or receive in `settle` (accounts kinds, in FirmRules's booking order)."""


def _read(f: ColumnStore, names: Sequence[str]) -> SimpleNamespace:
    """The firm columns `names` as Python lists indexed by row."""
    return SimpleNamespace(**{name: getattr(f, name).tolist() for name in names})


def _write(f: ColumnStore, c: SimpleNamespace, names: Sequence[str]) -> None:
    """Copy the lists `names` of `c` back into the firm columns."""
    for name in names:
        getattr(f, name)[:] = getattr(c, name)


def pick_weighted(rng: np.random.Generator, items: list[Any], weights: list[float], k: int) -> list[Any]:
    """`k` distinct items drawn with probability proportional to `weights`, in Efraimidis-Spirakis
    order (largest key first; one scalar draw per positive weight); the scalar twin of
    population.pick_weighted."""
    keyed = [(math.log(1.0 - rng.random()) / w, i) for i, w in enumerate(weights) if w > 0.0]
    return [items[i] for _, i in heapq.nlargest(k, keyed)]


def pick_firms(
    rng: np.random.Generator, agents: list[Any], per_firm: list[float], agent_weight: list[float], n_firms: float
) -> list[Any]:
    """Agents picked so that about `n_firms` firms are chosen, each firm with probability
    proportional to `per_firm` (agents standing for several firms are chosen whole): agents in
    Efraimidis-Spirakis order until their weights reach n_firms, the last one with the
    probability that keeps the expected count exact. The scalar twin of firm_rules.pick_firms."""
    weights = [p * w for p, w in zip(per_firm, agent_weight, strict=True)]
    order = pick_weighted(rng, list(range(len(agents))), weights, sum(p > 0.0 for p in per_firm))
    picked: list[Any] = []
    cum = 0.0
    for i in order:
        if cum + agent_weight[i] >= n_firms:
            if rng.random() < (n_firms - cum) / agent_weight[i]:
                picked.append(agents[i])
            break
        cum += agent_weight[i]
        picked.append(agents[i])
    return picked


class PerAgentRules:
    """FirmRules, applied by each firm agent to itself in scalar Python (see the module docstring)."""

    def __init__(self) -> None:
        self.weight = np.zeros(0)  # firms each store row stands for (0: closed)
        self.young = np.zeros(0, dtype=bool)  # start-ups this step
        self.limit_total = 0.0  # what banks would lend the firms that remain after this step's exits (yuan)
        for name in PLAN:  # desired, target, need, gap (yuan/yr, yuan), margin, rate (1/yr), limit (yuan)
            setattr(self, name, np.zeros(0))
        self._plan = SimpleNamespace()  # the same per row, as Python lists (for the next phases)
        rules_ht = facts()["rules"]["high_tech_rd_thresholds"]
        self._ht_bounds = [float(b) for b in rules_ht["revenue_bounds_yuan"]]
        self._ht_min_rd = [float(t) for t in rules_ht["min_rd_intensity"]]

    def _firms(self, m: ClusterModel) -> AgentSet:
        """The firm agents (one AgentSet kept until firms arrive or leave)."""
        version = (id(m), m.firms.version)
        if getattr(self, "_firm_set", (None, None))[0] != version:
            self._firm_set = (version, m.agents_by_type[Firm])
        return self._firm_set[1]

    def _threshold(self, output: float) -> float:
        """R&D intensity the high-tech rule requires of a firm of `output` (yuan/yr)."""
        return self._ht_min_rd[bisect_left(self._ht_bounds, output)]

    def _publish(self, names: Sequence[str]) -> None:
        """Set the public arrays `names` (one value per store row, 0 for closed firms' rows) from
        the per-row lists."""
        for name in names:
            setattr(self, name, np.asarray(getattr(self._plan, name), dtype=float))

    @staticmethod
    def _pay_per_firm(m: ClusterModel, line: str, picked: list[Firm], c: SimpleNamespace, cost: float) -> None:
        """The government pays programme `line` at `cost` yuan per firm for the firms `picked`."""
        m.government.pay_programme(
            line,
            np.array([c.weight[a.row] * cost for a in picked]),
            np.array([c.sector[a.row] for a in picked], dtype=np.int64),
        )

    # ------------------------------------------------------------------ R&D and innovation
    INNOVATE_READ = (
        "sector",
        "weight",
        "output",
        "attraction",
        "productivity",
        "rd_intensity",
        "base_rd",
        "has_vp",
        "innovations",
        "rd_year",
    )
    INNOVATE_WRITE = ("attraction", "productivity", "rd_intensity", "has_vp", "innovations", "rd_year")

    def innovate(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Technology VPs placed (the government pays each placement); each firm draws its
        innovation (productivity, quality and with it attraction rise), moves its R&D intensity
        towards the target the R&D-growth reward sets and books the step's R&D spending."""
        f, p, vp = m.firms, m.params, m.streams["vp"]
        c = _read(f, self.INNOVATE_READ)
        firms = self._firms(m)
        n_vp = vp.poisson(eff.vp_per_year * m.dt)
        if n_vp:
            agents = list(firms)
            per_firm = [
                c.rd_intensity[a.row] if c.sector[a.row] != OTHER and not c.has_vp[a.row] else 0.0 for a in agents
            ]
            picked = pick_firms(vp, agents, per_firm, [c.weight[a.row] for a in agents], n_vp)
            for a in picked:
                c.has_vp[a.row] = True
            self._pay_per_firm(m, "tech_vp", picked, c, p.cost_tech_vp)
        reward = eff.rd_reward_rate * m.feedback.rd_payout_ratio * (1.0 - p.deadweight_rd_reward)
        k = SimpleNamespace(
            rng=m.streams["innovation"],
            dt=m.dt,
            mult=eff.innovation_multiplier.tolist(),
            vp_effect=p.vp_effect,
            hazard=p.innovation_hazard,
            rd_ref=m.pop["hightech_rd_ref"],
            elasticity=p.innovation_rd_elasticity,
            jump=1.0 + p.innovation_jump,
            quality=(1.0 + p.innovation_jump) ** p.quality_elasticity,
            rd_factor=[1.0 + p.rd_reward_elasticity * (reward * t) for t in eff.targeted.tolist()],
            rd_decay=math.exp(-p.rd_adjust_rate * m.dt),
            hits=0.0,
        )
        firms.shuffle_do(self._innovate_firm, c, k)
        _write(f, c, self.INNOVATE_WRITE)
        m.tally["innovations"] += k.hits

    @staticmethod
    def _innovate_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace) -> None:
        r = a.row
        s = c.sector[r]
        rd = c.rd_intensity[r]
        mult = k.mult[s] * (1.0 + k.vp_effect * c.has_vp[r])
        hazard = k.hazard * (max(rd, 0.0) / k.rd_ref) ** k.elasticity * mult
        if k.rng.random() < -math.expm1(-hazard * k.dt):
            c.productivity[r] *= k.jump
            c.attraction[r] *= k.quality
            c.innovations[r] += 1
            k.hits += c.weight[r]
        target = c.base_rd[r] * k.rd_factor[s]
        rd = c.rd_intensity[r] = target + (rd - target) * k.rd_decay
        c.rd_year[r] += rd * c.output[r] * k.dt  # R&D spent this step, yuan

    # ------------------------------------------------------------------ demand
    def compete(self, m: ClusterModel) -> None:
        """Each firm's attraction takes its idiosyncratic shock; then, with each sector's total
        attraction, each firm finds the sales its customers want (its CES share of its sector's
        market part plus its contract demand)."""
        f, p = m.firms, m.params
        c = _read(f, ("sector", "weight", "output", "attraction", "contract"))
        firms = self._firms(m)
        k = SimpleNamespace(
            rng=m.streams["growth"],
            sqrt_dt=math.sqrt(m.dt),
            floor=p.sigma_floor,
            sigma_ref=p.sigma_ref,
            beta=p.vol_size_beta,
        )
        firms.shuffle_do(self._shock_firm, c, k)
        total = [0.0] * N_SECTORS  # A_s, the CES denominator
        for a in firms:
            total[c.sector[a.row]] += c.weight[a.row] * c.attraction[a.row]
        market = m.markets.market.tolist()
        per_unit = [mk / tot if tot > 0.0 else 0.0 for mk, tot in zip(market, total, strict=True)]
        self._plan = plan = SimpleNamespace(**{name: [0.0] * f.n for name in PLAN})
        firms.shuffle_do(self._demand_firm, c, per_unit, plan.desired)
        _write(f, c, ("attraction",))
        self.weight = f.weight.copy()
        self._publish(("desired",))

    @staticmethod
    def _shock_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace) -> None:
        r = a.row
        # size-dependent volatility, mean-corrected Laplace shock (growth.log_growth with no drift)
        sigma = max(k.floor, k.sigma_ref * (max(c.output[r], 1.0) / REF_OUTPUT) ** -k.beta)
        sd = min(sigma * k.sqrt_dt, MAX_STEP_SD)
        b = sd / SQRT2
        lg = math.log1p(-(b * b)) + sd * k.rng.laplace(0.0, 1.0 / SQRT2)
        c.attraction[r] *= math.exp(lg)

    @staticmethod
    def _demand_firm(a: Firm, c: SimpleNamespace, per_unit: list[float], desired: list[float]) -> None:
        r = a.row
        desired[r] = per_unit[c.sector[r]] * c.attraction[r] + c.contract[r]

    # ------------------------------------------------------------------ plans and their finance
    PLAN_READ = (
        "sector",
        "output",
        "capacity",
        "cash",
        "debt",
        "age",
        "anchor",
        "margin",
        "rd_intensity",
        "base_rd",
        "induced",
    )

    def plan(self, m: ClusterModel) -> None:
        """Each firm plans the capacity its desired sales need (plus the usual spare), the
        investment that takes, and finds its operating margin, borrowing rate, credit limit and
        financing gap (what its cash above the floor and its credit headroom cannot pay)."""
        f, p, bank = m.firms, m.params, m.bank
        c = _read(f, self.PLAN_READ)
        k = SimpleNamespace(
            startup_steps=m.startup_steps,
            penalty=p.startup_margin_penalty,
            induced_penalty=p.induced_margin_penalty,
            rate=[bank.rate * (1.0 - cov) for cov in m.feedback.interest_coverage.tolist()],
            ltv=bank.loan_to_value,
            capital=bank.capital_intensity,
            intangible=bank.intangible_per_rd,
            amortisation=bank.amortisation,
            dscr=bank.dscr_min,
            spare=1.0 + m.pop["spare_capacity"],
            investment_per_capacity=p.capital_intensity,
            buffer=p.precautionary_cash_years,
        )
        self._firms(m).shuffle_do(self._plan_firm, c, k, self._plan)
        self._publish(PLAN[1:])
        self.young = (f.age < m.startup_steps) & ~f.anchor  # read by the government's rent subsidy

    @staticmethod
    def _plan_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace, plan: SimpleNamespace) -> None:
        r = a.row
        out, rd = c.output[r], c.rd_intensity[r]
        young = c.age[r] < k.startup_steps and not c.anchor[r]
        margin = c.margin[r] - k.penalty * young - (rd - c.base_rd[r]) - k.induced_penalty * c.induced[r]
        rate = k.rate[c.sector[r]]
        # the bank's limit: collateral (tangible assets) and serviceable cash flow
        tangible = 1.0 - min(max(k.intangible * rd, 0.0), 0.9)
        limit = min(
            k.ltv * tangible * k.capital * out,
            max(margin * out, 0.0) / ((rate + k.amortisation) * k.dscr),
        )
        target = plan.desired[r] * k.spare
        need = k.investment_per_capacity * max(target - c.capacity[r], 0.0)
        internal = max(c.cash[r] - k.buffer * out, 0.0)
        headroom = max(limit - c.debt[r], 0.0)
        plan.margin[r], plan.rate[r], plan.limit[r] = margin, rate, limit
        plan.target[r], plan.need[r] = target, need
        plan.gap[r] = max(need - internal - headroom, 0.0)

    INVEST_READ = ("sector", "weight", "output", "capacity", "attraction", "cash", "debt")
    INVEST_WRITE = ("capacity", "attraction", "output", "cash", "debt")

    def invest(self, m: ClusterModel) -> None:
        """Each firm builds the capacity it can finance (cash above its floor, then new credit)
        and staff, and sells its desired sales up to its capacity; customers of a firm that
        cannot deliver turn to its rivals."""
        f, p, acc = m.firms, m.params, m.accounts
        c = _read(f, self.INVEST_READ)
        k = SimpleNamespace(
            buffer=p.precautionary_cash_years,
            talent_fill=[t**p.talent_constraint for t in m.feedback.talent_fill.tolist()],
            switching=p.delivery_switching,
            credit=0.0,
            investment=0.0,
            unserved=0.0,
            constrained=0.0,
            firms=0.0,
        )
        self._firms(m).shuffle_do(self._invest_firm, c, k, self._plan)
        _write(f, c, self.INVEST_WRITE)
        acc.pay("credit", k.credit)
        acc.pay("investment", k.investment)
        m.tally["unserved_demand"] += k.unserved * m.dt
        m.tally["credit_granted"] += k.credit
        m.tally["investment"] += k.investment
        m.tally["constrained_firm_quarters"] += k.constrained
        m.tally["firm_quarters"] += k.firms

    @staticmethod
    def _invest_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace, plan: SimpleNamespace) -> None:
        r = a.row
        w, cash, debt, need = c.weight[r], c.cash[r], c.debt[r], plan.need[r]
        internal = max(cash - k.buffer * c.output[r], 0.0)  # cash above the precautionary floor
        have = internal + max(plan.limit[r] - debt, 0.0)
        fin_fill = min(1.0, have / need) if need > 0.0 else 1.0
        fill = min(fin_fill, k.talent_fill[c.sector[r]])
        spend = fill * need
        borrowed = spend - min(spend, internal)  # paid from cash first, the rest borrowed
        c.cash[r] = cash + borrowed - spend
        c.debt[r] = debt + borrowed
        capacity = c.capacity[r]
        capacity = c.capacity[r] = capacity + fill * max(plan.target[r] - capacity, 0.0)
        desired = plan.desired[r]
        sales = min(desired, capacity)
        served = min(max(sales / desired, 0.0), 1.0) if desired > 0.0 else 1.0
        c.attraction[r] *= served**k.switching
        c.output[r] = sales
        k.credit += w * borrowed
        k.investment += w * spend
        k.unserved += w * (desired - sales)
        k.constrained += w if fin_fill < 1.0 - 1e-9 and need > 0.0 else 0.0
        k.firms += w

    # ------------------------------------------------------------------ cash flow and exit
    SETTLE_READ = ("sector", "weight", "output", "contract", "cash", "debt", "distress", "age", "anchor", "ramp_left")
    SETTLE_WRITE = ("cash", "debt", "distress")

    def settle(self, m: ClusterModel) -> np.ndarray:
        """Each firm books its sales, operating costs and debt service, draws credit for a
        shortfall, decides whether it is still viable (a closing firm's cash goes to its owners,
        its unpaid bills to its suppliers, its debt is written off) and pays out cash above its
        target (start-ups keep theirs); the flows are booked in the accounts. Returns the rows
        of firms that exit."""
        f, p, acc, bank = m.firms, m.params, m.accounts, m.bank
        c = _read(f, self.SETTLE_READ)
        k = SimpleNamespace(
            dt=m.dt,
            startup_steps=m.startup_steps,
            rate=bank.rate,
            amortisation=bank.amortisation,
            patience=p.distress_years * m.steps_per_year,
            anchor_patience=p.anchor_patience,
            min_viable=p.min_viable_output,
            cash_target=p.cash_target_years,
            market_sales=[0.0] * N_SECTORS,  # sales from the sector's market part (not contracts)
            flows=dict.fromkeys(SETTLE_FLOWS, 0.0),
            written_off=0.0,
            gone=[],
        )
        self._firms(m).shuffle_do(self._settle_firm, c, k, self._plan)
        _write(f, c, self.SETTLE_WRITE)
        fraction = m.markets.public_fraction().tolist()
        public = sum(s * q for s, q in zip(k.market_sales, fraction, strict=True)) * m.dt
        flows = k.flows
        acc.pay("sales", flows.pop("sales") - public)
        acc.pay("procurement_sales", public)
        m.government.buy_procurement(public)
        for kind, amount in flows.items():
            acc.pay(kind, amount)
        acc.write_off(k.written_off)
        m.tally["credit_granted"] += flows["credit"]
        m.tally["debt_written_off"] += k.written_off
        gone = np.array(sorted(k.gone), dtype=np.int64)
        stays = f.weight.copy()
        stays[gone] = 0.0
        self.limit_total = float(np.einsum("i,i->", stays, self.limit))
        return gone

    @staticmethod
    def _settle_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace, plan: SimpleNamespace) -> None:
        r = a.row
        w, out, margin, limit, debt = c.weight[r], c.output[r], plan.margin[r], plan.limit[r], c.debt[r]
        revenue = out * k.dt
        k.market_sales[c.sector[r]] += w * max(out - c.contract[r], 0.0)
        # interest on all debt at the bank's rate (subsidies came as cash); debt above the limit is called in
        interest = k.rate * debt * k.dt
        principal = min(max(debt - limit, 0.0), k.amortisation * debt * k.dt)
        cash = c.cash[r] + margin * revenue - interest - principal
        debt -= principal
        draw = min(max(-cash, 0.0), max(limit - debt, 0.0))
        cash, debt = cash + draw, debt + draw
        distress = c.distress[r] = c.distress[r] + 1 if cash < 0.0 else 0
        patience = k.patience * (k.anchor_patience if c.anchor[r] else 1.0)
        gone = (
            (distress >= patience or out < k.min_viable)
            and c.ramp_left[r] == 0
            and c.contract[r] <= 0.0  # a plant with firm orders is not closed
        )
        young = c.age[r] < k.startup_steps and not c.anchor[r]
        payout = max(cash - k.cash_target * out, 0.0) if not (young or gone) else 0.0
        cash -= payout
        flows = k.flows
        flows["sales"] += w * revenue
        flows["operating_costs"] += w * (1.0 - margin) * revenue
        flows["interest"] += w * interest
        flows["repayment"] += w * principal
        flows["credit"] += w * draw
        flows["dividends"] += w * payout
        if gone:
            flows["liquidation"] += w * max(cash, 0.0)
            flows["bad_debts"] += w * max(-cash, 0.0)
            k.written_off += w * debt
            k.gone.append(r)
            cash = debt = 0.0
        c.cash[r], c.debt[r] = cash, debt

    # ------------------------------------------------------------------ major projects ramp up
    RAMP_READ = ("sector", "weight", "attraction", "contract", "ramp_left", "ramp_target", "ramp_steps")
    RAMP_WRITE = ("attraction", "contract", "ramp_left")

    def ramp_up(self, m: ClusterModel) -> None:
        """Each ramping plant's contracted offtake rises by a step of its full-ramp sales; at
        full ramp the offtake joins its sector's market and the plant's attraction rises with it
        (nobody else's desired sales change)."""
        f = m.firms
        c = _read(f, self.RAMP_READ)
        firms = self._firms(m)
        done: list[int] = []
        firms.shuffle_do(self._ramp_firm, c, done)
        if done:
            self._join_markets(m, firms, c, sorted(done))
        _write(f, c, self.RAMP_WRITE)

    @staticmethod
    def _join_markets(m: ClusterModel, firms: AgentSet, c: SimpleNamespace, done: list[int]) -> None:
        """Plants at full ramp (rows `done`): their offtake joins their sectors' markets
        (market.added_attraction, one plant at a time)."""
        mk = m.markets
        sectors = {c.sector[r] for r in done}
        total = dict.fromkeys(sectors, 0.0)  # A_s before the plants' offtake joins
        for a in firms:
            s = c.sector[a.row]
            if s in total:
                total[s] += c.weight[a.row] * c.attraction[a.row]
        market = mk.market.tolist()
        joined = dict.fromkeys(sectors, 0.0)
        for r in done:
            s, sales = c.sector[r], c.contract[r]
            m_s, a_s = market[s], total[s]
            c.attraction[r] += sales * a_s / m_s if m_s > 0.0 and a_s > 0.0 else sales
            joined[s] += c.weight[r] * sales
            c.contract[r] = 0.0
        for s, sales in joined.items():
            mk.market[s] += sales

    @staticmethod
    def _ramp_firm(a: Firm, c: SimpleNamespace, done: list[int]) -> None:
        r = a.row
        if c.ramp_left[r] <= 0:
            return
        c.contract[r] += c.ramp_target[r] / max(c.ramp_steps[r], 1)
        c.ramp_left[r] -= 1
        if c.ramp_left[r] == 0:
            done.append(r)

    # ------------------------------------------------------------------ certification
    CERTIFY_READ = (
        "sector",
        "weight",
        "output",
        "rd_intensity",
        "base_rd",
        "innovations",
        "age",
        "high_tech",
        "cert_age",
    )
    CERTIFY_WRITE = ("rd_intensity", "base_rd", "high_tech", "cert_age")

    def certify(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Incubation places lift some innovating firms to the R&D threshold (the government
        pays per firm incubated); each firm applies for, keeps, renews or loses its high-tech
        certificate."""
        f, p, inc = m.firms, m.params, m.streams["incubation"]
        c = _read(f, self.CERTIFY_READ)
        firms = self._firms(m)
        n_inc = inc.poisson(eff.incubation_per_year * m.dt)
        if n_inc:
            agents = list(firms)
            thresholds = [self._threshold(c.output[a.row]) for a in agents]
            per_firm = [
                1.0 if not c.high_tech[a.row] and c.rd_intensity[a.row] < t and c.innovations[a.row] > 0 else 0.0
                for a, t in zip(agents, thresholds, strict=True)
            ]
            picked = pick_firms(inc, agents, per_firm, [c.weight[a.row] for a in agents], n_inc)
            by_agent = dict(zip(agents, thresholds, strict=True))
            for a in picked:
                c.base_rd[a.row] = max(c.base_rd[a.row], by_agent[a])
                c.rd_intensity[a.row] = c.base_rd[a.row]
            self._pay_per_firm(m, "incubation", picked, c, p.cost_incubation)
        k = SimpleNamespace(
            rng=m.streams["certify"],
            threshold=self._threshold,
            min_age=m.high_tech_min_age,
            p_gain=-math.expm1(-p.certification_rate * m.dt),
            renewal=p.renewal_pass_rate,
            validity=m.ht_validity_steps,
        )
        firms.shuffle_do(self._certify_firm, c, k)
        _write(f, c, self.CERTIFY_WRITE)

    @staticmethod
    def _certify_firm(a: Firm, c: SimpleNamespace, k: SimpleNamespace) -> None:
        r = a.row
        eligible = c.rd_intensity[r] >= k.threshold(c.output[r]) and c.innovations[r] > 0 and c.age[r] >= k.min_age
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


__all__: list[str] = ["PerAgentRules", "pick_firms", "pick_weighted", "reference_model", "run_reference_chunk"]
