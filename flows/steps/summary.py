"""What a run did, for the log and the CLI: its counts and every inbox entry accounted for."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flows.steps.model import InboxFile, StageResult
from kokuho.config import Settings


@dataclass
class RunSummary:
    run_id: str
    files: int
    new: int
    skipped: int
    accepted: list[str]
    superseded: list[str]
    quarantined: list[tuple[str, str]]  # (file name, first reason)
    missing: list[str]  # "111007 さいたま市"
    exports: list[Path]
    db_path: Path
    quarantine_dir: Path
    data_docs_index: Path | None
    seconds: float
    # Every inbox entry's final state: state -> count (they sum to the entries), and the entries
    # skipped for a reason other than "already processed" as (path, reason).
    entry_counts: dict[str, int] = field(default_factory=dict)
    skipped_entries: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "files": self.files,
            "new": self.new,
            "skipped": self.skipped,
            "accepted": len(self.accepted),
            "superseded": len(self.superseded),
            "quarantined": len(self.quarantined),
            "missing": len(self.missing),
            "entries": sum(self.entry_counts.values()),
            "entry_counts": dict(self.entry_counts),
            "skipped_entries": [list(e) for e in self.skipped_entries],
            "text": self.text,
            "markdown": self.markdown,
            "exports": [str(p) for p in self.exports],
            "db_path": str(self.db_path),
            "seconds": round(self.seconds, 2),
        }

    @property
    def text(self) -> str:
        lines = [
            f"取込結果 / run {self.run_id} ({self.seconds:.1f} s)",
            f"  files in inbox: {self.files}  (new {self.new}, already processed {self.skipped})",
            f"  受理 accepted: {len(self.accepted)}   差替え superseded: {len(self.superseded)}   "
            f"差戻し quarantined: {len(self.quarantined)}   未提出 missing: {len(self.missing)}",
        ]
        if self.entry_counts:
            lines.append(f"  受信フォルダの全項目 inbox entries: {self.accounting}")
        for name, reason in self.quarantined:
            lines.append(f"  [差戻し] {name}: {reason}")
        for name, reason in self.skipped_entries:
            lines.append(f"  [スキップ] {name}: {reason}")
        for name in self.superseded:
            lines.append(f"  [差替え] {name}")
        if self.missing:
            shown = ", ".join(self.missing[:10]) + (" …" if len(self.missing) > 10 else "")
            lines.append(f"  [未提出] {shown}")
        lines.append(f"  database:   {self.db_path}")
        lines.append(f"  quarantine: {self.quarantine_dir}")
        for path in self.exports:
            lines.append(f"  export:     {path}")
        if self.data_docs_index:
            lines.append(f"  Data Docs:  {self.data_docs_index}")
        return "\n".join(lines)

    @property
    def markdown(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        rows = [
            f"# 取込結果 {self.run_id}",
            "",
            "| 区分 | 件数 |",
            "|---|---:|",
            f"| 受信ファイル | {self.files} |",
            f"| 処理済（スキップ） | {self.skipped} |",
            f"| 受理 | {len(self.accepted)} |",
            f"| 差替え（再提出により） | {len(self.superseded)} |",
            f"| 差戻し | {len(self.quarantined)} |",
            f"| 未提出の市町村 | {len(self.missing)} |",
        ]
        if self.entry_counts:
            rows += ["", f"受信フォルダの全項目: {cell(self.accounting)}"]
        if self.quarantined:
            rows += ["", "## 差戻し", "", "| ファイル | 理由 |", "|---|---|"]
            rows += [f"| {cell(n)} | {cell(r)} |" for n, r in self.quarantined]
        if self.superseded:
            rows += ["", "## 差替え", ""] + [f"- {cell(n)}" for n in self.superseded]
        if self.skipped_entries:
            rows += ["", "## スキップ（理由付き）", "", "| 項目 | 理由 |", "|---|---|"]
            rows += [f"| {cell(n)} | {cell(r)} |" for n, r in self.skipped_entries]
        if self.missing:
            rows += ["", "## 未提出", ""] + [f"- {cell(m)}" for m in self.missing]
        return "\n".join(rows)

    @property
    def accounting(self) -> str:
        """`130 = 受理 120 + 差替え 2 + 差戻し 5 + スキップ 3`: every entry in exactly one state."""
        labels = {"accepted": "受理", "superseded": "差替え", "quarantined": "差戻し", "skipped": "スキップ"}
        parts = [f"{labels.get(k, k)} {v}" for k, v in self.entry_counts.items()]
        return f"{sum(self.entry_counts.values())} = " + " + ".join(parts)


def summarise_run(
    settings: Settings,
    run_id: str,
    files: list[InboxFile],
    skipped: list[InboxFile],
    result: StageResult | None,
    loaded: object | None,
    exports: list[Path],
    seconds: float,
) -> RunSummary:
    """The run summary: what happened to each new file, and who is still missing."""
    names = {f.sha256: f.path.name for f in files}
    accepted: list[str] = []
    superseded: list[str] = []
    quarantined: list[tuple[str, str]] = []
    missing: list[str] = []
    if settings.db_path.exists():
        from load.publish import connect_readonly
        from load.reports import files_by_sha, missing_municipalities, resubmission_change_counts

        con = connect_readonly(settings.db_path)
        try:
            if loaded is not None:
                accepted = [names.get(s, s) for s in getattr(loaded, "accepted", [])]
                superseded_sha = list(getattr(loaded, "superseded", []))
                changes = resubmission_change_counts(con, superseded_sha)
                superseded = sorted(
                    f"{name}（再提出で変更された回答 {changes.get(sha, 0)} 件）"
                    for sha, (name, _, _) in files_by_sha(con, superseded_sha).items()
                )
                quarantined = [
                    (name, reason or "")
                    for name, _, reason in files_by_sha(
                        con, list(getattr(loaded, "quarantined", []))
                    ).values()
                ]
            missing = missing_municipalities(con, settings.fiscal_year, settings.prefecture_code)
        finally:
            con.close()
    if result is not None and loaded is None:
        quarantined = [(o.file_name, o.first_message) for o in result.outcomes if o.status == "quarantined"]
    counts, skipped_entries = _accounting(settings, run_id, files, result)
    return RunSummary(
        run_id=run_id,
        files=len(files),
        new=len(files) - len(skipped),
        skipped=len(skipped),
        accepted=sorted(accepted),
        superseded=superseded,
        quarantined=sorted(quarantined),
        missing=missing,
        exports=exports,
        db_path=settings.db_path,
        quarantine_dir=settings.quarantine_dir,
        data_docs_index=result.data_docs_index if result else None,
        seconds=seconds,
        entry_counts=counts,
        skipped_entries=skipped_entries,
    )


def _accounting(
    settings: Settings, run_id: str, files: list[InboxFile], result: StageResult | None
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Each inbox entry's final state, as the warehouse recorded it for the run (the scan and the
    outcomes when it recorded none)."""
    rows: list[tuple[str, str, str | None, str | None]] = []
    if settings.db_path.exists():
        from load.publish import connect_readonly
        from load.warehouse import run_entries

        con = connect_readonly(settings.db_path)
        try:
            rows = run_entries(con, run_id)
        finally:
            con.close()
    if not rows:
        entries = getattr(files, "entries", None) or []
        outcome = {o.sha256: o for o in result.outcomes} if result else {}
        for entry in entries:
            known = outcome.get(entry.sha256 or "")
            if entry.state is None and known is not None:
                rows.append((entry.relative, known.status, known.reason_code, known.reason))
            elif entry.state is None:
                rows.append((entry.relative, "skipped", "ALREADY_PROCESSED", None))
            else:
                rows.append((entry.relative, entry.state, entry.reason_code, entry.reason))
    counts = {s: 0 for s in ("accepted", "superseded", "quarantined", "skipped")}
    for _, state, _, _ in rows:
        counts[state] = counts.get(state, 0) + 1
    skipped = [
        (path, reason or "")
        for path, state, code, reason in rows
        if state == "skipped" and code != "ALREADY_PROCESSED"
    ]
    return (counts if rows else {}), skipped
