"""``minefed verify RECORD --hub URL``: check a published record without trusting the hub.

The hub serves the material (keys, the record's log entries, an inclusion
proof, the latest checkpoint); every check is done here, with ``sync``'s own
verification code:

1. the checkpoint's signature by the hub key (pinned with
   ``--hub-key-fingerprint``, or the key the hub shows, said so plainly);
2. for each log entry of the record: the owner node's signature over the
   envelope (the node's key valid at ``issued_at``), that the envelope is the
   one the log committed to (its RFC 9162 leaf hash), and its inclusion in the
   checkpoint's tree;
3. the disclosures given (salted digests, ``sync.disclosure.reveal``).

Each check prints one line, Chinese then English. Exit status: 0 only if every
check holds, 1 if any fails, 2 if the material could not be fetched or read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from sync.b64 import b64std_decode, b64std_encode
from sync.checkpoint import Checkpoint, open_checkpoint
from sync.disclosure import Disclosure, reveal, slots
from sync.envelope import Envelope, verify_envelope
from sync.errors import SyncError
from sync.keys import Keyring, VerifyKey
from sync.merkle import leaf_hash, verify_inclusion

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNREADABLE", "Report", "run_verify"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 2


class Unreadable(Exception):
    """The material could not be fetched or parsed (exit 2)."""


@dataclass
class Report:
    """The checks made, in order; ``ok`` only if none failed."""

    echo: Callable[[str], None]
    failures: int = 0
    passed: int = 0
    lines: list[str] = field(default_factory=list)

    def check(self, ok: bool, zh: str, en: str) -> bool:
        mark = "✔ 通过 / OK    " if ok else "✘ 失败 / FAILED"
        self._say(f"{mark}  {zh} / {en}")
        if ok:
            self.passed += 1
        else:
            self.failures += 1
        return ok

    def note(self, zh: str, en: str) -> None:
        self._say(f"ℹ 说明 / NOTE    {zh} / {en}")

    def _say(self, line: str) -> None:
        self.lines.append(line)
        self.echo(line)


@dataclass
class Material:
    """What the record's input says: its id, an envelope of the user's own copy (if
    a file was given) and disclosures shown with it."""

    record_id: str
    own_envelope: dict[str, Any] | None = None
    disclosures: list[dict[str, Any]] = field(default_factory=list)


def _read_input(record: str) -> Material:
    path = Path(record)
    if not path.is_file():
        return Material(record_id=record)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unreadable(f"无法读取 {path} / cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise Unreadable(f"{path}: 应为 JSON 对象 / not a JSON object")
    disclosures = data.get("disclosures") or []
    if isinstance(data.get("entries"), list) and isinstance(data.get("record_id"), str):
        # The answer of GET /api/v1/public/log/records/{id}: verify what the hub holds now.
        return Material(record_id=data["record_id"], disclosures=disclosures)
    envelope = data.get("envelope") if isinstance(data.get("envelope"), dict) else None
    if envelope is None and {"sig", "payload"} <= set(data):
        envelope = data
    record_id = (envelope or {}).get("payload", {}).get("record_id") if envelope else None
    record_id = record_id or data.get("record_id") or data.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise Unreadable(f"{path}: 找不到记录标识 / no record id (payload.record_id) in the file")
    return Material(record_id=record_id, own_envelope=envelope, disclosures=disclosures)


def _get(http: httpx.Client, url: str) -> httpx.Response:
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        raise Unreadable(f"无法连接国家中心 / cannot reach the hub: {url}: {exc}") from exc
    return response


def _get_json(http: httpx.Client, url: str) -> Any:
    response = _get(http, url)
    if response.status_code != 200:
        raise Unreadable(f"HTTP {response.status_code} {url}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError as exc:
        raise Unreadable(f"{url}: 应答不是 JSON / answer is not JSON") from exc


def _hub_key(keys: Mapping[str, Any], fingerprint: str | None, report: Report) -> VerifyKey | None:
    hub = keys.get("hub")
    if not isinstance(hub, dict):
        report.check(False, "国家中心未公布其公钥", "the hub publishes no key")
        return None
    key = VerifyKey.from_b64(str(hub.get("public_key")))
    if fingerprint:
        pinned = fingerprint.strip().replace(":", "").lower()
        report.check(
            key.fingerprint == pinned,
            f"国家中心公钥指纹{'与' if key.fingerprint == pinned else '不符合'}固定值",
            f"hub key fingerprint {key.fingerprint} "
            f"{'matches' if key.fingerprint == pinned else 'is NOT'} the pinned {pinned}",
        )
        if key.fingerprint != pinned:
            return None
    else:
        report.note(
            f"未固定国家中心公钥，采用其公布的公钥（指纹 {key.fingerprint}）",
            f"hub key not pinned: using the key the hub shows (fingerprint {key.fingerprint}); "
            "pass --hub-key-fingerprint to pin it",
        )
    return key


def _open_checkpoint(
    text: str, hub_key: VerifyKey, keyring: Keyring, report: Report
) -> Checkpoint | None:
    try:
        origin = text.split("\n", 1)[0]
        checkpoint, _ = open_checkpoint(text, {origin: hub_key}, required=[origin], origin=origin)
    except SyncError as exc:
        report.check(False, "检查点签名无效", f"checkpoint signature does not verify: {exc.detail}")
        return None
    report.check(
        True,
        f"检查点由国家中心签名（{checkpoint.origin}，大小 {checkpoint.size}）",
        f"checkpoint signed by the hub ({checkpoint.origin}, size {checkpoint.size}, "
        f"root {b64std_encode(checkpoint.root)})",
    )
    witnesses = []
    for line in text.rsplit("\n\n", 1)[-1].splitlines():
        name = line[2:].split(" ", 1)[0] if line.startswith("\u2014 ") else ""
        if not name or name == checkpoint.origin:
            continue
        for record in keyring.records_for(name):
            try:
                open_checkpoint(text, {name: record.public_key}, required=[name])
            except SyncError:
                continue
            witnesses.append(name)
            break
    if witnesses:
        report.note(
            f"见证节点联署：{'、'.join(witnesses)}",
            f"cosigned by witnesses: {', '.join(witnesses)}",
        )
    else:
        report.note("尚无见证节点联署", "no witness cosignature on this checkpoint yet")
    return checkpoint


def _check_entry(
    http: httpx.Client,
    base: str,
    entry: Mapping[str, Any],
    envelope_data: Mapping[str, Any] | None,
    record_id: str,
    keyring: Keyring,
    checkpoint: Checkpoint,
    report: Report,
) -> Envelope | None:
    index = int(entry["log_index"])
    what = f"#{index} {entry.get('kind')} v{entry.get('version_no')}"
    logged_leaf = b64std_decode(str(entry["leaf_hash"]))
    envelope: Envelope | None = None
    leaf = logged_leaf
    if envelope_data is None:
        report.note(
            f"日志条目 {what} 的内容已删除（保留期满或撤回），仅核验其叶子哈希",
            f"entry {what}: content deleted (retention or withdrawal); only its leaf hash is checked",
        )
    else:
        try:
            envelope = Envelope.from_dict(envelope_data)
            verify_envelope(envelope, keyring)
            report.check(
                True,
                f"条目 {what}：节点签名有效（{envelope.sender}，{envelope.issued_at}）",
                f"entry {what}: node signature valid ({envelope.sender}, key "
                f"{envelope.key_id}, issued {envelope.issued_at})",
            )
        except SyncError as exc:
            report.check(
                False,
                f"条目 {what}：节点签名无效，记录可能在发布后被改动",
                f"entry {what}: node signature does not verify ({exc.code}: {exc.detail}); "
                "the record may have been altered after publication",
            )
            envelope = None
        payload_id = envelope_data.get("payload", {}).get("record_id") if envelope_data else None
        if payload_id != record_id:
            report.check(
                False,
                f"条目 {what} 属于另一记录 {payload_id}",
                f"entry {what} is of record {payload_id}, not {record_id}",
            )
        try:
            leaf = leaf_hash(Envelope.from_dict(envelope_data).canonical_bytes())
        except SyncError:
            leaf = b""
        report.check(
            leaf == logged_leaf,
            f"条目 {what}：信封{'与' if leaf == logged_leaf else '不同于'}日志所记录的一致",
            f"entry {what}: the envelope {'is' if leaf == logged_leaf else 'is NOT'} the one "
            "the log committed to (RFC 9162 leaf hash)",
        )
    if index >= checkpoint.size:
        report.check(
            False,
            f"条目 {what} 尚未纳入最新检查点（合并延迟，请稍后再试）",
            f"entry {what} is not in the latest checkpoint yet (size {checkpoint.size}; "
            "merge delay: try again shortly)",
        )
        return envelope
    proof = _get_json(
        http, f"{base}/api/v1/public/log/inclusion?index={index}&size={checkpoint.size}"
    )
    try:
        hashes = [b64std_decode(h) for h in proof.get("hashes", [])]
        verify_inclusion(index, checkpoint.size, leaf, hashes, checkpoint.root)
        ok, detail = True, ""
    except (SyncError, ValueError, TypeError, AttributeError) as exc:
        ok, detail = False, f": {exc}"
    report.check(
        ok,
        f"条目 {what}：{'已' if ok else '未能证明'}包含在检查点（大小 {checkpoint.size}）的日志中",
        f"entry {what}: {'included' if ok else 'NOT proven included'} in the log of the "
        f"checkpoint (size {checkpoint.size}){detail}",
    )
    return envelope


def _check_disclosures(envelope: Envelope | None, disclosures: list[Any], report: Report) -> None:
    data = envelope.payload.get("data") if envelope is not None else None
    if not isinstance(data, dict):
        report.check(
            False, "无可核验披露值的已签名内容", "no signed content to check disclosures against"
        )
        return
    try:
        items = [Disclosure.from_dict(d) for d in disclosures]
        reveal(data, items)
    except (SyncError, TypeError, AttributeError) as exc:
        detail = getattr(exc, "detail", str(exc))
        report.check(
            False, "披露值与签名摘要不符", f"disclosures do not match the signed digests: {detail}"
        )
        return
    report.check(
        True,
        f"{len(items)} 项披露值与签名摘要一致",
        f"{len(items)} disclosed values match their signed digests "
        f"({', '.join(d.path for d in items)})",
    )


def verify_record(
    http: httpx.Client,
    hub_url: str,
    material: Material,
    report: Report,
    fingerprint: str | None = None,
) -> None:
    """Run every check of ``material`` against the hub at ``hub_url`` into ``report``."""
    base = hub_url.rstrip("/")
    keys = _get_json(http, f"{base}/api/v1/public/keys")
    hub_key = _hub_key(keys, fingerprint, report)
    if hub_key is None:
        return
    keyring = Keyring.from_list(keys.get("keys") or [])
    response = _get(http, f"{base}/api/v1/public/log/checkpoint")
    if response.status_code != 200:
        raise Unreadable(f"HTTP {response.status_code} checkpoint: {response.text[:300]}")
    checkpoint = _open_checkpoint(response.text, hub_key, keyring, report)
    if checkpoint is None:
        return
    response = _get(http, f"{base}/api/v1/public/log/records/{quote(material.record_id, safe='')}")
    if response.status_code == 404:
        report.check(
            False,
            f"日志中没有记录 {material.record_id}",
            f"record {material.record_id} is not in the hub's log",
        )
        return
    if response.status_code != 200:
        raise Unreadable(f"HTTP {response.status_code} log entries: {response.text[:300]}")
    answer = response.json()
    entries = answer.get("entries") or []
    if answer.get("pending"):
        report.note(
            f"另有 {answer['pending']} 条已接收、尚未写入日志",
            f"{answer['pending']} more accepted publications are not sequenced yet (merge delay)",
        )
    if material.own_envelope is not None:
        own_leaf = leaf_hash(Envelope.from_dict(material.own_envelope).canonical_bytes())
        matching = [e for e in entries if b64std_decode(str(e["leaf_hash"])) == own_leaf]
        if not matching:
            report.check(
                False,
                "所给信封不在日志中（可能在发布后被改动）",
                "the envelope given is not in the log (altered after publication?)",
            )
            try:
                verify_envelope(Envelope.from_dict(material.own_envelope), keyring)
            except SyncError as exc:
                report.check(
                    False, "所给信封的节点签名无效", f"its node signature fails: {exc.detail}"
                )
            return
        targets = [(matching[0], material.own_envelope)]
    else:
        if not entries:
            report.check(
                False, "该记录尚无日志条目", "the record has no log entry yet (merge delay)"
            )
            return
        targets = [(e, e.get("envelope")) for e in entries]
    latest: Envelope | None = None
    for entry, envelope_data in targets:
        checked = _check_entry(
            http, base, entry, envelope_data, material.record_id, keyring, checkpoint, report
        )
        if checked is not None and checked.kind == "record.publish":
            latest = checked
    if material.disclosures:
        _check_disclosures(latest, material.disclosures, report)
    elif latest is not None and slots(latest.payload.get("data") or {}):
        report.note(
            "未提供披露值：隐藏字段（身份证号、电话）只核验了其摘要",
            "no disclosures given: concealed fields (ID numbers, phones) are checked as digests only",
        )


def run_verify(
    record: str,
    hub_url: str,
    *,
    fingerprint: str | None = None,
    disclosures_file: str | None = None,
    timeout_s: float = 20.0,
    echo: Callable[[str], None] = print,
    http: httpx.Client | None = None,
) -> int:
    """The command: returns the exit status (0 all hold, 1 a check failed, 2 unreadable)."""
    report = Report(echo)
    try:
        material = _read_input(record)
        if disclosures_file is not None:
            try:
                material.disclosures = json.loads(Path(disclosures_file).read_text("utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise Unreadable(f"{disclosures_file}: {exc}") from exc
        echo(f"核验记录 / verifying record {material.record_id} at {hub_url}")
        client = http or httpx.Client(timeout=timeout_s)
        try:
            verify_record(client, hub_url, material, report, fingerprint)
        finally:
            if http is None:
                client.close()
    except (Unreadable, SyncError) as exc:
        echo(f"✘ 无法核验 / cannot verify: {exc}")
        return EXIT_UNREADABLE
    if report.failures or not report.passed:
        echo(
            f"结论：核验未通过（{report.failures} 项失败） / RESULT: NOT verified ({report.failures} failed)"
        )
        return EXIT_FAILED
    echo(
        f"结论：全部 {report.passed} 项核验通过 / RESULT: verified, all {report.passed} checks hold"
    )
    return EXIT_OK
