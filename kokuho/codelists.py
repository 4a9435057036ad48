"""Code lists shared by transform, expectations, load and exports. Defined here once."""

from __future__ import annotations

# How municipalities write "implements" / "does not implement", after NFKC normalisation
# and whitespace removal (so "１" is "1" and "－" is "-").
YES_SYMBOLS: frozenset[str] = frozenset(
    {"○", "〇", "◯", "●", "✓", "✔", "1", "はい", "有", "実施", "予定", "あり", "有り"}
)
NO_SYMBOLS: frozenset[str] = frozenset({"", "×", "✕", "無", "いいえ", "-", "‐", "ー", "0", "なし", "無し"})

# The normalised answer values stored in staging and the warehouse.
ANSWER_YES = "○"
ANSWER_NO = ""

# Target qualifiers: raw text pattern -> stored qualifier.
QUALIFIER_AT_LEAST = "以上"  # 95％以上
QUALIFIER_PREVIOUS_YEAR_OR_MORE = "前年度以上"  # 前年度以上, 前年度収納率を上回る
QUALIFIER_NOT_SET = "未設定"  # 【未設定】, -, blank with a note
TARGET_QUALIFIERS: tuple[str, ...] = (
    QUALIFIER_AT_LEAST,
    QUALIFIER_PREVIOUS_YEAR_OR_MORE,
    QUALIFIER_NOT_SET,
)

# Status of a submission (one returned file).
STATUS_ACCEPTED = "accepted"
STATUS_SUPERSEDED = "superseded"
STATUS_QUARANTINED = "quarantined"
STATUS_SKIPPED = "skipped"  # same sha256 already processed
SUBMISSION_STATUSES: tuple[str, ...] = (STATUS_ACCEPTED, STATUS_SUPERSEDED, STATUS_QUARANTINED)

# Status of a municipality for a survey, as shown to analysts.
MUNICIPALITY_STATUS_LABELS: dict[str, str] = {
    "missing": "未提出",
    "accepted": "受理",
    "returned": "差戻し",
    "resubmitted": "再提出",
}

# Change markers against the previous fiscal year (seed 004 convention).
MARKER_UP = "増"
MARKER_DOWN = "減"
MARKER_NEW = "新"

# Limits shared by extraction and expectations.
BUDGET_LINE_MAX_CHARS = 100
OWN_INITIATIVE_MAX_CHARS = 500
NOTE_MAX_CHARS = 500
TARGET_MIN = 0.0
TARGET_MAX = 100.0

# Error codes for files set aside, with the Japanese message (format fields: file, sheet, cell,
# value, detail) and the hint for the municipality. Stable: analysts filter on the code.
ISSUES: dict[str, tuple[str, str]] = {
    "EMPTY_FILE": ("ファイル「{file}」は空です（0バイト）。", "調査票を保存し直して再提出してください。"),
    "NOT_WORKBOOK": (
        "ファイル「{file}」はExcelブックではありません（{detail}）。",
        "配布した調査票（.xlsx）に記入して提出してください。",
    ),
    "CORRUPT_WORKBOOK": (
        "ファイル「{file}」は壊れていて読み取れません（{detail}）。",
        "Excelで開けることを確認し、保存し直して再提出してください。",
    ),
    "PASSWORD_PROTECTED": (
        "ファイル「{file}」にはパスワード（暗号化）が設定されています。",
        "パスワードを解除して保存し、再提出してください。",
    ),
    "ZIP_BOMB": (
        "ファイル「{file}」は展開後の大きさが上限を超えています（{detail}）。",
        "配布した調査票に記入したものを再提出してください。",
    ),
    "XML_ENTITY": (
        "ファイル「{file}」に許可されていないXML宣言（DTD・エンティティ）が含まれています（{detail}）。",
        "配布した調査票に記入したものを再提出してください。",
    ),
    "SHEET_TOO_LARGE": (
        "ファイル「{file}」のシート「{sheet}」の使用範囲が異常に大きくなっています（{detail}）。",
        "不要な行・列を削除して保存し直し、再提出してください。",
    ),
    "PARSE_FAILED": (
        "ファイル「{file}」の読み取り中に処理が異常終了しました（{detail}）。",
        "配布した調査票に記入したものを再提出してください。",
    ),
    "PARSE_TIMEOUT": (
        "ファイル「{file}」の読み取りが制限時間内に終わりませんでした（{detail}）。",
        "配布した調査票に記入したものを再提出してください。",
    ),
    "LEGACY_UNREADABLE": (
        "ファイル「{file}」（旧形式 .xls）を読み取れませんでした（{detail}）。",
        "Excelで .xlsx 形式に保存し直して再提出してください。",
    ),
    "NOT_SURVEY_TEMPLATE": (
        "ファイル「{file}」は本調査の調査票ではありません（{detail}）。",
        "配布した調査票に記入して提出してください。",
    ),
    "WRONG_SURVEY": (
        "ファイル「{file}」は別の年度または版の調査票です（{detail}）。",
        "今年度配布した調査票に記入し直して提出してください。",
    ),
    "MISSING_SHEET": (
        "ファイル「{file}」にシート「{sheet}」がありません。",
        "シートを削除せず、配布した調査票のすべてのシートを提出してください。",
    ),
    "MUNICIPALITY_CODE_INVALID": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の市町村コード「{value}」が正しくありません（{detail}）。",
        "6桁の全国地方公共団体コードを記入してください。",
    ),
    "MUNICIPALITY_UNKNOWN": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の市町村コード「{value}」に該当する市町村がありません。",
        "配布した調査票の市町村コードを変更せずに提出してください。",
    ),
    "MUNICIPALITY_OTHER_PREFECTURE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の市町村コード「{value}」は本県の市町村ではありません（{detail}）。",
        "配布した調査票の市町村コードを変更せずに提出してください。",
    ),
    "MUNICIPALITY_NAME_MISMATCH": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の市町村名「{value}」が市町村コードと一致しません（{detail}）。",
        "市町村コードと市町村名を確認してください。",
    ),
    "FILENAME_CODE_MISMATCH": (
        "ファイル「{file}」のファイル名の市町村コードと、シート「{sheet}」セル{cell}の市町村コード「{value}」が一致しません（{detail}）。",
        "自団体の調査票であることを確認して提出してください。",
    ),
    "UNKNOWN_ANSWER": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の回答「{value}」を判別できません。",
        "実施する場合は「○」、実施しない場合は空欄にしてください。",
    ),
    "UNKNOWN_MEASURE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の取組ID「{value}」は調査項目にありません。",
        "調査票の行を追加・変更せずに記入してください。",
    ),
    "DUPLICATE_MEASURE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}：同じ取組に異なる回答が複数あります（{detail}）。",
        "取組ごとに回答を1つにしてください。",
    ),
    "FORMULA_WITHOUT_VALUE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の数式「{value}」に計算結果が保存されていません。",
        "数式ではなく値を直接入力するか、Excelで再計算して保存してください。",
    ),
    "ERROR_VALUE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}がエラー値「{value}」になっています。",
        "エラーにならない値を直接入力してください。",
    ),
    "MERGED_CELLS": (
        "ファイル「{file}」のシート「{sheet}」の回答欄 {cell} でセルが結合されています。",
        "セルの結合を解除し、1つのセルに1つの値を記入してください。",
    ),
    "HIDDEN_SHEET": (
        "ファイル「{file}」の非表示シート「{sheet}」に回答が記入されています。",
        "シートを再表示し、回答欄を確認して提出してください。",
    ),
    "HIDDEN_ROW": (
        "ファイル「{file}」のシート「{sheet}」の非表示行（セル{cell}）に回答が記入されています。",
        "行を再表示し、回答を確認して提出してください。",
    ),
    "TARGET_UNPARSEABLE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の目標値「{value}」を数値として読み取れません。",
        "「95.0」「95％以上」「前年度以上」「【未設定】」のいずれかの形で記入してください。",
    ),
    "TARGET_OUT_OF_RANGE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の目標値「{value}」が0～100％の範囲外です。",
        "百分率（例：95.0）で記入してください。",
    ),
    "TEXT_TOO_LONG": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の記入内容が長すぎます（{detail}）。",
        "要点を短く記入してください。",
    ),
    "VALIDATION_FAILED": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の値「{value}」が検証ルールに違反しています（{detail}）。",
        "記入要領に沿って記入し直してください。",
    ),
    # Added by extract (container checks).
    "FILE_TOO_LARGE": (
        "ファイル「{file}」の大きさが上限を超えています（{detail}）。",
        "配布した調査票に記入したものを再提出してください（画像などを貼り付けないでください）。",
    ),
    "UNSUPPORTED_FORMAT": (
        "ファイル「{file}」の形式（{detail}）は受け付けていません。",
        "Excelで「Excel ブック（.xlsx）」形式に保存し直して再提出してください。",
    ),
    "TOO_MANY_PROBLEMS": (
        "ファイル「{file}」は問題が多すぎるため、最初の{detail}件のみ表示しています。",
        "配布した調査票に記入し直して提出してください。",
    ),
    # Added by transform (staging).
    "UNKNOWN_TARGET": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の目標項目「{value}」は調査項目にありません。",
        "数値目標シートの行を追加・変更せずに記入してください。",
    ),
    "TEMPLATE_KEY_INVALID": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の調査票の識別キー「{value}」が正しくありません（{detail}）。",
        "非表示のA列やセルA1の識別キーを変更せず、配布した調査票に記入して提出してください。",
    ),
    "OWN_TEXT_MISSING": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}：独自の取組の予算事業名・備考が記入されていますが、取組内容が空欄です（記入内容「{value}」）。",
        "取組内容欄に独自の取組の内容を記入してください。",
    ),
    # Added by the load (recorded, does not quarantine): an mtime beyond the run's start.
    "RECEIVED_IN_FUTURE": (
        "ファイル「{file}」の更新日時（{value}）が取込の開始時刻（{detail}）より未来です。"
        "再提出の新旧は、取込の開始時刻に受け取ったものとして判定しました。",
        "この指摘だけでは差戻しになりません。送信元のパソコンやファイルサーバーの時計（日付）を確認してください。",
    ),
    # Added by transform (typed items: choice, integer, amount, percent, text, period, status).
    "ITEM_UNPARSEABLE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の回答「{value}」を読み取れません（{detail}）。",
        "セルを選ぶと表示される入力例の形で記入してください（該当しない場合は「該当なし」）。",
    ),
    "OPTION_NOT_IN_LIST": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の回答「{value}」は選択肢にありません（{detail}）。",
        "一覧にある選択肢から選んでください（複数選ぶ項目は「、」で区切ってください）。",
    ),
    "ITEM_OUT_OF_RANGE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の値「{value}」が範囲外です（{detail}）。",
        "値と単位を確認して記入し直してください。",
    ),
    "ANSWER_NOT_APPLICABLE": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}：この項目は貴市町村には該当しません（{detail}）が、"
        "回答「{value}」が記入されています。",
        "該当しない項目は空欄にするか「該当なし」と記入してください。",
    ),
    "BREAKDOWN_INCONSISTENT": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の内訳の回答「{value}」が親の項目と合いません（{detail}）。",
        "内訳を実施する場合は親の項目も「○」に、内訳の数値の合計は親の項目の値以下にしてください。",
    ),
    "UNKNOWN_ITEM": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}の項目「{value}」は調査項目にありません。",
        "調査票の行を追加・変更せずに記入してください。",
    ),
    # Added by validation of the catalog's sum rules (stg_rule_checks).
    "SUM_RULE_VIOLATED": (
        "ファイル「{file}」のシート「{sheet}」セル{cell}（{value}）：{detail}。",
        "合計と内訳の金額（千円）を確かめ、合計が内訳の和と一致するように記入し直してください（マイナスは△）。",
    ),
}

# The answer meaning "this item does not concern us" (distinct from a blank or no), after NFKC and
# whitespace removal; and the numeric qualifier 以下 (95％以下) beside the target qualifiers.
NOT_APPLICABLE_TEXTS: frozenset[str] = frozenset({"該当なし", "該当無し", "対象外"})
QUALIFIER_AT_MOST = "以下"
ITEM_QUALIFIERS: tuple[str, ...] = (*TARGET_QUALIFIERS, QUALIFIER_AT_MOST)
# A period item's normal form (stg_item_values.value_text): parts joined by ",", each 通年, 随時 or
# a month range "5-3" (May to March; a single month is "9-9").
PERIOD_ALL_YEAR = "通年"
PERIOD_AS_NEEDED = "随時"

# Issue codes recorded on a file without setting it aside.
RECORDED_ONLY_ISSUES: frozenset[str] = frozenset({"RECEIVED_IN_FUTURE"})
# An mtime up to this far past the run's start is taken as it is (a file written while the run
# scanned, a file server's clock a little ahead); beyond it, the file counts as received at the start.
FUTURE_TOLERANCE_SECONDS = 600


def issue_message(code: str, **fields: object) -> str:
    """The Japanese message for an issue code, with missing fields shown as blank."""
    template = ISSUES[code][0]
    values = {k: "" for k in ("file", "sheet", "cell", "value", "detail")}
    values.update({k: "" if v is None else str(v) for k, v in fields.items()})
    return template.format(**values)


def issue_hint(code: str) -> str:
    return ISSUES[code][1]


# Why an inbox entry was not processed (inbox_entries.reason_code), with the Japanese reason
# (format fields: name, detail, other, run). Stable: analysts filter on the code.
INBOX_SKIP_REASONS: dict[str, str] = {
    "ALREADY_PROCESSED": "処理済みのファイル「{other}」と同じ内容です（取込 {run} で処理済み）。",
    "DUPLICATE_CONTENT": "同じ内容のファイル「{other}」と重複しています（内容は1回だけ処理します）。",
    "EXCEL_LOCK_FILE": "Excelが開いている間に作る一時ファイル（~$）です。",
    "HIDDEN_FILE": "隠しファイル・隠しフォルダ（名前が「.」で始まる）です。",
    "MANIFEST_FILE": "デモデータの説明ファイル（manifest.json）です。",
    "SYMLINK": "シンボリックリンクです（リンク先は読みません）。",
    "OUTSIDE_INBOX": "受信フォルダの外を指すリンクです（リンク先は読みません）。",
    "NOT_REGULAR_FILE": "通常のファイルではありません（{detail}）。",
    "UNREADABLE_FILE": "ファイルを読み取れません（{detail}）。権限を確認してください。次回の取込で再確認します。",
    "UNREADABLE_FOLDER": "フォルダを読み取れません（{detail}）。中のファイルは処理していません。権限を確認してください。",
    "FILE_CHANGING": "読み取りの間にファイルが変更されました（書き込み中の可能性があります）。次回の取込で再確認します。",
    "QUARANTINE_FAILED": "差戻し用の保管（写しの作成）に失敗しました（{detail}）。次回の取込で再試行します。",
}


def skip_reason(code: str, **fields: object) -> str:
    """The Japanese reason for an inbox skip code, with missing fields shown as blank."""
    values = {k: "" for k in ("name", "detail", "other", "run")}
    values.update({k: "" if v is None else str(v) for k, v in fields.items()})
    return INBOX_SKIP_REASONS[code].format(**values)
