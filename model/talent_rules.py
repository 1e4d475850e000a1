"""What the talent pool does in a step: the seam ClusterModel calls, as FirmRules is for firms.

Talent cohorts (a number of persons per Mesa agent, see agents.TalentCohort) with a skill field
(the sector) and level arrive ("help find": organic inflow, vacancies, programmes, subsidies paid
to arriving seniors), leave (attrition, less with housing and school places: "help retain"; more
when jobs are short), and are trained a level up ("help train"). Firms' labour demand sets how
much of their growth the pool can staff (Feedback.talent_fill). The programmes' costs are paid by
the government (Government.pay_programmes); talent subsidies are paid per arriving senior from the
talent instrument. The economics are in mechanisms/talent.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .mechanisms import funding, talent
from .policy import services_2020, talent_subsidy_2020
from .sectors import N_SECTORS

if TYPE_CHECKING:
    from .cluster_model import ClusterModel
    from .policy import YearPolicy


class TalentRules:
    """Talent flows of one step, vectorised over the cohort column store."""

    def build(self, m: ClusterModel) -> None:
        """The start pool: what the start population's firms employ, plus frictional slack."""
        slack = m.pop["slack_share"]
        pool = m.labour_demand() / (1.0 - slack)
        n = np.maximum(1, np.round(pool / m.persons_per_agent)).astype(int)
        field = np.repeat(np.arange(N_SECTORS, dtype=np.int8), n)
        m.add_cohorts(field, self.levels(m, field.size))
        self.base_level = self.mean_level(m)
        self.carry = np.zeros(N_SECTORS)  # persons arrived, not yet a whole cohort
        self.services_2020_per_person = services_2020() / m.talent_pool().sum()

    @staticmethod
    def levels(m: ClusterModel, n: int) -> np.ndarray:
        p2, p3 = m.pop["level2_share"], m.pop["level3_share"]
        return m.streams["talent_levels"].choice(np.array([1, 2, 3], dtype=np.int8), size=n, p=[1.0 - p2 - p3, p2, p3])

    @staticmethod
    def mean_level(m: ClusterModel) -> np.ndarray:
        """Mean skill level per field (1 where a field is empty)."""
        c = m.cohorts
        w = c.persons * c.alive
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(c.field, weights=w * c.level, minlength=N_SECTORS) / np.bincount(
                c.field, weights=w, minlength=N_SECTORS
            )
        return np.nan_to_num(mean, nan=1.0)

    def step(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Arrivals, talent subsidies, departures and training of one step."""
        p, fb = m.params, m.feedback
        slack = m.pop["slack_share"]
        need = m.labour_demand()
        pool = m.talent_pool()
        fb.talent_fill = talent.talent_fill(pool, need, slack)
        retention = talent.retention_multiplier(
            eff.services_units, 0.0, pool.sum(), p.services_effect, self.services_2020_per_person
        )
        arrivals = talent.inflow(
            pool, need, p.talent_inflow, p.vacancy_pull, slack, eff.programme_persons, fb.talent_subsidy_mult, m.dt
        )
        m.tally["talent_inflow"] += float(arrivals.sum())
        # talent subsidies per arriving senior (level-3) person, paid from the talent budget
        seniors = arrivals * m.pop["level3_share"]
        paid = m.government.pay("talent", eff.talent_subsidy_per_person * seniors, np.arange(N_SECTORS))
        per_arrival = funding.effective_share(paid.sum(), p.deadweight_talent) / max(seniors.sum(), 1.0)
        base = funding.effective_share(talent_subsidy_2020(), p.deadweight_talent)
        fb.talent_subsidy_mult = talent.subsidy_multiplier(per_arrival, base, p.talent_subsidy_scale)
        # leavers: whole cohorts, with the sector's probability
        c = m.cohorts
        crow = c.live_rows()
        p_out = talent.outflow_probability(
            pool,
            need,
            p.talent_outflow + m.policy_scenario.uncertainties.talent_outflow_shock,
            retention,
            slack,
            p.excess_unemployed_exit,
            m.dt,
        )
        u = m.uniforms("talent_outflow", c.id[crow])
        gone = crow[u < p_out[c.field[crow]]]
        m.tally["talent_outflow"] += float(c.persons[gone].sum())
        m.remove_members("cohorts", gone)
        # arrivals: whole cohorts once enough persons have come
        self.carry += arrivals
        n_new = np.floor(self.carry / m.persons_per_agent).astype(int)
        self.carry -= n_new * m.persons_per_agent
        field = np.repeat(np.arange(N_SECTORS, dtype=np.int8), n_new)
        if field.size:
            m.add_cohorts(field, self.levels(m, field.size))
        # training: places move whole cohorts up one level ("help train")
        crow = c.live_rows()
        trainable = crow[c.level[crow] < 3]
        train = m.streams["training"]
        k = min(train.poisson(eff.training_places * m.dt / m.persons_per_agent), trainable.size)
        if k:
            c.level[train.choice(trainable, size=k, replace=False)] += 1
        fb.skill_multiplier = talent.skill_productivity(self.mean_level(m), self.base_level, p.training_premium)
