"""The zone's investment-promotion bureau (a Mesa agent): pursues major projects, wins some
against other regions, finds them land, pays their incentives from the project-support budget
through the government, and hands them over as anchor firms when they start producing.

Who pays: a project's investment is paid by its investors (private_investors in the accounts:
parent companies and project companies) to its builders and equipment suppliers as construction
advances; the zone's incentive is paid by the government to the investors in instalments during
construction; the working capital of the new plant comes from its investors. The economics are
in mechanisms/projects.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from .data import facts
from .mechanisms import projects
from .sectors import SECTOR_INDEX
from .state import PROJECT_COLUMNS, ColumnStore

if TYPE_CHECKING:
    from .cluster_model import ClusterModel


class ProjectOffice(mesa.Agent):
    """The pipeline of major projects: leads won, waiting for approval and land, building."""

    def __init__(self, model: ClusterModel) -> None:
        super().__init__(model)
        self.pipeline = ColumnStore(PROJECT_COLUMNS, capacity=64)
        self.won = 0
        self.lost = 0
        self.started = 0
        self.investment_won = 0.0  # yuan

    def add_known(self, kp: Any, build_steps: np.ndarray) -> None:
        """Signed projects of the start-of-run pipeline (`inputs.KnownProjects`), building: land
        arranged unless a project still needs some (it then waits for the zone's supply),
        incentive owed paid in instalments over construction, their own delay risk and ramp-up
        time where given (else the behavioural parameters'), times their export-control factor."""
        if kp.sector.size:
            p = self.model.params
            build = np.maximum(build_steps, 0.0)
            incentive = kp.incentive_share * kp.investment
            ramp = np.where(np.isnan(kp.ramp_years), p.project_ramp_years, kp.ramp_years) * kp.ramp_factor
            self.pipeline.append(
                kp.sector.size,
                sector=kp.sector,
                investment=kp.investment,
                known=True,
                has_land=kp.land_ha <= 0,
                land_ha=kp.land_ha,
                build_left=build,
                incentive_left=incentive,
                instalment=incentive / np.maximum(build, 1.0),
                delay_hazard=np.where(np.isnan(kp.delay_hazard), p.project_delay_hazard, kp.delay_hazard),
                ramp_years=ramp,
            )

    def step(self, eff: Any, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step of the pipeline. Returns (sector, investment, ramp-up years) of the projects
        that start producing now."""
        model, p, pl = self.model, self.model.params, self.pipeline
        rng = model.streams["projects"]
        steps_per_year = 1.0 / dt
        # leads pursued and won (one uniform per lead: a better offer wins a superset of the leads
        # a worse one wins, under common random numbers); sizes are heavy-tailed
        leads = rng.poisson(eff.projects_pursued * dt)
        lead_sector = np.repeat(np.arange(len(leads), dtype=np.int8), leads)
        sector = lead_sector[rng.random(lead_sector.size) < eff.win_probability]
        if sector.size:
            inv = projects.project_sizes(
                model.streams["project_size"],
                sector.size,
                eff.median_investment,
                p.project_size_sigma,
                model.pop["project_largest_yuan"],
            )
            incentive = eff.incentive_share * inv
            build = np.full(sector.size, max(p.project_build_years * steps_per_year, 1.0))
            pl.append(
                sector.size,
                sector=sector,
                investment=inv,
                approval_left=eff.approval_months / 12.0 * steps_per_year,
                land_ha=projects.land_needed(inv, p.project_land_coef),
                build_left=build,
                incentive_left=incentive,
                instalment=incentive / build,
                delay_hazard=p.project_delay_hazard,
                ramp_years=p.project_ramp_years,
            )
            self.won += sector.size
            self.investment_won += float(inv.sum())
            model.tally["projects_won"] += sector.size
            model.tally["project_investment"] += float(inv.sum())
        # waiting: approval, then land (first come, first served); a project kept waiting may leave
        model.feedback.land_ha += eff.land_ha_per_year * dt
        live = pl.live_rows()
        waiting = live[~pl.has_land[live]]
        pl.approval_left[waiting] = np.maximum(pl.approval_left[waiting] - 1.0, 0.0)
        ready = waiting[pl.approval_left[waiting] <= 0.0]
        got = ready[projects.allocate_land(model.feedback.land_ha, pl.land_ha[ready])]
        pl.has_land[got] = True
        model.feedback.land_ha -= float(pl.land_ha[got].sum())
        still = np.setdiff1d(waiting, got, assume_unique=True)
        p_loss = -np.expm1(-p.project_loss_hazard * dt)
        gone = still[model.uniforms("project_loss", pl.id[still]) < p_loss]
        pl.remove(gone)
        self.lost += gone.size
        # construction: incentive instalments paid from the project-support budget to the
        # investors; a shortfall or a slipped step delays it; the investors pay the builders
        building = pl.live_rows()[pl.has_land[pl.alive]]
        claims = np.minimum(pl.instalment[building], pl.incentive_left[building])
        paid = model.government.pay("project_support", claims, pl.sector[building].astype(np.int64))
        pl.incentive_left[building] -= paid
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(claims > 0, paid / claims, 1.0)
        p_slip = -np.expm1(-pl.delay_hazard[building] * dt)
        slipped = model.uniforms("project_delay", pl.id[building]) < p_slip
        progress = projects.construction_progress(share, slipped)
        build_steps = max(p.project_build_years * steps_per_year, 1.0)
        new = ~pl.known[building]  # known projects' money was committed before the run
        model.accounts.pay("project_construction", float((pl.investment[building] * progress / build_steps)[new].sum()))
        pl.build_left[building] -= progress
        done = building[pl.build_left[building] <= 0.0]
        pl.remove(done)
        self.started += done.size
        model.tally["projects_started"] += done.size
        return pl.sector[done], pl.investment[done], pl.ramp_years[done]

    def hand_over(self, eff: Any) -> None:
        """This step's pipeline (`step`); projects that start producing become anchor firms with
        their capacity built and their offtake ramping up (FirmRules.ramp_up), their working
        capital paid by their investors, and pull in suppliers (EntryRules.add_suppliers)."""
        m = self.model
        sector, investment, ramp_years = self.step(eff, m.dt)
        if not sector.size:
            return
        target = projects.full_output(investment, m.project_turnover[sector]) * m.markets.price[sector]
        ramp = np.maximum(np.round(ramp_years * m.steps_per_year), 1)
        cash = m.params.cash_target_years * target
        m.accounts.pay("project_capital", float(cash.sum()))
        m.add_firms(
            sector=sector,
            weight=1.0,
            capacity=target,
            cash=cash,
            productivity=m.markets.quality[sector],
            rd_intensity=m.sector_rd[sector],
            base_rd=m.sector_rd[sector],
            margin=m.sector_margin[sector],
            anchor=True,
            ramp_left=ramp,
            ramp_steps=ramp,
            ramp_target=target,
        )
        m.entry_rules.add_suppliers(m, sector, np.full(sector.size, eff.suppliers_per_project))

    def open_vaccine_plant(self) -> None:
        """The zone's vaccine plant (known_in_early_2021.md §A), built in 2020 by its parent,
        sells its doses on contract from the first projected year while they last (in runs that
        draw its output booked in the zone); its working capital comes from its parent."""
        m = self.model
        doses, p = m.inputs.vaccine_sales, m.params
        if doses.max() <= 0:
            return
        s = SECTOR_INDEX[facts()["early_2021"]["vaccine_plant"]["sector"]]
        cash = p.cash_target_years * float(doses.max())
        (row,) = m.add_firms(
            sector=np.array([s], dtype=np.int8),
            weight=1.0,
            capacity=float(doses.max()),
            cash=cash,
            productivity=1.0,
            rd_intensity=m.sector_rd[s],
            base_rd=m.sector_rd[s],
            margin=m.sector_margin[s],
            anchor=True,
        )
        m.vaccine_id = int(m.firms.id[row])
        m.accounts.pay("project_capital", cash)
