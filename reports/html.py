"""Small HTML builders; every piece of text passes through `esc` (results carry names from anywhere)."""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1280px;
       padding: 0 24px 48px; color: #1d1d1f; line-height: 1.45; }
h1 { margin: 24px 0 4px; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 40px; }
h3 { margin-top: 24px; }
.meta { color: #555; font-size: 14px; }
nav ol { columns: 2; font-size: 14px; }
figure { margin: 12px 0 20px; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #444; max-width: 1000px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f4f4f6; } td.name, th.name { text-align: left; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 6px 12px; font-size: 14px; max-width: 1000px; }
.error { background: #fdecea; border-left: 4px solid #d93025; padding: 6px 12px; font-size: 14px; }
.better { background: #e6f4ea; } .worse { background: #fce8e6; } .muted { color: #888; }
details { margin: 8px 0; } code { background: #f4f4f6; padding: 0 3px; }
"""

# Marks the page with how many figures decoded, so a headless browser (and a reader) can check it.
SELF_CHECK = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.setAttribute("data-figures", String(imgs.length));
  document.body.setAttribute("data-figures-broken", String(bad.length));
});
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


@dataclass
class Cell:
    """A table cell: text (escaped on output), an optional CSS class and inline background colour."""

    text: object
    cls: str = ""
    bg: str = ""
    fg: str = ""
    title: str = ""


def table(headers: list, rows: list[list], name_cols: int = 1) -> str:
    """An HTML table; the first name_cols columns are left-aligned names."""
    def cell(tag: str, c, i: int) -> str:
        c = c if isinstance(c, Cell) else Cell(c)
        classes = " ".join(x for x in (c.cls, "name" if i < name_cols else "") if x)
        style = ";".join(x for x in (f"background:{c.bg}" if c.bg else "", f"color:{c.fg}" if c.fg else "") if x)
        attrs = (f' class="{esc(classes)}"' if classes else "") + (f' style="{esc(style)}"' if style else "") \
            + (f' title="{esc(c.title)}"' if c.title else "")
        return f"<{tag}{attrs}>{esc(c.text)}</{tag}>"

    head = "<tr>" + "".join(cell("th", h, i) for i, h in enumerate(headers)) + "</tr>"
    body = "".join("<tr>" + "".join(cell("td", c, i) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"


def figure(png: bytes, alt: str, caption: str, filename: str) -> str:
    """An embedded PNG (base64) with a caption and a link to the file saved beside the page."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
            f'<figcaption>{esc(caption)} <a href="{esc(filename)}">{esc(filename)}</a></figcaption></figure>')


def p(text: str, cls: str = "") -> str:
    return f'<p class="{esc(cls)}">{esc(text)}</p>' if cls else f"<p>{esc(text)}</p>"


def ul(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def page(title: str, meta: list[str], sections: list[tuple[str, str, str]]) -> str:
    """The whole document: sections are (anchor, heading, already-escaped HTML body)."""
    nav = "".join(f'<li><a href="#{esc(a)}">{esc(h)}</a></li>' for a, h, _ in sections)
    body = "".join(f'<section id="{esc(a)}"><h2>{esc(h)}</h2>{b}</section>' for a, h, b in sections)
    metas = "".join(f'<div class="meta">{esc(m)}</div>' for m in meta)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style><script>{SELF_CHECK}</script></head>"
            f"<body><h1>{esc(title)}</h1>{metas}<nav><ol>{nav}</ol></nav>{body}</body></html>")


def heat(value: float | None, lo: float, hi: float, cmap: str = "viridis") -> tuple[str, str]:
    """(background, text colour) for value on [lo, hi] from a matplotlib colour map; grey for None."""
    if value is None:
        return "#d9d9d9", "#000"
    import matplotlib

    r, g, b, _ = matplotlib.colormaps[cmap](min(max((value - lo) / (hi - lo), 0.0), 1.0))
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    return f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)})", "#000" if lum > 0.55 else "#fff"
