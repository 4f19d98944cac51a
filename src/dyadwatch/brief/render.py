"""The brief model rendered: self-contained HTML (inline CSS and SVG, nothing fetched), Markdown (charts as
SVG files beside it), and PDF (the same HTML printed by headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ..version import __version__
from .model import Brief, BriefError

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
INSTALL_HINT = "install it with `apt-get install chromium`"
PDF_TIMEOUT = 180  # seconds

_CODE = re.compile(r"`([^`]+)`")
_MD_SPECIAL = re.compile(r"([\\*_\[\]<>#|])")


def _inline(text) -> Markup:
    """Escape for HTML, then `code` spans."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(str(text)))))


def _md(text) -> str:
    """Escape Markdown's specials outside `code` spans."""
    parts = re.split(r"(`[^`]+`)", str(text))
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1 else _MD_SPECIAL.sub(r"\\\1", p)
                   for p in parts)


def _cell(text) -> str:
    return _md(str(text).replace("\n", " "))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dyadwatch.brief", "templates"),
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
    )
    env.filters.update(inline=_inline, md=_md, cell=_cell)
    return env


def render_html(brief: Brief) -> str:
    """The brief as one self-contained HTML page (charts inline, styles inline, no external resources)."""
    html = environment().get_template("brief.html.j2").render(brief=brief, version=__version__)
    return re.sub(r"\n{3,}", "\n\n", html)


def render_markdown(brief: Brief, charts_dir: str | os.PathLike | None = None, charts_href: str = "") -> str:
    """The brief as Markdown with footnotes ([^n]). Charts are referenced as `<charts_href><name>.svg`; with
    `charts_dir` their SVG files are written there."""
    if charts_dir is not None:
        d = Path(charts_dir)
        d.mkdir(parents=True, exist_ok=True)
        for chart in brief.charts():
            (d / f"{chart.name}.svg").write_text(
                '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + chart.svg + "\n", encoding="utf-8")
    text = environment().get_template("brief.md.j2").render(brief=brief, charts_href=charts_href, version=__version__)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def find_chromium() -> str | None:
    """$DYADWATCH_CHROMIUM, else chromium on the PATH."""
    env = os.environ.get("DYADWATCH_CHROMIUM")
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, out: str | os.PathLike, *, chromium: str | None = None, timeout: float = PDF_TIMEOUT) -> Path:
    """Print HTML to PDF with headless Chromium (a fresh profile, no network services, no header/footer)."""
    exe = chromium or find_chromium()
    if exe is None:
        raise BriefError(f"PDF output needs Chromium, which is not installed: {INSTALL_HINT}")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dyadwatch-pdf-") as tmp:
        page = Path(tmp) / "brief.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(tmp) / "profile"
        profile.mkdir()
        partial = out.with_name(out.name + ".part")
        partial.unlink(missing_ok=True)
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={partial}",
               "--no-pdf-header-footer", page.as_uri()]
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp, "XDG_CACHE_HOME": tmp}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise BriefError(f"PDF output needs Chromium, which is not installed ({exe} not found): {INSTALL_HINT}") from None
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise BriefError(f"Chromium did not print the PDF within {timeout:.0f} s") from None
        if proc.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
            partial.unlink(missing_ok=True)
            last = next((line for line in reversed(proc.stderr.splitlines()) if line.strip()), "no message")
            raise BriefError(f"Chromium could not print the PDF (exit {proc.returncode}): {last.strip()[:300]}")
        with open(partial, "rb") as f:
            if f.read(5) != b"%PDF-":
                partial.unlink(missing_ok=True)
                raise BriefError("Chromium wrote something that is not a PDF")
        os.replace(partial, out)
    return out


def render_pdf(brief: Brief, out: str | os.PathLike, *, html: str | None = None, chromium: str | None = None) -> Path:
    """The brief's HTML (given, or rendered now) printed to a PDF at `out`."""
    return html_to_pdf(html if html is not None else render_html(brief), out, chromium=chromium)


def write_brief(brief: Brief, out: str | os.PathLike) -> list[Path]:
    """Write the brief in the format its suffix names (.html/.htm, .pdf, .md); returns the files written
    (for Markdown also the charts, in `<stem>_charts/`)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf", ".md"):
        raise BriefError(f"--out {out}: the file name must end in .html, .pdf or .md")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        return [render_pdf(brief, out)]
    if suffix == ".md":
        charts_dir = out.with_name(f"{out.stem}_charts")
        text = render_markdown(brief, charts_dir=charts_dir, charts_href=f"{charts_dir.name}/")
        _atomic_write(out, text)
        return [out, *(charts_dir / f"{c.name}.svg" for c in brief.charts())]
    _atomic_write(out, render_html(brief))
    return [out]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
