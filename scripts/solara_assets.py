"""Fill Solara's front-end asset cache from the npm registry, so the dashboard needs no CDN.

Solara's server serves its front-end files (the Vue app, require.js, fonts, the grid layout,
...) from a public CDN, through a proxy that caches each file in
`solara.server.settings.assets.proxy_cache_dir` (<venv>/share/solara/cdn/<package>@<version>/...).
Where the CDN cannot be reached (this project's machines, users behind a firewall) the page
stays blank. The npm registry can be reached: for every package@version that the installed
Solara loads through that proxy (found by scanning Solara's own files, so a Solara upgrade is
followed automatically) and the font-awesome version of its settings, this script runs
`npm pack` and unpacks the package into the cache.

    python scripts/solara_assets.py            # fill what is missing (run by `make setup`)
    python scripts/solara_assets.py --check    # list what is missing; exit 1 if anything is
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CDN_REFERENCE = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\}|solara_cdn\}?|solara\.cdn\}?|_solara/cdn)"
    r"/((?:@[\w.-]+/)?[\w.-]+)@(\d+\.\d+\.\d+[\w.+-]*)/"
)
"""A file loaded through Solara's CDN proxy: <cdn>/<package>@<exact version>/<path>."""
SCANNED = (".vue", ".py", ".j2", ".html", ".js")
SKIPPED_DIRS = ("website",)  # solara.dev's own pages, not part of an app
EXTRA: tuple[str, ...] = ()
"""package@version specs to add if a page ever asks for one the scan does not find."""


def solara_packages() -> list[str]:
    """package@version of everything the installed Solara loads through its CDN proxy."""
    import solara
    from solara.server import settings

    root = Path(solara.__file__).parent
    found: set[str] = set(EXTRA)
    for path in root.rglob("*"):
        if path.suffix not in SCANNED or any(part in SKIPPED_DIRS for part in path.relative_to(root).parts):
            continue
        for name, version in CDN_REFERENCE.findall(path.read_text(errors="replace")):
            found.add(f"{name}@{version}")
    if settings.assets.fontawesome_enabled:
        found.add(settings.assets.fontawesome_path.strip("/").split("/")[0])
    return sorted(found)


def cache_dir() -> Path:
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def is_cached(cache: Path, spec: str) -> bool:
    return (cache / spec / "package.json").is_file()


def npm_pack(spec: str, cache: Path) -> Path:
    """`npm pack spec` and unpack its package/ folder into cache/spec/."""
    target = cache / spec
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["npm", "pack", spec, "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"npm pack {spec} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        tarball = Path(tmp) / proc.stdout.strip().splitlines()[-1]
        staging = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as tar:
            tar.extractall(staging, filter="data")
        (package,) = [p for p in staging.iterdir() if p.is_dir()]  # npm tarballs hold one folder
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            import shutil

            shutil.rmtree(target)
        package.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list missing packages; exit 1 if any")
    args = parser.parse_args(argv)
    cache = cache_dir()
    specs = solara_packages()
    missing = [s for s in specs if not is_cached(cache, s)]
    if args.check:
        for s in missing:
            print(f"missing: {cache / s}")
        return 1 if missing else 0
    for spec in missing:
        print(f"solara assets: npm pack {spec} -> {cache / spec}", file=sys.stderr)
        npm_pack(spec, cache)
    print(f"solara assets: {len(specs)} packages in {cache} ({len(missing)} added)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
