"""Where reports go: a new folder per report under the output folder, an index of all, `latest` -> newest."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from .html import esc

PAGE = "report.html"


def check_out(out: Path) -> None:
    """Refuse, before any work, an output location this module could not finish writing: --out a file (or
    under one), an existing `latest` that is not a link (a user's folder, never replaced), or a folder that
    cannot be written. Raises ValueError with the one-line reason."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; reports go in a folder of their own")
    parent = next((p for p in [out, *out.parents] if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ValueError(f"--out {out}: {parent} is a file, not a folder")
    link = out / "latest"
    if (link.exists() or link.is_symlink()) and not link.is_symlink():
        raise ValueError(f"{link} exists and is not a link (it would be left pointing at an old report); "
                         "move it away, or choose another --out")
    if (out / "index.html").is_dir():
        raise ValueError(f"{out / 'index.html'} is a folder; the index of reports is written there: move it away")
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {parent} is not writable")


def new_folder(out: Path) -> Path:
    """A fresh folder out/<UTC time>[-k]; never an existing one, so no earlier report is overwritten."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        folder = out / (stamp if k == 0 else f"{stamp}-{k}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{out}: could not find a free folder name for {stamp}")


def _reports(out: Path) -> list[Path]:
    return sorted((p for p in out.iterdir() if p.is_dir() and not p.is_symlink() and (p / PAGE).is_file()),
                  key=lambda p: p.name, reverse=True)


def point_latest(out: Path, folder: Path) -> None:
    """Make out/latest a relative link to folder, replacing the old link atomically (never a real folder)."""
    link = out / "latest"
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a link; move it away so the newest report can be linked")
    tmp = out / f".latest.{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(folder.name, target_is_directory=True)
    os.replace(tmp, link)


def write_index(out: Path, titles: dict[str, str] | None = None) -> Path:
    """out/index.html: every report folder, newest first (rewritten each time; it holds only links)."""
    items = []
    for i, folder in enumerate(_reports(out)):
        desc = (titles or {}).get(folder.name) or _title_of(folder / PAGE)
        tag = " (latest)" if i == 0 else ""
        items.append(f'<li><a href="{esc(folder.name)}/{PAGE}">{esc(folder.name)}</a>{esc(tag)} — {esc(desc)}</li>')
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>lrbench reports</title>'
            '<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:24px auto;padding:0 16px}'
            'li{margin:4px 0}</style></head><body><h1>lrbench reports</h1><ol>' + "".join(items) +
            "</ol></body></html>")
    path = out / "index.html"
    tmp = out / f".index.{os.getpid()}.html"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _title_of(page: Path) -> str:
    try:
        text = page.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return ""
    start, end = text.find('<div class="meta">'), text.find("</div>")
    if start < 0 or end < start:
        return ""
    import html

    return html.unescape(text[start + len('<div class="meta">'):end])
