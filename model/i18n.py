"""Every word a planner reads in a chart or a report, in English and Chinese, in one place.

`tr(key, lang, **values)` returns the text of `key` in `lang` ("en" or "zh") with `values`
filled in (str.format). Money is shown in the unit planners use in each language: billions of
yuan in English, 亿元 (1 亿 = 0.1 bn) in Chinese (`money`, `MONEY_FACTOR`), so "100 bn yuan"
reads "1,000亿元" (千亿). Cluster names come from model/sectors.py (`cluster_name`), with short
forms for compact labels here. A test checks that every key has both languages and the same
placeholders in each.
"""

from __future__ import annotations

import math
from typing import Literal

from .sectors import SECTORS, Sector

Lang = Literal["en", "zh"]
LANGS: tuple[str, ...] = ("en", "zh")

MONEY_FACTOR = {"en": 1.0, "zh": 10.0}
"""Display units per bn yuan: 1 bn yuan in English, 10 亿元 in Chinese."""

SHORT_NAMES: dict[str, tuple[str, str]] = {
    "auto": ("vehicles", "汽车"),
    "industrial_internet": ("industrial internet", "产业互联网"),
    "ngit": ("new-generation IT", "新一代信息技术"),
    "biotech": ("biotech & health", "生物技术和大健康"),
    "xinchuang": ("xinchuang (IT innovation)", "信创"),
    "robotics": ("robotics & equipment", "机器人和高端装备"),
    "other": ("other industry", "其他"),
    "all_four": ("all four targets", "四个目标集群全部"),
}

TEXT: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ units and words
    "money": ("{value} bn yuan", "{value}亿元"),
    "money_axis": ("output, bn yuan/yr", "产值（亿元/年）"),
    "money_diff_axis": ("difference in {end} output, bn yuan/yr", "{end}年产值差（亿元/年）"),
    "threshold_line": ("{money}", "{money}（千亿）"),
    "target_year": ("{end} target ", "{end}年目标 "),
    "target_suffix": (" (2025 target)", "（2025年目标）"),
    "p_headline": ("P(≥100 bn by {end}) = {p} [{lo}, {hi}]", "{end}年前达千亿概率 = {p} [{lo}, {hi}]"),
    "median_cross": ("median crossing year {year}", "中位突破年份：{year}年"),
    "median_no_cross": ("median run does not cross", "中位模拟未突破"),
    "band_80": ("80% band", "80%区间"),
    "band_50": ("50% band", "50%区间"),
    "median_runs": ("median of runs", "模拟中位数"),
    "data_points": (
        "data 2015-2020 (2015 derived; 2020 estimate, range)",
        "数据 2015–2020年（2015年为推算值；2020年为估计值及范围）",
    ),
    "legend_title": ("P: share of runs that reach 100 bn\n[95% interval]", "P：达到千亿元的模拟比例\n[95%置信区间]"),
    "fan_title": (
        "{scenario}: annual output by cluster, {first}-{end}",
        "{scenario}：各产业集群年产值，{first}–{end}年",
    ),
    "footer": (
        "scenario {scenario} · {runs} runs · seed {seed} · scale {scale}",
        "情景 {scenario} · {runs}次模拟 · 随机种子 {seed} · 规模 {scale}",
    ),
    "footer_params": ("parameters: {how}", "参数：{how}"),
    "footer_model": ("model {version}", "模型版本 {version}"),
    "start_note": (
        "{cluster}: the {year} median ({median}) lies {side} the {year} data point ({value}) because each run "
        "draws {year} output uniformly from the published range {range}, whose middle is {middle}.",
        "{cluster}：{year}年中位数（{median}）{side}{year}年数据点（{value}），因为每次模拟从公布范围"
        "{range}中均匀抽取{year}年产值，该范围中点为{middle}。",
    ),
    "start_note_plain": (
        "{cluster}: the {year} median ({median}) lies {side} the {year} data point ({value}): runs draw the "
        "{year} state, not only the central estimate.",
        "{cluster}：{year}年中位数（{median}）{side}{year}年数据点（{value}）：模拟抽取{year}年状态，"
        "并非只取中心估计值。",
    ),
    "above": ("above", "高于"),
    "below": ("below", "低于"),
    "note_prefix": ("Note: ", "注："),
    # parameter uncertainty (summary.json parameter_uncertainty)
    "posterior draws, priors for the rest": ("posterior draws, priors for the rest", "后验抽样，其余参数取先验"),
    "point estimate": ("point estimate", "点估计"),
    "uncalibrated defaults": ("uncalibrated defaults", "未校准默认值"),
    "prior draws (not calibrated)": ("prior draws (not calibrated)", "先验抽样（未校准）"),
    # ------------------------------------------------------------------ comparison chart
    "cmp_title": (
        "Scenarios compared with common random numbers: {runs} paired runs, seed {seed}, scale {scale}",
        "情景比较（共同随机数）：每个情景{runs}次配对模拟，随机种子 {seed}，规模 {scale}",
    ),
    "cmp_paths_axis": ("output, bn yuan/yr (median)", "产值（亿元/年，中位数）"),
    "cmp_band_note": ("shaded: {baseline} p10-p90", "阴影：{baseline}的p10–p90区间"),
    "cmp_dp_axis": ("difference in P(≥100 bn by {end})", "{end}年前达千亿概率之差"),
    "cmp_dout_title": ("{end} output: scenario minus {baseline}, 95% CI", "{end}年产值：情景减{baseline}，95%置信区间"),
    "cmp_dp_title": (
        "P(≥100 bn by {end}): scenario minus {baseline}, 95% CI",
        "{end}年前达千亿概率：情景减{baseline}，95%置信区间",
    ),
    "year": ("year", "年份"),
    # ------------------------------------------------------------------ discovery chart
    "disc_title": (
        "Where {event} ≥ {p_min}: {passing} of {points} lever combinations pass ({reps} runs each)",
        "{event} ≥ {p_min}的条件：{points}个政策组合中{passing}个达标（每个{reps}次模拟）",
    ),
    "disc_box": (
        "box {k}: {coverage} of passing points inside, {density} of points inside pass",
        "区域{k}：达标组合中{coverage}落在区域内，区域内{density}的组合达标",
    ),
    "disc_explored": ("explored range", "探索范围"),
    "disc_pass": ("passes", "达标"),
    "disc_fail": ("fails", "未达标"),
    "disc_no_box": ("no box: no point passes", "无区域：没有组合达标"),
    "disc_axis": ("position in the explored range (ends labelled)", "在探索范围中的位置（两端标注数值）"),
    "disc_box_range": ("box {k} range", "区域{k}范围"),
    # ------------------------------------------------------------------ effects and variance charts
    "eff_title": ("Effect on {end} output and on P(≥100 bn), 95% CI", "对{end}年产值和达千亿概率的影响（95%置信区间）"),
    "eff_out_axis": ("difference in {end} output, bn yuan/yr", "{end}年产值差（亿元/年）"),
    "eff_p_axis": ("difference in P(≥100 bn by {end})", "{end}年前达千亿概率之差"),
    "var_p": ("P(≥100 bn): {cluster}", "达千亿概率：{cluster}"),
    "var_output": ("{year} output: {cluster}", "{year}年产值：{cluster}"),
    "var_gdp": ("GDP {year}", "{year}年地区生产总值"),
    "var_industrial": ("industrial output {year}", "{year}年工业总产值"),
    "var_axis": ("share of the outcome's variance", "占结果方差的比例"),
    "var_parameters": ("parameters", "行为参数"),
    "var_baseline": ("2020 data", "2020年数据"),
    "var_stochastic": ("randomness (shocks, events)", "随机性（冲击、事件）"),
    # ------------------------------------------------------------------ report
    "report_title": ("E-Town cluster projection: {scenario}", "北京经开区产业集群预测：{scenario}"),
    "report_subtitle": (
        "An ex-ante projection made with data up to 2020 (Mesa agent-based model, Monte Carlo ensemble)",
        "基于截至2020年数据的事前预测（Mesa主体模型，蒙特卡洛模拟）",
    ),
    "question_h": ("The question", "问题"),
    "question": (
        "Under the scenario <b>{scenario}</b>, with what probability does each of the four target clusters "
        "(new-generation IT, biotech &amp; health, xinchuang, robotics &amp; equipment) reach 100 bn yuan of "
        "annual output by {end}, and when?",
        "在情景<b>{scenario}</b>下，四个目标产业集群（新一代信息技术、生物技术和大健康、信创、机器人和高端装备）"
        "到{end}年年产值达到千亿元的概率是多少？何时达到？",
    ),
    "description": ("Scenario description: {text}", "情景说明：{text}"),
    "headline_h": ("Headline: probability of a 100-bn cluster by {end}", "主要结果：{end}年前形成千亿级产业集群的概率"),
    "col_cluster": ("cluster", "产业集群"),
    "col_p": ("P(≥100 bn by {end})", "{end}年前达千亿概率"),
    "col_ci": ("95% CI", "95%置信区间"),
    "col_words": ("in words", "文字说明"),
    "col_cross": ("when", "何时突破"),
    "col_median": ("median {end} output", "{end}年产值中位数"),
    "col_band": ("80% band {end}", "{end}年80%区间"),
    "all_four_row": ("all four targets together", "四个目标集群全部达到"),
    "target_mark": ("target", "目标"),
    "likely_very": ("very likely", "很可能"),
    "likely": ("likely", "可能"),
    "likely_even": ("about as likely as not", "可能性约一半"),
    "unlikely": ("unlikely", "不太可能"),
    "unlikely_very": ("very unlikely", "很不可能"),
    "cross_already": ("already above 100 bn in {year}", "{year}年已超过千亿"),
    "cross_median": ("half the runs have crossed by {year}", "半数模拟在{year}年前突破"),
    "cross_some": ("fewer than half the runs cross by {end}", "到{end}年突破的模拟不足半数"),
    "cross_none": ("no run crosses by {end}", "到{end}年没有模拟突破"),
    "words_note": (
        "In words: very likely ≥ 0.9, likely ≥ 0.66, about as likely as not ≥ 0.33, unlikely ≥ 0.1, "
        "very unlikely below. The 95% interval is the sampling precision of P from {runs} runs.",
        "文字说明：≥0.9 很可能，≥0.66 可能，≥0.33 可能性约一半，≥0.1 不太可能，其余很不可能。"
        "95%置信区间为{runs}次模拟估计概率的抽样精度。",
    ),
    "fan_h": ("Projected output by cluster", "各产业集群产值预测"),
    "fan_caption": (
        "Median and 50%/80% bands of annual output across runs; 2015 and 2020 data points; the 100-bn line.",
        "各次模拟年产值的中位数及50%/80%区间；2015年和2020年数据点；千亿元线。",
    ),
    "compare_h": ("Comparison with {baseline}", "与{baseline}的比较"),
    "compare_paired": (
        "Runs are paired (same seed {seed}: the same parameter draws, 2020 draws and shocks in every scenario); "
        "differences are scenario minus {baseline}, mean over paired runs with 95% CI.",
        "各情景的模拟配对（相同随机种子{seed}：相同的参数抽样、2020年抽样和冲击）；差值为情景减{baseline}，"
        "为配对模拟的均值及95%置信区间。",
    ),
    "compare_unpaired": (
        "The results were run with different seeds, runs or scales: differences are between independent "
        "ensembles (Welch 95% CI), wider than paired ones.",
        "各结果的随机种子、模拟次数或规模不同：差值来自独立模拟（Welch 95%置信区间），比配对比较宽。",
    ),
    "col_scenario": ("scenario", "情景"),
    "col_dp": ("difference in P [95% CI]", "概率差 [95%置信区间]"),
    "col_dout": ("difference in {end} output [95% CI]", "{end}年产值差 [95%置信区间]"),
    "baseline_cell": ("reference", "参照"),
    "effects_h": ("What each lever or measure contributes", "各政策杠杆或措施的作用"),
    "effects_note": (
        "Differences: {convention}; {runs} paired runs, seed {seed}, scale {scale}.",
        "差值：{convention}；{runs}次配对模拟，随机种子{seed}，规模{scale}。",
    ),
    "col_variant": ("variant", "变体"),
    "col_change": ("change", "变化"),
    "no_effect": ("no detectable effect", "无可检测的影响"),
    "uncertainty_h": ("Main uncertainties", "主要不确定性"),
    "uncertainty_note": (
        "Share of each outcome's variance across runs from each source ({params} parameter draws x {baselines} "
        "2020 draws x {seeds} runs, scale {scale}).",
        "各结果方差按来源分解（{params}组参数 x {baselines}组2020年抽样 x {seeds}次模拟，规模{scale}）。",
    ),
    "uncertainty_sources": (
        "Each run draws what the zone does not know or control: behavioural parameters ({how}), the 2020 sector "
        "outputs from their published ranges, yearly demand shocks, the timing and size of the signed projects, and "
        "the model's own randomness.",
        "每次模拟抽取经开区无法知道或控制的因素：行为参数（{how}）、2020年各行业产值（公布范围内）、"
        "年度需求冲击、已签约项目的时间和规模，以及模型自身的随机性。",
    ),
    "col_outcome": ("outcome", "结果"),
    "col_mean": ("mean", "均值"),
    "fit_h": ("How well the model fits the history", "模型对历史的拟合"),
    "fit_summary": (
        "Calibration (ABC-SMC on 2015-2020): {inside} of {total} targets lie inside the posterior-predictive 80% band.",
        "校准（2015–2020年ABC-SMC）：{total}个目标中有{inside}个落在后验预测80%区间内。",
    ),
    "fit_outside": ("Outside the band: {names}.", "区间外：{names}。"),
    "backtest_summary": (
        "Out-of-sample test (calibrated to {until}, scored on {n} later values): {in50} inside the 50% band, "
        "{in80} inside the 80% band; CRPS {crps} against {naive} for a naive trend.",
        "样本外检验（校准至{until}年，对其后{n}个观测评分）：{in50}落在50%区间内，{in80}落在80%区间内；"
        "CRPS为{crps}，朴素趋势为{naive}。",
    ),
    "no_backtest": (
        "No backtest result was given (etown backtest writes one; pass its folder to etown report).",
        "未提供样本外检验结果（由 etown backtest 生成；将其目录传给 etown report）。",
    ),
    "provenance_h": ("How this was computed", "计算说明"),
    "prov_scenario": ("scenario", "情景"),
    "prov_file": ("scenario file (sha256)", "情景文件（sha256）"),
    "prov_seed": ("seed", "随机种子"),
    "prov_runs": ("runs", "模拟次数"),
    "prov_scale": ("scale (share of firms simulated)", "规模（模拟企业比例）"),
    "prov_params": ("parameters", "参数"),
    "prov_version": ("model version", "模型版本"),
    "prov_calibration": ("calibration", "校准"),
    "prov_calibrated": (
        "{method}; data to {until}; {date}; data file sha256 {sha}",
        "{method}；数据截至{until}年；{date}；数据文件sha256 {sha}",
    ),
    "prov_uncalibrated": (
        "not calibrated (defaults of model/data/parameters.yaml)",
        "未校准（model/data/parameters.yaml默认值）",
    ),
    "prov_sources": ("result folders", "结果目录"),
    "report_footer": (
        "Generated by etown report {version} on {date}. Bands are the spread across runs; they are conditional on "
        "the scenario's levers and the model's structure.",
        "由 etown report {version} 于{date}生成。区间为各次模拟的分布，以情景政策和模型结构为前提。",
    ),
    "lang_other": ("中文版", "English version"),
}


def tr(key: str, lang: Lang = "en", **values: object) -> str:
    """The text of `key` in `lang`, with `values` filled in."""
    en, zh = TEXT[key]
    return (zh if lang == "zh" else en).format(**values)


def check_lang(lang: str) -> Lang:
    """`lang` if it is a supported language; a ValueError naming the choices otherwise."""
    if lang not in LANGS:
        raise ValueError(f"--lang: must be {' or '.join(LANGS)}, got {lang!r}")
    return lang  # type: ignore[return-value]


def sector(sid: str) -> Sector:
    return next(s for s in SECTORS if s.id == sid)


def cluster_name(sid: str, lang: Lang = "en", short: bool = False) -> str:
    """A cluster's name (`all_four` included) in `lang`; `short` for compact labels."""
    if short or sid == "all_four":
        return SHORT_NAMES[sid][lang == "zh"]
    s = sector(sid)
    return s.name_zh if lang == "zh" else s.name_en


def money(bn: float, lang: Lang = "en", digits: int = 1, sign: bool = False) -> str:
    """An amount given in bn yuan, in the language's unit: "12.3 bn yuan" or "123亿元"."""
    if bn is None or (isinstance(bn, float) and math.isnan(bn)):
        return "-"
    value = bn * MONEY_FACTOR[lang]
    d = max(digits - 1, 0) if lang == "zh" else digits
    text = f"{value:+,.{d}f}" if sign else f"{value:,.{d}f}"
    return tr("money", lang, value=text)


def money_ci(mid_bn: float, lo_bn: float, hi_bn: float, lang: Lang = "en", digits: int = 1) -> str:
    """A signed difference in bn yuan with its interval, one unit: "+6.7 [+2.6, +10.7] bn yuan"."""
    if mid_bn is None or (isinstance(mid_bn, float) and math.isnan(mid_bn)):
        return "-"
    k = MONEY_FACTOR[lang]
    d = max(digits - 1, 0) if lang == "zh" else digits

    def f(x: float | None) -> str:
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * k:+,.{d}f}"

    return tr("money", lang, value=f"{f(mid_bn)} [{f(lo_bn)}, {f(hi_bn)}]")


def money_range(low_bn: float, high_bn: float, lang: Lang = "en", digits: int = 0) -> str:
    """A range of amounts in bn yuan: "5-30 bn yuan" or "50–300亿元"."""
    k = MONEY_FACTOR[lang]
    d = max(digits - 1, 0) if lang == "zh" else digits
    dash = "–" if lang == "zh" else "-"
    return tr("money", lang, value=f"{low_bn * k:,.{d}f}{dash}{high_bn * k:,.{d}f}")


def likelihood_words(p: float, lang: Lang = "en") -> str:
    """A probability in calibrated words (IPCC-style bins)."""
    for bound, key in ((0.9, "likely_very"), (0.66, "likely"), (0.33, "likely_even"), (0.1, "unlikely")):
        if p >= bound:
            return tr(key, lang)
    return tr("unlikely_very", lang)


def crossing_words(cross_year: int | None, p: float, start_year: int, end_year: int, lang: Lang = "en") -> str:
    """When a cluster reaches 100 bn, in words, from its median crossing year and P."""
    if cross_year is not None and int(cross_year) <= start_year:
        return tr("cross_already", lang, year=start_year)
    if cross_year is not None:
        return tr("cross_median", lang, year=int(cross_year))
    return tr("cross_some" if p > 0 else "cross_none", lang, end=end_year)
