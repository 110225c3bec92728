"""The command line: determine, policies, lint, test, impact, replay, report, serve and schema.

Exit codes: 0 success; 2 bad input (the case, its format, or an unknown policy); 3 the
knowledge base cannot be loaded. Every knowledge base loaded is named on standard error, one line
each: its folder and content hash.
"""

from __future__ import annotations

import gc
import getpass
import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from reasoner import __version__
from reasoner.analytics.command import report
from reasoner.cli_options import DataOption as DataOption  # api/cli.py imports them from here
from reasoner.cli_options import StoreUrlOption as StoreUrlOption
from reasoner.cli_options import fail as fail
from reasoner.compare import ALL_POLICIES, compare
from reasoner.errors import CaseError, CaseParseError, KnowledgeBaseError, ReasonerError, UnknownPolicyError
from reasoner.intake.detect import case_format
from reasoner.knowledge.base import KB_ENV, KnowledgeBase
from reasoner.knowledge.base import log as kb_log
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.pipeline import determine as run_determination
from reasoner.render.text import render, render_comparison
from reasoner.replay.command import replay
from reasoner.store.keeping import determine_and_keep
from reasoner.store.records import StoreError

if TYPE_CHECKING:  # what the mixin is mixed into, for its super() and self (a plain object at run time)
    from typer._click import Command as _HelpBase  # typer vendors its click
else:
    _HelpBase = object


class _PlainHelp(_HelpBase):
    """Help read the way a Unix command's is: ``CASE`` and ``[PATHS]...`` in the usage line, no type after a flag."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:
            if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                param.metavar = ""  # a flag takes no value: show none (not "<bool>")
            elif isinstance(param, TyperArgument) and param.metavar is None:
                param.metavar = (param.name or "").upper()
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # type: ignore[method-assign]  # the help says what it is
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or ""
                piece = name if param.required else f"[{name}]"
                pieces.append(piece + ("..." if param.nargs != 1 else ""))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def _no_type(ctx: Any) -> None:
    return None


class Command(_PlainHelp, TyperCommand):
    """A command whose help is plain text (api/cli.py's ``serve`` uses it too)."""


class Group(_PlainHelp, TyperGroup):
    """A group of commands whose help is plain text (api/token_command.py's ``token`` uses it too)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line's pieces, ending in ``COMMAND [ARGS]...``."""
        return [*super().collect_usage_pieces(ctx), self.subcommand_metavar]


app = typer.Typer(
    cls=Group,
    help="Decide whether a requested procedure meets a policy's criteria, and explain why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _ToStderr(logging.Handler):
    """Log lines to standard error as it is when the line is written (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(self.format(record), err=True)


def _name_each_knowledge_base() -> None:
    """Print one line on standard error for each knowledge base loaded (once per process)."""
    if not any(isinstance(h, _ToStderr) for h in kb_log.handlers):
        handler = _ToStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        kb_log.addHandler(handler)
        kb_log.setLevel(logging.INFO)
        kb_log.propagate = False


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"guideline-reasoner {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Decide whether a requested procedure meets a policy's criteria, and explain why."""
    _name_each_knowledge_base()


class OutputFormat(StrEnum):
    """How a determination is printed."""

    json = "json"
    markdown = "markdown"


class InputFormat(StrEnum):
    """How a case file is read."""

    auto = "auto"
    turtle = "turtle"
    json = "json"
    jsonld = "json-ld"
    fhir = "fhir"


KbOption = Annotated[
    Path | None,
    typer.Option(
        "--kb",
        metavar="DIR",
        help=(
            f"Knowledge base folder (with ontology/ and shapes/). Default: ${KB_ENV} if set, else the current "
            "folder if it holds ontology/ and shapes/ (an author's checkout), else the copy installed with the "
            "package. The one loaded is named on standard error."
        ),
    ),
]


def _load(kb_dir: Path | None) -> KnowledgeBase:
    try:
        kb = KnowledgeBase.load(kb_dir)
    except KnowledgeBaseError as exc:
        raise fail(exc.message, 3) from None
    # The knowledge base lives as long as the process and is never written: keep the collector off it.
    gc.collect()
    gc.freeze()
    return kb


def _input_format(path: str, fmt: InputFormat, payload: bytes) -> str:
    return fmt.value if fmt is not InputFormat.auto else case_format(path, payload)


@app.command(cls=Command)
def determine(
    case: Annotated[
        str,
        typer.Argument(
            metavar="CASE",
            help=(
                "Case file: Turtle (.ttl), JSON (.json), JSON-LD (.jsonld) or a FHIR PAS request Bundle (.json), "
                "or - for standard input."
            ),
        ),
    ],
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            "-p",
            metavar="ID",
            help=(
                "Policy id; default: the policy named in the case. 'all' compares the case under every policy "
                "that covers a requested code, side by side."
            ),
        ),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.json,
    input_format: Annotated[
        InputFormat,
        typer.Option(
            "--input-format", help="Case format; auto goes by the extension, then by the content (JSON-LD, FHIR)."
        ),
    ] = InputFormat.auto,
    kb_dir: KbOption = None,
    store: Annotated[bool, typer.Option("--store", help="Keep it and its case (see --data, --store-url).")] = False,
    data: DataOption = None,
    store_url: StoreUrlOption = None,
) -> None:
    """Determine one case and print the determination (with --policy all, the comparison).

    With --store it is also kept, as the server keeps what it decides; its id and status go to
    standard error.
    """
    if case == "-":
        payload = sys.stdin.buffer.read()
    else:
        path = Path(case)
        if not path.is_file():
            raise fail(f"{case}: no such file", 2)
        payload = path.read_bytes()
    kb = _load(kb_dir)
    fmt = _input_format(case, input_format, payload)
    display = "<stdin>" if case == "-" else case
    try:
        if policy == ALL_POLICIES:
            # OutputFormat's values are render formats (RenderFormat; json, markdown or html for a comparison)
            text = render_comparison(compare(payload, fmt, kb), output.value)  # type: ignore[arg-type]
        elif store:
            where = store_url or data
            by = f"cli:{getpass.getuser()}"  # who asked, as the store records it
            d, kept = determine_and_keep(payload, fmt, kb, policy=policy, where=where, by=by)  # type: ignore[arg-type]
            typer.echo(f"kept {kept.id} ({kept.status.value}; digest {kept.digest})", err=True)
            text = render(d, output.value, kb=kb)
        else:
            text = render(run_determination(payload, fmt, kb, policy=policy), output.value, kb=kb)  # type: ignore[arg-type]
    except CaseParseError as exc:
        where = f"{display}:{exc.line}:{exc.column}" if exc.line is not None else display
        raise fail(f"{where}: {exc.reason}", 2) from None
    except (CaseError, UnknownPolicyError) as exc:
        raise fail(f"{display}: {exc.message}", 2) from None
    except ReasonerError as exc:
        raise fail(f"{display}: {exc.message}", 2) from None
    except StoreError as exc:
        raise fail(exc.message, 2) from None
    typer.echo(text, nl=False)


@app.command(cls=Command)
def policies(
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="json, or markdown for a table.")] = (
        OutputFormat.markdown
    ),
    kb_dir: KbOption = None,
) -> None:
    """List the policies of the knowledge base."""
    from reasoner.knowledge.catalogue import policy_summaries

    rows = policy_summaries(_load(kb_dir))
    if output is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo("| id | policy | version | codes |\n|---|---|---|---|")
    for r in rows:
        typer.echo(f"| {r['id']} | {r['label']} | {r['version']} | {', '.join(r['codes'])} |")


@app.command(cls=Command)
def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="PATHS", help="Files or folders to report on; default: the whole knowledge base."),
    ] = None,
    output: Annotated[
        str, typer.Option("--format", "-f", metavar="text|json", help="text, or json for tools.")
    ] = "text",
    kb_dir: KbOption = None,
) -> None:
    """Check the knowledge base: syntax of every file, SHACL-for-SHACL, meta-shapes, undeclared terms.

    Prints the findings, then a summary line, on standard output. The verdict is remembered by the
    content of the files and the linting code (the cache folder), so unchanged files are not checked again.
    Exit 0 when clean, 1 with findings, 2 when a file cannot be read.
    """
    from reasoner.knowledge import lint_cache
    from reasoner.knowledge.base import default_root
    from reasoner.knowledge.lint import only_in

    if output not in ("text", "json"):
        raise fail("--format must be text or json", 2)
    root = (kb_dir or default_root()).resolve()
    only = None
    if paths:
        roots = [p for p in paths if (p / "ontology").is_dir() and (p / "shapes").is_dir()]
        if roots and len(roots) == len(paths):
            root = roots[0].resolve()
        else:
            missing = [str(p) for p in paths if not p.exists()]
            if missing:
                raise fail(f"no such file or folder: {', '.join(missing)}", 2)
            only = [p.resolve() for p in paths]
            outside = [str(p) for p in only if root != p and root not in p.parents]
            if outside:
                raise fail(f"not part of the knowledge base at {root}: {', '.join(outside)}; give it with --kb", 2)
    if not (root / "ontology").is_dir():
        raise fail(f"no knowledge base under {root}", 2)
    files = KnowledgeFiles.read(root)
    kb_log.info("knowledge base %s %s (linted)", root, files.content_hash)
    report = lint_cache.checked(files)  # remembered by content: the same files, linted by the same code
    if only is not None:
        report = only_in(report, files, only)
    if output == "json":
        typer.echo(
            json.dumps(
                {
                    "findings": [f.as_dict() for f in report.findings],
                    "unreadable": list(report.unreadable),
                    "files": report.files,
                },
                indent=2,
            )
        )
    else:
        for finding in report.findings:
            typer.echo(str(finding))
        for item in report.unreadable:
            typer.echo(f"{item}: cannot be read", err=True)
        typer.echo(f"{len(report.findings)} findings in {report.files} files")
    raise typer.Exit(report.exit_code)


@app.command(cls=Command)
def impact(
    from_: Annotated[
        str, typer.Option("--from", metavar="REV", help="Git revision or knowledge-base folder before the edit.")
    ],
    to: Annotated[
        str, typer.Option("--to", metavar="REV", help="Git revision or knowledge-base folder after the edit.")
    ] = ".",
    cases: Annotated[
        list[Path] | None, typer.Option("--cases", metavar="DIR", help="More folders of cases to compare.")
    ] = None,
) -> None:
    """List every example case whose outcome or criterion statuses change between two knowledge bases.

    A case that cannot be determined under one of them is listed as skipped, with why.
    """
    import tempfile

    from reasoner.authoring.impact import impact as run_impact
    from reasoner.authoring.impact import materialise
    from reasoner.errors import VersionError

    repo = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            before = materialise(from_, repo, Path(tmp))
            after = materialise(to, repo, Path(tmp))
            report = run_impact(before, after, cases=list(cases or []))
        except (VersionError, KnowledgeBaseError) as exc:
            raise fail(exc.message, 2) from None
    for change in report.changes:
        for line in change.lines():
            typer.echo(line)
    for line in report.skipped:
        typer.echo(f"skipped: {line}")
    typer.echo(f"{len(report.changes)} changed, {report.unchanged} unchanged, {len(report.skipped)} skipped")


@app.command("test", cls=Command)
def test_cases(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FOLDERS",
            help=(
                "Folders of example cases, each case with <name>.expected.json beside it; default: examples/cases "
                "of the knowledge base, else of the current folder."
            ),
        ),
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", metavar="ID", help="Only the expectations for this policy.")
    ] = None,
    cases: Annotated[
        list[Path] | None,
        typer.Option("--cases", metavar="DIR", help="A folder of example cases (the same as naming it as FOLDERS)."),
    ] = None,
    kb_dir: KbOption = None,
) -> None:
    """Run every example case against its expected determination; exit 1 if any differs."""
    from reasoner.authoring.casetests import run_all

    kb = _load(kb_dir)
    chosen = [*(folders or []), *(cases or [])] or [_default_cases(kb)]
    missing = [str(f) for f in chosen if not f.is_dir()]
    if missing:
        raise fail(f"no such folder: {', '.join(missing)}", 2)
    if policy is not None and policy not in kb.policies:
        raise fail(f"unknown policy {policy!r}; valid policies: {', '.join(sorted(kb.policies))}", 2)
    results = [r for folder in chosen for r in run_all(folder, kb, policy=policy)]
    if not results:
        raise fail(f"no example cases with expectations under {', '.join(map(str, chosen))}", 2)
    for r in results:
        typer.echo(f"{'PASS' if r.passed else 'FAIL'} {r.case.name} [{r.policy}]")
        for line in r.differences:
            typer.echo(f"    {line}")
    failed = sum(not r.passed for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def _default_cases(kb: KnowledgeBase) -> Path:
    for folder in (kb.root / "examples" / "cases", Path.cwd() / "examples" / "cases"):
        if folder.is_dir():
            return folder
    raise fail("no examples/cases folder here or in the knowledge base; name the folders of cases to run", 2)


@app.command(cls=Command)
def schema() -> None:
    """Print the JSON Schema of the JSON case form (the file schemas/case.schema.json)."""
    from reasoner.intake.json_case.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


app.command(cls=Command)(report)
app.command(cls=Command)(replay)


if __name__ == "__main__":  # pragma: no cover
    app()
