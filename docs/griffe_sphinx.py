"""A Griffe extension for the API page: the package's docstrings are reStructuredText (Sphinx
style), which mkdocstrings renders as Markdown; this turns what Markdown would show literally into
Markdown before mkdocstrings parses the docstrings (``docstring_style: sphinx`` still reads the
``:param x:`` / ``:returns:`` fields).

- roles such as ``:class:`~pyro_vamp.priors.Prior``` or ``:meth:`frozen``` become code (``Prior``,
  ``frozen``); ``~`` keeps the last name, as Sphinx shows it; ``title <target>`` shows the title;
- a paragraph ending in ``::`` ends in ``:`` (``Example::`` becomes ``Example:``) and the indented
  literal block after it becomes a fenced Python block;
- prose after the field list (which Griffe's Sphinx parser would append to the last parameter's
  description) moves before the fields.

Registered in ``mkdocs.yml`` under the Python handler's ``extensions``; ``tests/docs/`` checks the
built HTML.
"""

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:meth|class|func|mod|data|attr|exc|obj|const|term|ref):`([^`]+)`")
FIELD = re.compile(
    r"^:(param|parameter|arg|argument|key|keyword|type|raises?|except|exception|returns?|rtype|yields?"
    r"|var|ivar|cvar|vartype)\b[^:]*:"
)


def _role(match: re.Match) -> str:
    target = match.group(1).strip()
    titled = re.fullmatch(r"(.+?)\s*<([^>]+)>", target)
    if titled:
        return f"`{titled.group(1)}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def roles_to_code(text: str) -> str:
    """Every reST role in ``text`` as a Markdown code span."""
    return ROLE.sub(_role, text)


def literal_blocks(text: str) -> str:
    """reST literal blocks (a paragraph ending in ``::``, a blank line, an indented block) as fenced
    Python blocks after a paragraph ending in ``:``."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and i + 1 < len(lines) and not lines[i + 1].strip():
            base = len(line) - len(line.lstrip())
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block = []
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > base):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            if block:
                indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
                head = line.rstrip()[:-2].rstrip()
                out += [head + (":" if head and not head.endswith(":") else ""), ""]
                out += [" " * base + "```python", *(" " * base + b[indent:] for b in block), " " * base + "```", ""]
                i = j
                continue
        out.append(line)
        i += 1
    return "\n".join(out).rstrip("\n")


def prose_before_fields(text: str) -> str:
    """Move the paragraphs that follow a Sphinx field list (not indented, after a blank line) before it."""
    prose: list[str] = []
    fields: list[str] = []
    in_field = False
    blank = False
    for line in text.split("\n"):
        if FIELD.match(line):
            in_field, blank = True, False
            fields.append(line)
        elif in_field and line.strip() and (line[0].isspace() or not blank):
            fields.append(line)  # the field's continuation
        elif not line.strip():
            blank = True
            (fields if in_field else prose).append(line)
        else:
            if in_field and prose and prose[-1].strip():
                prose.append("")  # a paragraph of its own
            in_field, blank = False, False
            prose.append(line)
    while fields and not fields[-1].strip():
        fields.pop()
    while prose and not prose[-1].strip():
        prose.pop()
    return "\n".join(prose + ([""] if prose and fields else []) + fields)


def to_markdown(text: str) -> str:
    """A Sphinx-style docstring with what Markdown cannot render rewritten (see the module's text)."""
    return literal_blocks(roles_to_code(prose_before_fields(text)))


class SphinxToMarkdown(griffe.Extension):
    """Rewrites each object's docstring with :func:`to_markdown` once Griffe has loaded it."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
