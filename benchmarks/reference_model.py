"""A per-agent reference implementation of ClusterModel, for benchmarks and equivalence tests.

`ReferenceModel` is how the model would be written in idiomatic Mesa: every firm is a
`RefFirm` agent that keeps its state in Python attributes and has a `step()` made of scalar
Python arithmetic (`math`, draws from `model.rng`), called through
`model.agents_by_type[RefFirm].shuffle_do(...)`. The step rules, parameters, start
population, funding, entry and talent code are the same as in ClusterModel (it is a subclass:
only the firm-level vectorised parts are replaced), and all randomness comes from
`model.rng`, but in a different order: for the same seed the two models give statistically
equal, not identical, results (tests/test_reference_equivalence.py checks this).

Phases of one step (ClusterModel.step in brackets):
  model  shocks, urban demand, technology-VP placement    [_apply_shocks, _urban_demand, _innovate]
  firms  step(): demand, innovation, R&D, growth, claims  [_urban_demand, _innovate, _grow]
  model  pro-rata payouts, guidance-fund deals           [_pay_firm_instruments]
  firms  settle(): payouts, cash flow, exit               [_pay_firm_instruments, _cash_flow_and_exit]
  model  entry, talent (unchanged ClusterModel code)      [_entry, _talent_step]
  firms  certify(): incubation, high-tech status, age     [_certify, age]
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Any

import mesa
import numpy as np

from model import agents as ag
from model.cluster_model import ClusterModel
from model.mechanisms import funding, growth
from model.population import pick_weighted
from model.sectors import N_SECTORS, SECTOR_INDEX

_FIRM_DEFAULTS: dict[str, Any] = {
    "age": 0,
    "cash": 0.0,
    "productivity": 1.0,
    "high_tech": False,
    "innovations": 0,
    "anchor": False,
    "ramp_left": 0,
    "ramp_target": 0.0,
}


class RefFirm(mesa.Agent):
    """A firm whose state lives on the agent and whose rules are scalar Python."""

    def __init__(self, model: ReferenceModel, **state: Any) -> None:
        super().__init__(model)
        self.sector: int = state["sector"]
        self.output: float = state["output"]
        self.cash: float = state["cash"]
        self.age: int = state["age"]
        self.productivity: float = state["productivity"]
        self.rd_intensity: float = state["rd_intensity"]
        self.base_rd: float = state["base_rd"]
        self.margin: float = state["margin"]
        self.high_tech: bool = state["high_tech"]
        self.innovations: int = state["innovations"]
        self.anchor: bool = state["anchor"]
        self.ramp_left: int = state["ramp_left"]
        self.ramp_target: float = state["ramp_target"]
        self.has_vp = False
        # claims of the current step (yuan), settled pro rata by the model
        self.interest = self.claim_interest = self.claim_rent = self.claim_rd = 0.0

    # ------------------------------------------------------------------ phase 1
    def step(self) -> None:
        """Urban demand, innovation, R&D adjustment, growth; then file this step's claims."""
        m: ReferenceModel = self.model
        k = m.k  # constants and per-sector values of this step (plain floats and lists)
        s = self.sector
        rng = m.rng
        # demand from urban application scenarios
        self.output *= k["demand_mult"][s]
        # innovation
        mult = k["eco_mult"][s] * (1.0 + k["vp_effect"] if self.has_vp else 1.0)
        hazard = k["hazard"] * (max(self.rd_intensity, 0.0) / k["rd_ref"]) ** k["rd_elasticity"] * mult
        if rng.random() < -math.expm1(-hazard * k["dt"]):
            self.productivity *= k["jump"]
            self.output *= k["jump"]
            self.innovations += 1
            m.innovations_this_step += 1
        # R&D intensity moves towards base x (1 + elasticity x reward)
        target = self.base_rd * k["rd_target_factor"]
        self.rd_intensity = target + (self.rd_intensity - target) * k["rd_decay"]
        # growth: trend plus a size-dependent Laplace shock, capped by finance and talent
        out = self.output
        old_rd_spend = self.rd_intensity * out
        ratio = max(out * k["scale"], 1.0) / growth.REF_OUTPUT
        sigma = max(k["sigma_floor"], k["sigma_ref"] * ratio ** (-k["beta"]))
        sd = min(sigma * k["sqrt_dt"], growth.MAX_STEP_SD)
        b = sd / math.sqrt(2.0)
        shock = rng.laplace(0.0, 1.0 / math.sqrt(2.0))
        ramping = self.ramp_left > 0
        lg = 0.0 if ramping else k["log_trend"][s] + math.log1p(-b * b) + sd * shock
        planned = out * math.expm1(lg)
        credit = k["credit_factor"][s] * out
        need = k["capital_intensity"] * max(planned, 0.0)
        have = max(self.cash, 0.0) + max(credit, 0.0)
        fill = min(1.0, have / need) if need > 0.0 else 1.0
        fill = min(fill, k["talent_fill"][s])
        new = out * math.exp(lg * fill if lg > 0.0 else lg)
        if ramping:
            new += self.ramp_target / k["ramp_quarters"]
            investment = 0.0  # anchor projects arrive financed
            self.ramp_left -= 1
        else:
            investment = k["capital_intensity"] * max(new - out, 0.0)
        self.cash -= max(investment - credit, 0.0)
        self.output = new
        # claims on the funding instruments
        targeted = k["targeted"][s]
        self.interest = k["interest_factor"] * new
        self.claim_interest = self.interest * k["interest_share"] if targeted else 0.0
        if targeted and self.age < ag.STARTUP_QUARTERS:
            workers = new / (k["output_per_worker"][s] * self.productivity)
            self.claim_rent = k["rent_factor"] * workers
        else:
            self.claim_rent = 0.0
        self.claim_rd = k["rd_reward_rate"] * max(self.rd_intensity * new - old_rd_spend, 0.0)

    # ------------------------------------------------------------------ phase 2
    def settle(self) -> None:
        """Receive the payouts, book the operating cash flow, leave if failing."""
        m: ReferenceModel = self.model
        k = m.k
        self.cash += (
            self.claim_interest * k["pay_interest"] + self.claim_rent * k["pay_rent"] + self.claim_rd * k["pay_rd"]
        )
        margin = self.margin - (k["startup_penalty"] if self.age < ag.STARTUP_QUARTERS else 0.0)
        self.cash += (margin - k["interest_rate"] * k["loan_to_output"]) * self.output * k["dt"]
        if (self.cash < 0.0 or self.output < k["min_viable"]) and self.ramp_left == 0:
            m.exits_this_step += 1
            self.remove()

    # ------------------------------------------------------------------ phase 3
    def rd_threshold(self) -> float:
        """Minimum R&D intensity for high-tech status at the firm's revenue."""
        m: ReferenceModel = self.model
        return m.ht_min_rd[bisect_left(m.ht_bounds, self.output * m.scale)]

    def certify(self) -> None:
        """Gain or lose national high-tech status; one quarter older."""
        k = self.model.k
        eligible = self.rd_intensity >= self.rd_threshold() and self.innovations > 0 and self.age >= 4
        u = self.model.rng.random()
        if not self.high_tech and eligible and u < k["p_gain"]:
            self.high_tech = True
        elif self.high_tech and not eligible and u < k["p_lose"]:
            self.high_tech = False
        self.age += 1


class ReferenceModel(ClusterModel):
    """ClusterModel with per-agent firms (see the module docstring)."""

    # ------------------------------------------------------------------ firms as agents
    def _add_firms(self, **columns: np.ndarray | float) -> np.ndarray:
        n = len(columns["sector"])
        values = {**_FIRM_DEFAULTS, **columns}
        lists = {name: np.broadcast_to(np.asarray(v), (n,)).tolist() for name, v in values.items()}
        for i in range(n):
            RefFirm(self, **{name: col[i] for name, col in lists.items()})
        return np.arange(n)

    @property
    def ref_firms(self) -> mesa.agent.AbstractAgentSet:
        return self.agents_by_type.get(RefFirm, mesa.agent.AgentSet([], random=self.random))

    def sector_output(self) -> np.ndarray:
        out = [0.0] * N_SECTORS
        for a in self.ref_firms:
            out[a.sector] += a.output
        return np.array(out)

    def firm_counts(self) -> np.ndarray:
        counts = [0.0] * N_SECTORS
        for a in self.ref_firms:
            counts[a.sector] += 1
        return np.array(counts)

    def _labour_demand_by_sector(self, skill: np.ndarray) -> np.ndarray:
        opw, sk = self.output_per_worker.tolist(), skill.tolist()
        d = [0.0] * N_SECTORS
        for a in self.ref_firms:
            s = a.sector
            d[s] += a.output / (opw[s] * a.productivity * sk[s])
        return np.array(d)

    def _record_year(self, i: int, output: np.ndarray) -> None:
        super()._record_year(i, output)  # high-tech count from the (empty) column store is replaced below
        high_tech = sum(a.high_tech for a in self.ref_firms)
        self.record.zone["high_tech_firms"][i] = high_tech / self.scale

    # ------------------------------------------------------------------ the step
    def _constants(self) -> dict[str, Any]:
        p, pol, eco, dt = self.params, self.policy_scenario.policy, self.policy_scenario.ecosystem, self.dt
        key_tech = [0.0] * N_SECTORS
        for s in eco.key_technology_sectors:
            key_tech[SECTOR_INDEX[s]] += eco.key_technologies / len(eco.key_technology_sectors)
        ref_c = self._ref["centres"]
        eco_mult = []
        for s in range(N_SECTORS):
            c = ref_c if s == SECTOR_INDEX["other"] else self._lev["centres"]
            centres = (1.0 + p.ecosystem_effect * c) / (1.0 + p.ecosystem_effect * ref_c)
            eco_mult.append(centres * (1.0 + p.key_tech_effect * key_tech[s]))
        rate = p.interest_rate
        return {
            "dt": dt,
            "sqrt_dt": math.sqrt(dt),
            "scale": self.scale,
            "eco_mult": eco_mult,
            "vp_effect": p.vp_effect,
            "hazard": p.innovation_hazard,
            "rd_ref": self.pop["hightech_rd_ref"],
            "rd_elasticity": p.innovation_rd_elasticity,
            "jump": 1.0 + p.innovation_jump,
            "rd_decay": math.exp(-p.rd_adjust_rate * dt),
            "sigma_floor": p.sigma_floor,
            "sigma_ref": p.sigma_ref,
            "beta": p.vol_size_beta,
            "log_trend": [math.log1p(t) * dt for t in p.trend().tolist()],
            "capital_intensity": p.capital_intensity,
            "ramp_quarters": max(p.anchor_ramp_quarters, 1.0),
            "targeted": [w > 0 for w in self._weights.tolist()],
            "interest_factor": rate * p.loan_to_output * dt,
            "interest_share": pol.interest_subsidy_share,
            "output_per_worker": self.output_per_worker.tolist(),
            "rent_factor": p.rent_per_worker * dt * pol.rent_subsidy_share,
            "rd_reward_rate": pol.rd_reward_rate,
            "startup_penalty": p.startup_margin_penalty,
            "interest_rate": rate,
            "loan_to_output": p.loan_to_output,
            "min_viable": p.min_viable_output * self.size_unit,
            "p_gain": -math.expm1(-p.certification_rate * dt),
            "p_lose": -math.expm1(-p.decertification_rate * dt),
        }

    def step(self) -> None:
        """Advance one quarter with the rules of ClusterModel.step, firm by firm."""
        if self.quarter >= self.n_steps:
            raise RuntimeError("the run has reached the scenario's end year")
        if not hasattr(self, "k"):
            self.k = self._constants()
            self.ht_bounds = self._ht_bounds.tolist()
            self.ht_min_rd = self._ht_min_rd.tolist()
        self.quarter += 1
        year_i = (self.quarter - 1) // self.steps_per_year
        year = self.start.year + 1 + year_i
        if (self.quarter - 1) % self.steps_per_year == 0:
            self._apply_shocks(year)
        budgets = self.government.step_budgets(self.dt) + self._extra_funds * self.dt
        self._prepare_step()
        self.innovations_this_step = self.exits_this_step = 0
        self.ref_firms.shuffle_do("step")
        self._year_counts["innovations"] += self.innovations_this_step
        self._pay(year_i, budgets)
        self.ref_firms.shuffle_do("settle")
        self._year_counts["exits"] += self.exits_this_step
        self._entry(budgets)
        self._talent_step(year_i, budgets)
        self._incubate()
        self.ref_firms.shuffle_do("certify")
        self._year_output += self.sector_output() * self.dt
        if self.quarter % self.steps_per_year == 0:
            self._record_year(year_i + 1, self._year_output)
            self._year_output = np.zeros(N_SECTORS)

    def _apply_shocks(self, year: int) -> None:
        for shock in self.policy_scenario.uncertainties.shocks:
            if shock.year == year and self.rng.random() < shock.probability:
                hit = {SECTOR_INDEX[s] for s in shock.sectors}
                for a in self.ref_firms:
                    if a.sector in hit:
                        a.output *= 1.0 + shock.output_change

    def _prepare_step(self) -> None:
        """Per-sector inputs of the firms' step: demand change, VPs placed, finance, talent."""
        k, p, eco = self.k, self.params, self.policy_scenario.ecosystem
        k["demand_mult"] = self._demand_multipliers()
        # technology vice-presidents placed this step, one per firm, in R&D-active cluster firms
        n_vp = self.rng.poisson(eco.tech_vp_per_year * self.dt * self.scale)
        if n_vp:
            firms = list(self.ref_firms)
            w = [a.rd_intensity * (a.sector != SECTOR_INDEX["other"]) * (not a.has_vp) for a in firms]
            for i in pick_weighted(self.rng, np.array(w), n_vp).tolist():
                firms[i].has_vp = True
        reward = self.policy_scenario.policy.rd_reward_rate * self._rd_payout_ratio
        k["rd_target_factor"] = 1.0 + p.rd_reward_elasticity * reward
        bank = self.bank
        k["credit_factor"] = [
            bank.loan_to_output * self.dt * (bank.rate / max(r, 1e-6)) ** bank.elasticity
            for r in self._effective_rate.tolist()
        ]
        k["talent_fill"] = [f**p.talent_constraint for f in self._talent_fill.tolist()]

    def _demand_multipliers(self) -> list[float]:
        """Output multiplier per sector from the change in urban-scenario demand this step."""
        delta = self._urban_demand_change().tolist()
        if not any(delta):
            return [1.0] * N_SECTORS
        totals = self.sector_output().tolist()
        return [max(1.0 + d / t, 0.0) if t > 0 else 1.0 for d, t in zip(delta, totals, strict=True)]

    def _pay(self, year_i: int, budgets: np.ndarray) -> None:
        """Pay the firms' claims pro rata up to each instrument's budget; guidance-fund deals."""
        k, p, gov = self.k, self.params, self.government
        idx = funding.INSTRUMENTS.index
        interest = [0.0] * N_SECTORS
        claims = {name: [0.0] * N_SECTORS for name in ("loan_interest", "rent", "rd_reward")}
        for a in self.ref_firms:
            s = a.sector
            interest[s] += a.interest
            claims["loan_interest"][s] += a.claim_interest
            claims["rent"][s] += a.claim_rent
            claims["rd_reward"][s] += a.claim_rd
        ratios = {}
        for name, by_sector in claims.items():
            total, budget = sum(by_sector), float(budgets[idx(name)])
            ratios[name] = 1.0 if total <= budget or total <= 0.0 else budget / total
            paid = np.array(by_sector) * ratios[name]
            gov.ledger.settle(year_i, idx(name), budget, paid, np.arange(N_SECTORS))
        k["pay_interest"], k["pay_rent"], k["pay_rd"] = ratios["loan_interest"], ratios["rent"], ratios["rd_reward"]
        covered = [
            c * ratios["loan_interest"] / max(i, 1e-9) for c, i in zip(claims["loan_interest"], interest, strict=True)
        ]
        self._effective_rate = p.interest_rate * (1.0 - np.array(covered))
        self._rd_payout_ratio = ratios["rd_reward"] if sum(claims["rd_reward"]) > 0 else 1.0
        # guidance-fund equity, co-invested with private venture money, in young targeted firms
        fund = self.guidance_fund
        firms = list(self.ref_firms)
        weights = [
            self._weights[a.sector] * a.productivity
            if a.age < 3 * ag.STARTUP_QUARTERS and not a.anchor and k["targeted"][a.sector]
            else 0.0
            for a in firms
        ]
        budget = budgets[idx("guidance_equity")]
        amounts = funding.deal_amounts(budget, fund.deal_size, sum(w > 0 for w in weights))
        picked = pick_weighted(self.rng, np.array(weights), amounts.size).tolist()
        amounts = amounts[: len(picked)]
        for i, amount in zip(picked, amounts.tolist(), strict=True):
            firms[i].cash += amount * (1.0 + fund.private_leverage)
        gov.ledger.settle(year_i, idx("guidance_equity"), budget, amounts, np.array([firms[i].sector for i in picked]))
        fund.public_invested += amounts.sum()
        fund.private_invested += amounts.sum() * fund.private_leverage
        fund.deals += amounts.size

    def _incubate(self) -> None:
        """Incubation: lifts the R&D of picked innovating non-high-tech firms to the threshold."""
        n_inc = self.rng.poisson(self.policy_scenario.ecosystem.incubation_firms_per_year * self.dt * self.scale)
        if not n_inc:
            return
        firms = list(self.ref_firms)
        thresholds = [a.rd_threshold() for a in firms]
        w = [
            float(not a.high_tech and a.rd_intensity < t and a.innovations > 0)
            for a, t in zip(firms, thresholds, strict=True)
        ]
        for i in pick_weighted(self.rng, np.array(w), n_inc).tolist():
            a = firms[i]
            a.base_rd = max(a.base_rd, thresholds[i])
            a.rd_intensity = a.base_rd


def run_reference_chunk(scenario: Any, seeds: list[np.random.SeedSequence], scale: float = 1.0) -> list[Any]:
    """Run reference replications (for ensemble benchmarks in worker processes); returns the
    tidy tables of model.ensemble.record_tables, as ClusterModel ensembles produce."""
    from model.ensemble import record_tables

    return [record_tables(i, ReferenceModel(scenario, rng=s, scale=scale).run()) for i, s in enumerate(seeds)]
