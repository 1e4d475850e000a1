"""The seven sectors (clusters): ids, names, 2025-target flags and which count as industry.

Order matters: arrays indexed by sector use `SECTOR_IDS` order everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sector:
    id: str
    name_en: str
    name_zh: str
    target_2025: bool  # one of the four new 100-bn clusters the zone aims for by 2025
    formed_2020: bool  # already a 100-bn cluster in 2020
    industrial: bool  # counted in above-size industrial output (manufacturing)


SECTORS: tuple[Sector, ...] = (
    Sector("auto", "high-end & new-energy/intelligent vehicles", "高端汽车和新能源智能汽车", False, True, True),
    Sector("industrial_internet", "industrial internet", "产业互联网", False, True, False),
    Sector("ngit", "new-generation IT incl. integrated circuits", "新一代信息技术", True, False, True),
    Sector("biotech", "biotech & big health", "生物技术和大健康", True, False, True),
    Sector("xinchuang", "IT application innovation (xinchuang)", "信创", True, False, False),
    Sector("robotics", "robotics & high-end equipment", "机器人和高端装备", True, False, True),
    Sector("other", "other industry", "其他", False, False, True),
)
SECTOR_IDS: tuple[str, ...] = tuple(s.id for s in SECTORS)
N_SECTORS = len(SECTORS)
SECTOR_INDEX: dict[str, int] = {s: i for i, s in enumerate(SECTOR_IDS)}
TARGET_SECTORS: tuple[str, ...] = tuple(s.id for s in SECTORS if s.target_2025)
INDUSTRIAL_MASK: tuple[bool, ...] = tuple(s.industrial for s in SECTORS)
