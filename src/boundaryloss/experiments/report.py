"""A report as a list of blocks, rendered to Markdown (figures as PNG files beside it)
and to self-contained HTML (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._files import write_text_atomically
from .comparison_folder import ComparisonFolder

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figcaption { font-size: 0.9em; color: #555; }
"""


@dataclass
class Table:
    """A table in both formats (built by :mod:`.table` or :func:`simple_table`)."""

    markdown: str
    html: str


@dataclass
class Figure:
    """A PNG file of the report's ``figures/`` folder with its caption."""

    path: Path
    caption: str


@dataclass
class Report:
    """Headings, paragraphs, bullet lists, code, tables and figures, in order."""

    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("p", text))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(("ul", items))

    def code(self, text: str) -> None:
        self.blocks.append(("pre", text))

    def table(self, table: Table) -> None:
        self.blocks.append(("table", table))

    def figure(self, figure: Figure) -> None:
        self.blocks.append(("figure", figure))

    @property
    def figure_paths(self) -> list[Path]:
        """The PNG files of the report's figures, in order."""
        return [value.path for kind, value in self.blocks if kind == "figure"]

    def to_markdown(self, root: Path) -> str:
        parts = [f"# {self.title}\n"]
        for kind, value in self.blocks:
            if kind == "h2":
                parts.append(f"## {value}\n")
            elif kind == "p":
                parts.append(f"{value}\n")
            elif kind == "ul":
                parts.append("".join(f"- {item}\n" for item in value))
            elif kind == "pre":
                parts.append(f"```\n{value.rstrip()}\n```\n")
            elif kind == "table":
                parts.append(value.markdown)
            elif kind == "figure":
                relative = os.path.relpath(value.path, root).replace(os.sep, "/")
                parts.append(f"![{value.path.stem}]({relative})\n\n*{value.caption}*\n")
        return "\n".join(parts)

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for kind, value in self.blocks:
            if kind == "h2":
                parts.append(f"<h2>{html.escape(value)}</h2>")
            elif kind == "p":
                parts.append(f"<p>{html.escape(value)}</p>")
            elif kind == "ul":
                parts.append(
                    "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in value) + "</ul>"
                )
            elif kind == "pre":
                parts.append(f"<pre>{html.escape(value)}</pre>")
            elif kind == "table":
                parts.append(value.html)
            elif kind == "figure":
                data = base64.b64encode(value.path.read_bytes()).decode("ascii")
                caption = html.escape(value.caption)
                parts.append(
                    f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"

    def write(self, folder: ComparisonFolder) -> tuple[Path, Path]:
        """Write the Markdown and HTML reports of ``folder`` (``report.md`` and
        ``report.html``), each atomically; returns their paths."""
        md, page = folder.report_markdown, folder.report_html
        write_text_atomically(md, self.to_markdown(folder.path))
        write_text_atomically(page, self.to_html())
        return md, page


def simple_table(header: list[str], rows: list[list[str]]) -> Table:
    """A plain table (no emphasis) in both formats."""
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return Table(
        "\n".join(md) + "\n", f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
