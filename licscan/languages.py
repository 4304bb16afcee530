"""Which languages licscan knows, how to recognise them, and where their grammars live.

Adding a language is one entry in ``LANGUAGES`` (a grammar wheel plus extensions).
Files with no entry are tokenized by the fallback tokenizer when they look like code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import Any


@dataclass(frozen=True)
class LanguageSpec:
    """A tree-sitter language: the wheel that carries it and the files it owns."""

    name: str
    module: str
    """Import name of the per-language grammar wheel."""
    distribution: str
    """PyPI distribution name, recorded with its version in every index."""
    extensions: tuple[str, ...]
    loader: str = "language"
    """Function of ``module`` that returns the grammar pointer."""
    shebangs: tuple[str, ...] = ()


LANGUAGES: dict[str, LanguageSpec] = {
    s.name: s
    for s in (
        LanguageSpec("c", "tree_sitter_c", "tree-sitter-c", (".c", ".h")),
        LanguageSpec(
            "cpp", "tree_sitter_cpp", "tree-sitter-cpp",
            (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp", ".tcc"),
        ),
        LanguageSpec("python", "tree_sitter_python", "tree-sitter-python", (".py", ".pyi", ".pyw"),
                     shebangs=("python",)),
        LanguageSpec("java", "tree_sitter_java", "tree-sitter-java", (".java",)),
        LanguageSpec("javascript", "tree_sitter_javascript", "tree-sitter-javascript",
                     (".js", ".mjs", ".cjs", ".jsx"), shebangs=("node",)),
        LanguageSpec("typescript", "tree_sitter_typescript", "tree-sitter-typescript",
                     (".ts", ".mts", ".cts"), loader="language_typescript"),
        LanguageSpec("tsx", "tree_sitter_typescript", "tree-sitter-typescript", (".tsx",),
                     loader="language_tsx"),
        LanguageSpec("go", "tree_sitter_go", "tree-sitter-go", (".go",)),
        LanguageSpec("rust", "tree_sitter_rust", "tree-sitter-rust", (".rs",)),
        LanguageSpec("php", "tree_sitter_php", "tree-sitter-php", (".php", ".phtml", ".inc"),
                     loader="language_php", shebangs=("php",)),
        LanguageSpec("ruby", "tree_sitter_ruby", "tree-sitter-ruby", (".rb", ".rake", ".gemspec"),
                     shebangs=("ruby",)),
        LanguageSpec("csharp", "tree_sitter_c_sharp", "tree-sitter-c-sharp", (".cs",)),
        LanguageSpec("bash", "tree_sitter_bash", "tree-sitter-bash", (".sh", ".bash", ".ksh", ".zsh"),
                     shebangs=("sh", "bash", "dash", "ksh", "zsh")),
    )
}

ALIASES: dict[str, str] = {
    "c++": "cpp", "cxx": "cpp", "py": "python", "python3": "python", "js": "javascript",
    "node": "javascript", "jsx": "javascript", "ts": "typescript", "golang": "go", "rs": "rust",
    "rb": "ruby", "c#": "csharp", "cs": "csharp", "sh": "bash", "shell": "bash", "zsh": "bash",
    "text": "text", "txt": "text",
}

# Code-like files without a bundled grammar: tokenized by the fallback tokenizer.
# Prose and data formats (docs, translations, JSON, SVG...) are not indexed: an
# assistant does not leak them as code, and they would bloat the index.
FALLBACK_EXTENSIONS: dict[str, str] = {
    ext: "text"
    for ext in (
        ".pl", ".pm", ".awk", ".lua", ".tcl", ".m4", ".el", ".scm", ".lisp", ".kt", ".kts",
        ".scala", ".swift", ".m", ".mm", ".f", ".f90", ".pas", ".hs", ".ml", ".erl", ".ex",
        ".exs", ".clj", ".groovy", ".dart", ".r", ".jl", ".vala", ".d", ".nim", ".zig",
        ".y", ".yy", ".l", ".ll", ".sed", ".vim", ".ps1", ".bat", ".cmake", ".fish", ".asm", ".s",
    )
}

_BY_EXTENSION: dict[str, str] = {ext: s.name for s in LANGUAGES.values() for ext in s.extensions}


FAMILIES = {"cpp": "c", "typescript": "javascript", "tsx": "javascript"}
"""Languages whose code moves between each other unchanged (C into C++, JS into TS):
one family for matching, and for the corpus counts that say what is rare or common."""


def family(lang: str) -> str:
    return FAMILIES.get(lang, lang)


def canonical(name: str) -> str:
    """Map a user-given or Markdown-fence language name to a known name ("text" if unknown)."""
    key = name.strip().lower()
    if key in LANGUAGES:
        return key
    return ALIASES.get(key, "text")


def detect(path: str | PurePath, head: str = "") -> str | None:
    """Language of a file from its name (and shebang line); None if it is not code."""
    p = PurePath(path)
    ext = p.suffix.lower()
    if ext in _BY_EXTENSION:
        return _BY_EXTENSION[ext]
    if ext in FALLBACK_EXTENSIONS:
        return FALLBACK_EXTENSIONS[ext]
    if head.startswith("#!"):
        parts = head.split("\n", 1)[0][2:].split()
        if parts and parts[0].endswith("/env"):
            parts = [w for w in parts[1:] if not w.startswith("-")]
        interp = parts[0].rsplit("/", 1)[-1] if parts else ""
        for spec in LANGUAGES.values():
            if any(interp.startswith(s) for s in spec.shebangs):
                return spec.name
    return None


@lru_cache(maxsize=None)
def grammar(name: str) -> Any:
    """The tree-sitter ``Language`` for a language name (imported lazily: each wheel costs time)."""
    import tree_sitter

    spec = LANGUAGES[name]
    module = importlib.import_module(spec.module)
    return tree_sitter.Language(getattr(module, spec.loader)())


def grammar_versions() -> dict[str, str]:
    """Versions of tree-sitter and every grammar wheel.

    Node kinds and token boundaries differ between grammar builds, so an index
    records these and refuses a scan under different ones.
    """
    import importlib.metadata  # ~40 ms: only builds and `index info` need it

    out = {"tree-sitter": importlib.metadata.version("tree-sitter")}
    for spec in LANGUAGES.values():
        try:
            out[spec.distribution] = importlib.metadata.version(spec.distribution)
        except importlib.metadata.PackageNotFoundError:
            out[spec.distribution] = "missing"
    return out


@lru_cache(maxsize=None)
def grammar_signature(name: str) -> str:
    """What of a grammar build decides token streams: ABI and kind/field counts.

    Cheap to compute (no package metadata lookup), so scans check it for every
    language they tokenize; the full versions are recorded beside it.
    """
    g = grammar(name)
    return f"abi{g.abi_version}:kinds{g.node_kind_count}:fields{g.field_count}"

