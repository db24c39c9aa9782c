"""The set-up page as a small document (headings, paragraphs, steps, notes, code), rendered
to HTML and to Markdown with the same content.

Texts are written as templates (``ops/setup_text.py``) whose ``{name}`` placeholders take
values from the configuration; a value is never markup: each renderer escapes it for its
own format, so a point of sale called ``<script>`` or ``**x**`` shows as written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Link:
    text: str
    href: str   # a file of the kit, named by the code: never from the configuration


Inline = str | Code | Strong | Link
Text = tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    level: int
    text: Text


@dataclass(frozen=True)
class Paragraph:
    text: Text


@dataclass(frozen=True)
class Steps:
    items: tuple[Text, ...]
    ordered: bool = True


@dataclass(frozen=True)
class Note:
    text: Text
    warning: bool = False


@dataclass(frozen=True)
class CodeBlock:
    code: str


Block = Heading | Paragraph | Steps | Note | CodeBlock
Value = str | Code | Strong | Link | Sequence[Inline]

_PLACEHOLDER = re.compile(r"\{(\w+)\}|\*\*(.+?)\*\*")


def fill(template: str, **values: Value) -> Text:
    """The template's text with ``{name}`` replaced by ``values[name]`` (kept as data, never
    parsed) and ``**label**`` as a Strong (a label of the mail client's screens)."""
    parts: list[Inline] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(template[position:match.start()])
        if match.group(1) is not None:
            value = values[match.group(1)]
            if isinstance(value, (str, Code, Strong, Link)):
                parts.append(value)
            else:
                parts.extend(value)
        else:
            parts.append(Strong(match.group(2)))
        position = match.end()
    if position < len(template):
        parts.append(template[position:])
    return tuple(parts)


def joined(values: Iterable[Inline], separator: str = ", ") -> tuple[Inline, ...]:
    parts: list[Inline] = []
    for value in values:
        if parts:
            parts.append(separator)
        parts.append(value)
    return tuple(parts)


def plain(text: Text) -> str:
    """The text as a reader sees it, without markup (a page title)."""
    return "".join(part if isinstance(part, str) else part.text for part in text)


# --------------------------------------------------------------------------- HTML

_STYLE = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; margin: 0; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .5rem;
border-bottom: 1px solid #d9e2ec; padding-bottom: .25rem; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Consolas, monospace; font-size: .92em;
background: #f0f4f8; border-radius: 3px; overflow-wrap: anywhere; }
code { padding: .05em .3em; } pre { padding: .75rem; overflow-x: auto; white-space: pre-wrap; }
.note { border-left: 4px solid #9fb3c8; background: #f7f9fb; padding: .5rem .75rem; }
.warning { border-left-color: #d64545; background: #fff5f5; }
li { margin: .25rem 0; }
"""


def render_html(blocks: Sequence[Block], *, title: str, language: str) -> str:
    """A self-contained page: no script, nothing loaded from the network."""
    body = "\n".join(_html_block(block) for block in blocks)
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}">\n<head>\n<meta charset="utf-8">\n'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_html_text(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_html_text(block.text)}</p>"
    if isinstance(block, Steps):
        tag = "ol" if block.ordered else "ul"
        items = "\n".join(f"<li>{_html_text(item)}</li>" for item in block.items)
        return f"<{tag}>\n{items}\n</{tag}>"
    if isinstance(block, Note):
        return f'<p class="note{" warning" if block.warning else ""}">{_html_text(block.text)}</p>'
    return f"<pre><code>{html.escape(block.code)}</code></pre>"


def _html_text(text: Text) -> str:
    out = []
    for part in text:
        if isinstance(part, Code):
            out.append(f"<code>{html.escape(part.text)}</code>")
        elif isinstance(part, Strong):
            out.append(f"<strong>{html.escape(part.text)}</strong>")
        elif isinstance(part, Link):
            out.append(f'<a href="{html.escape(part.href)}">{html.escape(part.text)}</a>')
        else:
            out.append(html.escape(part))
    return "".join(out)


# --------------------------------------------------------------------------- Markdown

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones that
# could start markup in running text (HTML, emphasis, links, code, tables, entities, headings)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")
_MD_NUMBER_START = re.compile(r"^(\d+)[.)]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def render_markdown(blocks: Sequence[Block]) -> str:
    return "\n\n".join(_md_block(block) for block in blocks) + "\n"


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + _md_text(block.text)
    if isinstance(block, Paragraph):
        return _md_text(block.text)
    if isinstance(block, Steps):
        return "\n".join((f"{n}. " if block.ordered else "- ") + _md_text(item)
                         for n, item in enumerate(block.items, start=1))
    if isinstance(block, Note):
        return "> " + _md_text(block.text)
    fence = "`" * max(3, _longest_backtick_run(block.code) + 1)
    return f"{fence}\n{block.code}\n{fence}"


def _md_text(text: Text) -> str:
    out = []
    for part in text:
        if isinstance(part, Code):
            out.append(_md_code(part.text))
        elif isinstance(part, Strong):
            out.append(f"**{_md_escape(part.text)}**")
        elif isinstance(part, Link):
            out.append(f"[{_md_escape(part.text)}]({part.href})")
        else:
            out.append(_md_escape(part))
    # leading spaces would make a code block, and a leading '-', '+', '=' or '1.' a list or an underline
    rendered = "".join(out).lstrip()
    number = _MD_NUMBER_START.match(rendered)
    if number:
        return f"{number.group(1)}\\{rendered[number.end(1):]}"
    return "\\" + rendered if rendered[:1] in ("-", "+", "=") else rendered


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", text))


def _md_code(text: str) -> str:
    text = _CONTROL.sub(" ", text)
    fence = "`" * (_longest_backtick_run(text) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
